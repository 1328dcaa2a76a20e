package org.ext4j.namespace;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.DirEntry;
import org.ext4j.format.DirEntryWriter;
import org.ext4j.format.ExtentNodeWriter;
import org.ext4j.format.Features;
import org.ext4j.format.InlineData;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.inode.Inode;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;

/**
 * Changing inline directories: the write side of {@code fs/ext4/inline.c}'s directory half. An
 * inline directory keeps its parent's inode number in the first 4 bytes of i_block (no "." or ".."
 * records) and its records in two regions, each walked and changed on its own as a block is: the
 * rest of i_block (56 bytes), and the {@code system.data} value when it is not empty; i_size is the
 * inline size (60 plus the value's size).
 *
 * <ul>
 * <li><b>New</b> ({@code ext4_try_create_inline_dir}): when the file system has inline_data and the
 * inode leaves room for the attribute: the parent, one unused record of 56 bytes, an empty
 * {@code system.data}, i_size 60, the inline flag instead of extents.</li>
 * <li><b>Add</b> ({@code ext4_try_add_inline_entry}): the first record with room in i_block
 * ({@code ext4_find_dest_de}, {@code ext4_insert_dentry}); else, while the value is empty, it grows
 * to all the room the area leaves ({@code ext4_update_inline_dir}: only when that is more than a
 * 12-byte record), covered by one unused record, and the name goes there; else the directory is
 * converted to a block ({@code ext4_convert_inline_dir}, {@code ext4_finish_convert_inline_dir}): a
 * new block holding "." and ".." (12 bytes each) and the inline records after them, the last one
 * stretched to the end (before the checksum tail), the attribute removed, i_block an extent root (a
 * block map without extents), i_size one block; {@link DirectoryWriter} then adds the name to that
 * block as to any linear directory.</li>
 * <li><b>Remove</b> ({@code ext4_delete_inline_entry}): merged into the record before it in its
 * region, or, first in its region, inode 0 and its name wiped ({@code ext4_generic_delete_entry}).</li>
 * <li><b>Replace</b> ({@code ext4_setent}) and <b>".."</b> ({@code ext4_rename_dir_finish}) in place.</li>
 * </ul>
 *
 * <p>Every operation first reads the directory as {@link Directory} checks it, so a damaged inline
 * directory is refused before anything changes. Credits: {@link #CONVERT_CREDITS} for a conversion
 * (block, its allocation, the inode), 1 otherwise (the inode).
 */
final class InlineDirectory {
    /** {@code EXT4_INLINE_DOTDOT_SIZE}: the parent's inode number before the records. */
    static final int DOTDOT_SIZE = 4;
    /** Buffers a conversion dirties: the new block, its allocation, the inode. */
    static final int CONVERT_CREDITS = 1 + BlockAllocator.ALLOC_CREDITS + 1;

    private final Volume volume;
    private final Superblock sb;
    private final BlockAllocator allocator;
    private final Clock clock;
    private final int bs;
    private final boolean fileType;

    InlineDirectory(Volume volume, BlockAllocator allocator, Clock clock) {
        this.volume = volume;
        this.sb = volume.superblock();
        this.allocator = allocator;
        this.clock = clock;
        this.bs = volume.blockSize();
        this.fileType = sb.hasIncompat(Features.INCOMPAT_FILETYPE);
    }

    static boolean isInline(InodeRecord rec) {
        return rec.hasFlag(InodeRecord.FL_INLINE_DATA);
    }

    /**
     * {@code ext4_try_create_inline_dir} for the new directory {@code ino} (written by the caller in
     * {@code h}, no blocks yet): false, changing nothing, when the file system has no inline_data or
     * the inode has no room for the attribute.
     */
    boolean create(Handle h, long ino, long parent) throws IOException {
        if (!sb.hasIncompat(Features.INCOMPAT_INLINE_DATA)) {
            return false;
        }
        byte[] raw = volume.readInode(ino).raw();
        if (InlineData.maxValueSize(raw, ino) == 0) {
            return false; // ext4_prepare_inline_data: ENOSPC, a block directory then
        }
        byte[] iBlock = new byte[InodeRecord.I_BLOCK_SIZE];
        Le.put32(iBlock, 0, parent);
        DirEntryWriter.putUnused(iBlock, DOTDOT_SIZE, InodeRecord.I_BLOCK_SIZE - DOTDOT_SIZE, bs);
        InlineData.setValue(raw, ino, new byte[0]);
        long flags = (Le.u32(raw, 0x20) & ~InodeRecord.FL_EXTENTS) | InodeRecord.FL_INLINE_DATA;
        new InodeWriter(sb, ino, raw).iBlock(iBlock).flags(flags).size(InlineData.MIN_SIZE).blocks512(0).setChecksum();
        volume.writeInode(h, ino, raw);
        return true;
    }

    /** A directory read and checked: its inode bytes and its inline bytes (i_block, then the value). */
    private final class Dir {
        final long ino;
        final byte[] raw;
        byte[] data;

