package org.ext4j.format;

import java.util.Arrays;

/**
 * The write side of {@link DirEntry}: encoding directory records ({@code struct ext4_dir_entry_2})
 * into a block, the checksum tail ({@code struct ext4_dir_entry_tail},
 * {@code ext4_initialize_dirent_tail} and {@code ext4_dirblock_csum_set}), and the two block
 * layouts a directory starts with: an empty leaf ({@code ext4_add_entry}'s fresh block) and the
 * "." / ".." block of a new directory ({@code ext4_init_dirblock}). All offsets are absolute within
 * the block; {@code rec_len} goes through {@link #recLenToDisk} so that 64 KiB blocks encode right.
 */
public final class DirEntryWriter {
    /** {@code EXT4_NAME_LEN}. */
    public static final int MAX_NAME_LEN = 255;

    private DirEntryWriter() {
    }

    /**
     * {@code ext4_rec_len_to_disk}: lengths below 64 KiB as they are; a record spanning a whole
     * 64 KiB block as 65535 ({@code EXT4_MAX_REC_LEN}); longer ones with bits 16-17 in the low bits.
     */
    public static int recLenToDisk(int len, int blockSize) {
        if (len > blockSize || (len & 3) != 0 || len < 0) {
            throw new IllegalArgumentException("rec_len " + len + " in a block of " + blockSize);
        }
        if (len < 65536) {
            return len;
        }
        if (len == blockSize) {
            return blockSize == 65536 ? 65535 : 0;
        }
        return (len & 65532) | ((len >>> 16) & 3);
    }

    public static void setInode(byte[] b, int off, long inode) {
        Le.put32(b, off, inode);
    }

    public static void setRecLen(byte[] b, int off, int recLen, int blockSize) {
        Le.put16(b, off + 4, recLenToDisk(recLen, blockSize));
    }

    /**
     * {@code ext4_insert_dentry}: puts a record for {@code name} into the record at {@code off}, which
     * has room for it: a live record is cut to its own length and the new one takes the rest of its
     * rec_len; an unused one is taken whole.
     */
    public static void insert(byte[] b, int off, long inode, byte[] name, int fileType, boolean hasFileType, int blockSize) {
        int rlen = DirEntry.recLenFromDisk(Le.u16(b, off + 4), blockSize);
        int at = off;
        if (Le.u32(b, off) != 0) {
            int nlen = DirEntry.recLenFor(Le.u8(b, off + 6));
            setRecLen(b, off, nlen, blockSize);
            at = off + nlen;
            rlen -= nlen;
        }
        put(b, at, inode, rlen, name, fileType, hasFileType, blockSize);
    }

    /**
     * Writes a whole record at {@code off}: inode, rec_len, name_len, file type (0 without the
     * filetype feature, where the byte is the high half of a 16-bit name_len) and the name, with the
     * padding up to the name's 4-byte boundary zeroed.
     */
    public static void put(byte[] b, int off, long inode, int recLen, byte[] name, int fileType, boolean hasFileType,
            int blockSize) {
        if (name.length > MAX_NAME_LEN || recLen < DirEntry.recLenFor(name.length)) {
            throw new IllegalArgumentException("name of " + name.length + " bytes in a record of " + recLen);
        }
        Le.put32(b, off, inode);
        Le.put16(b, off + 4, recLenToDisk(recLen, blockSize));
        b[off + 6] = (byte) name.length;
        b[off + 7] = (byte) (hasFileType ? fileType : 0);
        System.arraycopy(name, 0, b, off + DirEntry.HEADER_SIZE, name.length);
        Arrays.fill(b, off + DirEntry.HEADER_SIZE + name.length, off + DirEntry.recLenFor(name.length), (byte) 0);
    }

    /** Writes an unused record (inode 0, no name) of {@code recLen} bytes at {@code off}. */
    public static void putUnused(byte[] b, int off, int recLen, int blockSize) {
        Le.put32(b, off, 0);
        Le.put16(b, off + 4, recLenToDisk(recLen, blockSize));
        b[off + 6] = 0;
        b[off + 7] = 0;
    }

    /** {@code ext4_initialize_dirent_tail}: the fake record in a leaf's last 12 bytes (checksum 0). */
    public static void initTail(byte[] b, int blockSize) {
        int t = blockSize - DirEntry.TAIL_SIZE;
        Arrays.fill(b, t, blockSize, (byte) 0);
        Le.put16(b, t + 4, DirEntry.TAIL_SIZE);
        b[t + 7] = (byte) DirEntry.TAIL_FT;
    }

    /** {@code ext4_dirent_csum}: crc32c of everything before the tail, seeded with the inode's seed. */
    public static long tailChecksum(byte[] b, int blockSize, int inodeSeed) {
        return Crc32c.update(inodeSeed, b, 0, blockSize - DirEntry.TAIL_SIZE) & 0xFFFFFFFFL;
    }

    /** Stores the tail checksum ({@code ext4_dirblock_csum_set}); the tail must be in place. */
    public static void setTailChecksum(byte[] b, int blockSize, int inodeSeed) {
        Le.put32(b, blockSize - DirEntry.TAIL_SIZE + 8, tailChecksum(b, blockSize, inodeSeed));
    }

    /**
     * A fresh leaf: one unused record spanning the block up to the tail, and with {@code csum} the
     * checksummed tail. {@code b} is overwritten entirely.
     */
    public static void initEmptyLeaf(byte[] b, int blockSize, boolean csum, int inodeSeed) {
        Arrays.fill(b, 0, blockSize, (byte) 0);
        putUnused(b, 0, blockSize - (csum ? DirEntry.TAIL_SIZE : 0), blockSize);
        if (csum) {
            initTail(b, blockSize);
            setTailChecksum(b, blockSize, inodeSeed);
        }
    }

    /**
     * The first block of a new directory ({@code ext4_init_dirblock}): "." (rec_len 12) pointing at
     * {@code self}, ".." spanning the rest up to the tail pointing at {@code parent}, both typed as
     * directories when the file system has filetype, and with {@code csum} the checksummed tail
     * (seeded with the new directory's inode seed). {@code b} is overwritten entirely.
     */
    public static void initDotBlock(byte[] b, int blockSize, long self, long parent, boolean hasFileType, boolean csum,
            int inodeSeed) {
        Arrays.fill(b, 0, blockSize, (byte) 0);
        int dot = DirEntry.recLenFor(1);
        put(b, 0, self, dot, new byte[] {'.'}, DirEntry.FT_DIR, hasFileType, blockSize);
        put(b, dot, parent, blockSize - dot - (csum ? DirEntry.TAIL_SIZE : 0), new byte[] {'.', '.'}, DirEntry.FT_DIR,
                hasFileType, blockSize);
        if (csum) {
            initTail(b, blockSize);
            setTailChecksum(b, blockSize, inodeSeed);
        }
    }
}
