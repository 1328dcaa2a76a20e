package org.ext4j.format;

import java.util.Arrays;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;

/**
 * A directory entry ({@code struct ext4_dir_entry_2}) and the codec of a directory block of them,
 * with the kernel's {@code __ext4_check_dir_entry} checks. Names are raw bytes: ext4 allows any byte
 * but '/' and NUL, and this library never decodes them behind the caller's back.
 */
public record DirEntry(long inode, int recLen, byte[] name, int fileType, int offset) {
    public static final int HEADER_SIZE = 8;
    public static final int TAIL_SIZE = 12;
    public static final int TAIL_FT = 0xDE;

    public static final int FT_UNKNOWN = 0;
    public static final int FT_REG_FILE = 1;
    public static final int FT_DIR = 2;
    public static final int FT_CHRDEV = 3;
    public static final int FT_BLKDEV = 4;
    public static final int FT_FIFO = 5;
    public static final int FT_SOCK = 6;
    public static final int FT_SYMLINK = 7;

    /** Minimal record length for a name of {@code nameLen} bytes ({@code EXT4_DIR_REC_LEN}). */
    /** The entry type of an inode of {@code mode} ({@code fs_umode_to_ftype}). */
    public static int fileType(int mode) {
        return switch (mode & InodeRecord.S_IFMT) {
            case InodeRecord.S_IFREG -> FT_REG_FILE;
            case InodeRecord.S_IFDIR -> FT_DIR;
            case InodeRecord.S_IFCHR -> FT_CHRDEV;
            case InodeRecord.S_IFBLK -> FT_BLKDEV;
            case InodeRecord.S_IFIFO -> FT_FIFO;
            case InodeRecord.S_IFSOCK -> FT_SOCK;
            case InodeRecord.S_IFLNK -> FT_SYMLINK;
            default -> FT_UNKNOWN;
        };
    }

    public static int recLenFor(int nameLen) {
        return (HEADER_SIZE + nameLen + 3) & ~3;
    }

    public String nameString() {
        return new String(name, java.nio.charset.StandardCharsets.UTF_8);
    }

    public boolean nameEquals(byte[] other) {
        return Arrays.equals(name, other);
    }

    public boolean isDot() {
        return name.length == 1 && name[0] == '.';
    }

    public boolean isDotDot() {
        return name.length == 2 && name[0] == '.' && name[1] == '.';
    }

    /** Decodes {@code rec_len} ({@code ext4_rec_len_from_disk}): 64 KiB blocks encode their length specially. */
    public static int recLenFromDisk(int v, int blockSize) {
        if (blockSize < 65536) {
            return v;
        }
        if (v == 65535 || v == 0) {
            return blockSize;
        }
        return (v & 65532) | ((v & 3) << 16);
    }

    /** Receives the entries of a block in order; returning false stops the walk. */
    @FunctionalInterface
    public interface Visitor {
        boolean visit(DirEntry e) throws CorruptionException;
    }

    /**
     * Walks the entries in {@code b[start .. end)}, validating each as {@code __ext4_check_dir_entry}
     * does: rec_len at least 12, a multiple of 4 and large enough for the name; the record inside
     * the block and leaving either nothing or room for another record after it; the inode number at
     * most {@code maxInode}. {@code hasFileType} selects the 8-bit name_len + file_type layout;
     * without it name_len is 16 bits. Unused entries (inode 0) are passed too; callers skip them.
     * Nothing is allocated per entry but the name and the record handed to {@code v}.
     */
    public static void walk(byte[] b, int start, int end, int blockSize, boolean hasFileType, long maxInode,
            long dirInode, long block, Visitor v) throws CorruptionException {
        int off = start;
        while (off < end) {
            if (off + HEADER_SIZE > end) {
                throw bad(dirInode, block, off, "entry header runs past the end of the block");
            }
            long ino = Le.u32(b, off);
            int recLen = recLenFromDisk(Le.u16(b, off + 4), blockSize);
            int nameLen = hasFileType ? Le.u8(b, off + 6) : Le.u16(b, off + 6) & 0xFF;
            int type = hasFileType ? Le.u8(b, off + 7) : FT_UNKNOWN;
            String problem = null;
            if (recLen < recLenFor(1)) {
                problem = "rec_len " + recLen + " is smaller than the minimum 12";
            } else if ((recLen & 3) != 0) {
                problem = "rec_len " + recLen + " is not a multiple of 4";
            } else if (recLen < recLenFor(nameLen)) {
                problem = "rec_len " + recLen + " is too small for name_len " + nameLen;
            } else if (off + recLen > end) {
                problem = "rec_len " + recLen + " runs past the end of the block";
            } else if (off + recLen != end && off + recLen > end - recLenFor(1)) {
                problem = "rec_len " + recLen + " leaves " + (end - off - recLen)
                        + " bytes before the end of the block, too few for a record";
            } else if (ino > maxInode) {
                problem = "inode " + ino + " is past s_inodes_count " + maxInode;
            }
            if (problem != null) {
                throw bad(dirInode, block, off, problem);
            }
            byte[] name = Arrays.copyOfRange(b, off + HEADER_SIZE, off + HEADER_SIZE + nameLen);
            if (!v.visit(new DirEntry(ino, recLen, name, type, off))) {
                return;
            }
            off += recLen;
        }
    }