        Dir(long ino) throws IOException {
            this.ino = ino;
            // the whole directory as every reader checks it: records, "..", the attribute
            new Directory(volume, Inode.load(volume, ino)).forEach(e -> true);
            this.raw = volume.readInode(ino).raw();
            int v = InlineData.valueSize(raw, ino);
            if (v < 0) {
                throw CorruptionException.of(Kind.BAD_INLINE_DATA).inode(ino).build("inline directory without system.data");
            }
            this.data = InlineData.read(raw, ino, InlineData.MIN_SIZE + v);
        }

        /** The regions records live in: [4, 60) and, when there is a value, [60, end). */
        int[][] regions() {
            return data.length > InlineData.MIN_SIZE
                    ? new int[][] {{DOTDOT_SIZE, InlineData.MIN_SIZE}, {InlineData.MIN_SIZE, data.length}}
                    : new int[][] {{DOTDOT_SIZE, InlineData.MIN_SIZE}};
        }

        /** Writes i_block, the value, i_size and (when {@code touch}) mtime and ctime. */
        void store(Handle h, boolean touch) throws IOException {
            InlineData.setValue(raw, ino, Arrays.copyOfRange(data, InlineData.MIN_SIZE, data.length));
            InodeWriter w = new InodeWriter(sb, ino, raw).iBlock(Arrays.copyOf(data, InodeRecord.I_BLOCK_SIZE))
                    .size(data.length);
            if (touch) {
                Instant now = clock.instant();
                w.mtime(now.getEpochSecond(), now.getNano()).ctime(now.getEpochSecond(), now.getNano());
            }
            w.setChecksum();
            volume.writeInode(h, ino, raw);
        }
    }

    /** A record: its region and its offset in the inline bytes. */
    private record Found(int[] region, DirEntry entry) {
    }

    private Found find(Dir d, byte[] name) throws IOException {
        Found[] hit = {null};
        for (int[] r : d.regions()) {
            DirEntry.walk(d.data, r[0], r[1], bs, fileType, sb.inodesCount, d.ino, -1, e -> {
                if (e.inode() != 0 && e.nameEquals(name)) {
                    hit[0] = new Found(r, e);
                    return false;
                }
                return true;
            });
            if (hit[0] != null) {
                return hit[0];
            }
        }
        return null;
    }

    /** {@code ext4_find_dest_de} in one region: the offset of the first record with room, or -1. */
    private int slot(Dir d, int[] r, int need) throws IOException {
        int[] at = {-1};
        DirEntry.walk(d.data, r[0], r[1], bs, fileType, sb.inodesCount, d.ino, -1, e -> {
            int used = e.inode() != 0 ? DirEntry.recLenFor(e.name().length) : 0;
            if (e.recLen() - used >= need) {
                at[0] = e.offset();
                return false;
            }
            return true;
        });
        return at[0];
    }

    /** {@code ext4_insert_dentry}: a live record is cut to its length and the new one takes the rest. */
    private void insert(byte[] b, int off, byte[] name, long child, int type) {
        DirEntryWriter.insert(b, off, child, name, type, fileType, bs);
    }

    /**
     * {@code ext4_try_add_inline_entry}: true when the name went into the inode; false when the
     * directory had no room and was converted to one block (in {@code h}), where the caller adds it.
     *
     * @throws EntryExistsException when the name is there already
     */
    boolean add(Handle h, long dirIno, byte[] name, long child, int type) throws IOException {
        Dir d = new Dir(dirIno);
        if (find(d, name) != null) {
            throw new EntryExistsException(new String(name, java.nio.charset.StandardCharsets.UTF_8)
                    + " exists in directory " + dirIno);
        }
        int need = DirEntry.recLenFor(name.length);
        int off = slot(d, d.regions()[0], need);
        if (off < 0 && d.data.length == InlineData.MIN_SIZE) {
            growValue(d); // ext4_update_inline_dir
        }
        if (off < 0 && d.data.length > InlineData.MIN_SIZE) {
            off = slot(d, d.regions()[1], need);
        }
        if (off < 0) {
            convert(h, d);
            return false;
        }
        insert(d.data, off, name, child, type);
        d.store(h, true);
        return true;
    }

    /**
     * {@code ext4_update_inline_dir} of a directory whose value is empty: the value takes all the
     * room the area leaves, as one unused record, when that is more than a 12-byte record.
     */
    private void growValue(Dir d) throws IOException {
        int size = InlineData.maxValueSize(d.raw, d.ino);
        if (size <= DirEntry.recLenFor(1)) {
            return;
        }
        byte[] grown = Arrays.copyOf(d.data, InlineData.MIN_SIZE + size);
        DirEntryWriter.putUnused(grown, InlineData.MIN_SIZE, size, bs);
        d.data = grown;
    }

