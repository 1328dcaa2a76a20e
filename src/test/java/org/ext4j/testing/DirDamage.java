package org.ext4j.testing;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Consumer;

import org.ext4j.extents.BlockMap;
import org.ext4j.format.DirEntry;
import org.ext4j.format.DirEntryWriter;
import org.ext4j.format.DxNode;
import org.ext4j.format.DxNodeWriter;
import org.ext4j.format.Le;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.inode.Inode;

/**
 * Damages one directory of an image in place, the way a recipe of {@code debugfs -w} would, but
 * at the byte level debugfs has no command for (a record's name, an index block's count): the
 * directory's block map, inode number and checksum seed are read through ext4j before any damage,
 * then blocks are read, edited and written back raw. With metadata_csum the edited block's
 * checksum is recomputed with ext4j's own codecs ({@link DirEntryWriter#setTailChecksum} for a
 * leaf, {@link DxNodeWriter#setTail} for an index block), so that the damage under test is the
 * edit and not a checksum mismatch; {@link #edit} leaves checksums alone. Inode fields are damaged
 * with {@code debugfs -w -R "sif ..."}, which recomputes the inode checksum itself.
 */
public final class DirDamage {
    public final Path image;
    public final int blockSize;
    public final long ino;
    public final int seed;
    public final boolean csum;
    private final long[] pblks;

    private DirDamage(Path image, int blockSize, long ino, int seed, boolean csum, long[] pblks) {
        this.image = image;
        this.blockSize = blockSize;
        this.ino = ino;
        this.seed = seed;
        this.csum = csum;
        this.pblks = pblks;
    }

    /** Reads what is needed of directory {@code path} of {@code image} (a clean one). */
    public static DirDamage of(Path image, String path) throws IOException {
        try (Ext4FileSystem fs = Ext4FileSystem.open(image)) {
            long ino = fs.lookup(path);
            Inode in = fs.inode(ino);
            int bs = fs.superblock().blockSize;
            long[] pblks = new long[(int) (in.size() / bs)];
            for (int l = 0; l < pblks.length; l++) {
                BlockMap.Mapping m = in.map(l, 1);
                pblks[l] = m.state() == BlockMap.State.WRITTEN ? m.physical() : -1;
            }
            return new DirDamage(image, bs, ino, in.record().checksumSeed(fs.superblock()),
                    fs.superblock().hasMetadataCsum(), pblks);
        }
    }

    public long blocks() {
        return pblks.length;
    }

    public long pblk(long lblk) {
        return pblks[(int) lblk];
    }

    public byte[] read(long lblk) throws IOException {
        byte[] b = new byte[blockSize];
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
            f.seek(pblk(lblk) * blockSize);
            f.readFully(b);
        }
        return b;
    }

    public void write(long lblk, byte[] b) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.seek(pblk(lblk) * blockSize);
            f.write(b);
        }
    }

    /** Edits block {@code lblk} raw: checksums are left as they were. */
    public void edit(long lblk, Consumer<byte[]> edit) throws IOException {
        byte[] b = read(lblk);
        edit.accept(b);
        write(lblk, b);
    }

    /** Edits leaf (or linear) block {@code lblk}, then recomputes its checksum tail when it has one. */
    public void editLeaf(long lblk, Consumer<byte[]> edit) throws IOException {
        byte[] b = read(lblk);
        edit.accept(b);
        if (csum && DirEntry.hasTail(b, blockSize)) {
            DirEntryWriter.setTailChecksum(b, blockSize, seed);
        }
        write(lblk, b);
    }

    /**
     * Edits index block {@code lblk} (the root when 0), then recomputes its dx_tail, where the
     * edited limit still leaves room for one.
     */
    public void editIndex(long lblk, Consumer<byte[]> edit) throws IOException {
        byte[] b = read(lblk);
        edit.accept(b);
        int off = lblk == 0 ? DxNode.ROOT_ENTRIES_OFFSET : DxNode.NODE_ENTRIES_OFFSET;
        int limit = DxNodeWriter.limit(b, off);
        int count = DxNodeWriter.count(b, off);
        if (csum && off + limit * DxNode.ENTRY_SIZE + DxNode.TAIL_SIZE <= blockSize && count <= limit) {
            DxNodeWriter.setTail(b, off, seed);
        }
        write(lblk, b);
    }

    /** The offset of the first record named {@code name} in block {@code lblk}, or -1. */
    public int recordOffset(long lblk, String name) throws IOException {
        byte[] b = read(lblk);
        byte[] want = name.getBytes(StandardCharsets.ISO_8859_1);
        int off = 0;
        while (off + DirEntry.HEADER_SIZE <= blockSize) {
            int len = DirEntry.recLenFromDisk(Le.u16(b, off + 4), blockSize);
            int nameLen = Le.u8(b, off + 6);
            if (nameLen == want.length && off + DirEntry.HEADER_SIZE + nameLen <= blockSize) {
                boolean same = true;
                for (int i = 0; i < nameLen && same; i++) {
                    same = b[off + DirEntry.HEADER_SIZE + i] == want[i];
                }
                if (same) {
                    return off;
                }
            }
            if (len < DirEntry.recLenFor(1)) {
                return -1;
            }
            off += len;
        }
        return -1;
    }

    /** Renames the record at {@code off} of {@code b} in place (the new name must fit its rec_len). */
    public static void rename(byte[] b, int off, String name) {
        byte[] n = name.getBytes(StandardCharsets.ISO_8859_1);
        b[off + 6] = (byte) n.length;
        System.arraycopy(n, 0, b, off + DirEntry.HEADER_SIZE, n.length);
    }
}