    /**
     * The live record named {@code name} in {@code b[start .. end)}, or null: a scan of a block
     * whose records {@link #walk} has already accepted (their lengths are trusted, only bounded),
     * comparing names in place, so nothing is allocated but the record found.
     */
    public static DirEntry find(byte[] b, int start, int end, int blockSize, boolean hasFileType, byte[] name) {
        int off = start;
        while (off + HEADER_SIZE <= end) {
            int recLen = recLenFromDisk(Le.u16(b, off + 4), blockSize);
            int nameLen = hasFileType ? Le.u8(b, off + 6) : Le.u16(b, off + 6) & 0xFF;
            if (nameLen == name.length && Le.u32(b, off) != 0
                    && Arrays.equals(b, off + HEADER_SIZE, off + HEADER_SIZE + nameLen, name, 0, nameLen)) {
                return new DirEntry(Le.u32(b, off), recLen, name.clone(), hasFileType ? Le.u8(b, off + 7) : FT_UNKNOWN,
                        off);
            }
            if (recLen < recLenFor(1)) {
                return null; // not a walked block after all: nothing more to trust
            }
            off += recLen;
        }
        return null;
    }

    /**
     * The offset of the first record in {@code b[start .. end)} with {@code need} bytes to spare
     * (all of an unused record, or what a live one leaves past its name), or -1; the records must
     * have passed {@link #walk} ({@code ext4_find_dest_de} on a checked block).
     */
    public static int findRoom(byte[] b, int start, int end, int blockSize, boolean hasFileType, int need) {
        int off = start;
        while (off + HEADER_SIZE <= end) {
            int recLen = recLenFromDisk(Le.u16(b, off + 4), blockSize);
            int nameLen = hasFileType ? Le.u8(b, off + 6) : Le.u16(b, off + 6) & 0xFF;
            int used = Le.u32(b, off) != 0 ? recLenFor(nameLen) : 0;
            if (recLen - used >= need) {
                return off;
            }
            if (recLen < recLenFor(1)) {
                return -1;
            }
            off += recLen;
        }
        return -1;
    }

    private static CorruptionException bad(long dirInode, long block, int off, String problem) {
        return CorruptionException.of(Kind.BAD_DIR_ENTRY).inode(dirInode).block(block).offset(off).build(problem);
    }

    /**
     * Whether the block ends in a checksum tail ({@code struct ext4_dir_entry_tail}): a fake entry
     * with inode 0, rec_len 12, name_len 0 and file type 0xDE.
     */
    public static boolean hasTail(byte[] b, int blockSize) {
        int t = blockSize - TAIL_SIZE;
        return Le.u32(b, t) == 0 && recLenFromDisk(Le.u16(b, t + 4), blockSize) == TAIL_SIZE
                && Le.u8(b, t + 6) == 0 && Le.u8(b, t + 7) == TAIL_FT;
    }

    /** Verifies a leaf block's tail ({@code ext4_dirblock_csum}). */
    public static void verifyTail(byte[] b, int blockSize, int inodeSeed, long inode, long block)
            throws CorruptionException {
        int t = blockSize - TAIL_SIZE;
        long stored = Le.u32(b, t + 8);
        long computed = Crc32c.update(inodeSeed, b, 0, t) & 0xFFFFFFFFL;
        if (stored != computed) {
            throw CorruptionException.of(Kind.CHECKSUM).inode(inode).block(block).offset(t)
                    .checksum("directory block", stored, computed);
        }
    }
}