    /** {@code ext4_convert_inline_dir}: the records move to a new block 0 after "." and "..". */
    private void convert(Handle h, Dir d) throws IOException {
        long ino = d.ino;
        InodeRecord rec = InodeRecord.decode(sb, ino, d.raw, -1, -1);
        int seed = rec.checksumSeed(sb);
        boolean csum = sb.hasMetadataCsum();
        int end = bs - (csum ? DirEntry.TAIL_SIZE : 0);
        int header = 2 * DirEntry.recLenFor(1);
        int len = d.data.length - DOTDOT_SIZE;
        if (header + len > end) {
            throw new IllegalStateException("inline directory " + ino + " of " + d.data.length
                    + " bytes does not fit a block of " + bs);
        }
        byte[] b = new byte[bs];
        DirEntryWriter.initDotBlock(b, bs, ino, Le.u32(d.data, 0), fileType, csum, seed);
        DirEntryWriter.setRecLen(b, DirEntry.recLenFor(1), DirEntry.recLenFor(2), bs);
        System.arraycopy(d.data, DOTDOT_SIZE, b, header, len);
        // ext4_update_final_de: the last record reaches the end of the block (the tail's start)
        int last = header;
        for (int off = header; off < header + len;) {
            last = off;
            off += DirEntry.recLenFromDisk(Le.u16(b, off + 4), bs);
        }
        DirEntryWriter.setRecLen(b, last, end - last, bs);
        if (csum) {
            DirEntryWriter.initTail(b, bs);
            DirEntryWriter.setTailChecksum(b, bs, seed);
        }
        long goal = sb.groupFirstBlock((ino - 1) / sb.inodesPerGroup);
        long pblk = allocator.allocate(h, goal, 1, 1).start();
        volume.checkRange(pblk, 1, ino);
        MetaBuffer buf = volume.bufferCache().getZeroed(pblk);
        h.getWriteAccess(buf);
        buf.lock().lock();
        try {
            System.arraycopy(b, 0, buf.data(), 0, bs);
        } finally {
            buf.lock().unlock();
        }
        h.markDirty(buf);
        // ext4_destroy_inline_data_nolock, then block 0 mapped
        InlineData.setValue(d.raw, ino, null);
        byte[] iBlock = new byte[InodeRecord.I_BLOCK_SIZE];
        long flags = rec.flags & ~InodeRecord.FL_INLINE_DATA;
        if (sb.hasIncompat(Features.INCOMPAT_EXTENTS)) {
            ExtentNodeWriter.initRoot(iBlock);
            ExtentNodeWriter.putExtent(iBlock, 0, 0, 0, 1, pblk, false);
            ExtentNodeWriter.setEntries(iBlock, 0, 1);
            flags |= InodeRecord.FL_EXTENTS;
        } else {
            Le.put32(iBlock, 0, pblk);
        }
        new InodeWriter(sb, ino, d.raw).iBlock(iBlock).flags(flags).size(bs)
                .blocks512(rec.blocks512(sb) + bs / 512).setChecksum();
        volume.writeInode(h, ino, d.raw);
    }

    /**
     * {@code ext4_delete_inline_entry}: removes {@code name} and returns its record.
     *
     * @throws org.ext4j.error.NotFoundException when there is no such name
     */
    DirEntry remove(Handle h, long dirIno, byte[] name) throws IOException {
        Dir d = new Dir(dirIno);
        Found f = find(d, name);
        if (f == null) {
            throw new org.ext4j.error.NotFoundException("no entry " + new String(name, java.nio.charset.StandardCharsets.UTF_8)
                    + " in directory " + dirIno);
        }
        byte[] b = d.data;
        int prev = -1;
        for (int off = f.region()[0]; off < f.entry().offset();) {
            prev = off;
            off += DirEntry.recLenFromDisk(Le.u16(b, off + 4), bs);
        }
        int off = f.entry().offset();
        int len = f.entry().recLen();
        if (prev >= 0) {
            DirEntryWriter.setRecLen(b, prev, DirEntry.recLenFromDisk(Le.u16(b, prev + 4), bs) + len, bs);
            Arrays.fill(b, off, off + len, (byte) 0);
        } else {
            Le.put32(b, off, 0);
            Arrays.fill(b, off + 6, off + len, (byte) 0);
        }
        d.store(h, true);
        return f.entry();
    }

    /** {@code ext4_setent}: the record of {@code name} names {@code newIno} of {@code type}; returns it as it was. */
    DirEntry replace(Handle h, long dirIno, byte[] name, long newIno, int type) throws IOException {
        Dir d = new Dir(dirIno);
        Found f = find(d, name);
        if (f == null) {
            throw new org.ext4j.error.NotFoundException("no entry " + new String(name, java.nio.charset.StandardCharsets.UTF_8)
                    + " in directory " + dirIno);
        }
        Le.put32(d.data, f.entry().offset(), newIno);
        d.data[f.entry().offset() + 7] = (byte) (fileType ? type : 0);
        d.store(h, true);
        return f.entry();
    }

    /** The parent of a moved directory ({@code ext4_rename_dir_finish}); returns the old one. */
    long setParent(Handle h, long dirIno, long parentIno) throws IOException {
        Dir d = new Dir(dirIno);
        long old = Le.u32(d.data, 0);
        Le.put32(d.data, 0, parentIno);
        d.store(h, false);
        return old;
    }
}
