package org.ext4j.mapping;

import java.io.IOException;

import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Superblock;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;

/**
 * The in-memory inode of an open file ({@code struct ext4_inode_info}'s on-disk half): the raw
 * inode bytes that the mapper and the file change (i_block, i_blocks, size, times), written back in
 * a handle with their checksum ({@code ext4_mark_inode_dirty}). Guarded by its own monitor; never
 * held across I/O other than the buffer copy in {@link #write}.
 */
public final class InodeState {
    private final Volume volume;
    private final Superblock sb;
    private final long ino;
    private final byte[] raw;
    private final byte[] iBlock;
    private long blocks512;
    private long diskSize;
    /** Changed in memory since the last {@link #write}: times touched or the size moved. */
    private boolean dirty;
    /**
     * Taken around a write's snapshot and its copy into the inode table buffer, so that writes
     * from different threads (writeback completions, fsync, an unlink dropping a link) reach the
     * buffer in the order of their snapshots: an older snapshot never lands over a newer one.
     * Outside the monitor; nothing else is taken while holding it but the buffer's lock.
     */
    private final Object writeOrder = new Object();

    public InodeState(Volume volume, InodeRecord rec) {
        this.volume = volume;
        this.sb = volume.superblock();
        this.ino = rec.number;
        this.raw = rec.raw();
        this.iBlock = rec.iBlock();
        this.blocks512 = rec.blocks512(sb);
        this.diskSize = rec.size;
    }

    public long number() {
        return ino;
    }

    /** The live i_block the extent tree writer edits in place; guard changes with this object's monitor. */
    byte[] iBlock() {
        return iBlock;
    }

    public synchronized long diskSize() {
        return diskSize;
    }

    public synchronized void setDiskSize(long size) {
        dirty |= size != diskSize;
        diskSize = size;
    }

    /**
     * Sets mtime and ctime in memory ({@code file_update_time} of a write); the next {@link #write}
     * stores them.
     */
    public synchronized void touch(long seconds, int nanos) {
        new InodeWriter(sb, ino, raw).mtime(seconds, nanos).ctime(seconds, nanos);
        dirty = true;
    }

    /** Whether the in-memory inode holds changes no {@link #write} has stored yet. */
    public synchronized boolean dirty() {
        return dirty;
    }

    synchronized void addBlocks(long fsBlocks) {
        blocks512 += fsBlocks * (sb.blockSize / 512);
    }

    public synchronized long blocks512() {
        return blocks512;
    }

    /** Writes the inode (with i_block, i_blocks, size and {@code mtime} if given) in {@code h}. */
    public void write(Handle h, long mtimeSeconds, int mtimeNanos) throws IOException {
        write(h, mtimeSeconds, mtimeNanos, null);
    }

    /**
     * Changes fields of the on-disk inode that the open file does not manage (the link count,
     * i_dtime as the orphan list's link, mode, owner and times by name, the xattr area, i_file_acl
     * and the i_blocks of an xattr block) and writes the inode in {@code h}: the raw bytes held here
     * are what every later {@link #write} stores, so a change written past them would be undone.
     */
    public void update(Handle h, java.util.function.Consumer<InodeWriter> change) throws IOException {
        write(h, -1, 0, change);
    }

    private void write(Handle h, long mtimeSeconds, int mtimeNanos, java.util.function.Consumer<InodeWriter> change)
            throws IOException {
        synchronized (writeOrder) {
            byte[] bytes;
            synchronized (this) {
                InodeWriter w = new InodeWriter(sb, ino, raw).iBlock(iBlock).blocks512(blocks512).size(diskSize);
                if (mtimeSeconds >= 0) {
                    w.mtime(mtimeSeconds, mtimeNanos).ctime(mtimeSeconds, mtimeNanos);
                }
                if (change != null) {
                    change.accept(w);
                    // a change may add or remove a block of its own (an xattr block): i_blocks as it left it
                    blocks512 = InodeRecord.blocksRaw(raw); // written in 512-byte units by InodeWriter.blocks512
                }
                w.setChecksum();
                bytes = raw.clone();
                dirty = false;
            }
            volume.writeInode(h, ino, bytes);
        }
    }

    /** {@code i_links_count} as held in memory (and written by every {@link #write}). */
    public synchronized int linksCount() {
        return org.ext4j.format.Le.u16(raw, 0x1A);
    }

    /** A change of the whole in-memory inode, i_block included (inline data, {@code org.ext4j.fs.InlineFile}). */
    public interface RawChange<T> {
        T apply(byte[] raw) throws IOException;
    }

    /**
     * Runs {@code change} on the in-memory inode's bytes with i_block in place (inline data lives in
     * i_block and the attribute area; the flags are there too) and keeps what it did; marks the
     * inode dirty. An exception leaves the inode as it was.
     */
    public synchronized <T> T editRaw(RawChange<T> change) throws IOException {
        byte[] copy = raw.clone();
        System.arraycopy(iBlock, 0, copy, InodeRecord.I_BLOCK_OFFSET, InodeRecord.I_BLOCK_SIZE);
        T result = change.apply(copy);
        System.arraycopy(copy, 0, raw, 0, raw.length);
        System.arraycopy(copy, InodeRecord.I_BLOCK_OFFSET, iBlock, 0, InodeRecord.I_BLOCK_SIZE);
        dirty = true;
        return result;
    }

    /** Runs {@code view} on a copy of the in-memory inode's bytes, i_block in place; changes nothing. */
    public synchronized <T> T viewRaw(RawChange<T> view) throws IOException {
        byte[] copy = raw.clone();
        System.arraycopy(iBlock, 0, copy, InodeRecord.I_BLOCK_OFFSET, InodeRecord.I_BLOCK_SIZE);
        return view.apply(copy);
    }

    /** The inode's bytes as they are in memory now, mapping fields and checksum included. */
    public synchronized byte[] rawCopy() {
        byte[] copy = raw.clone();
        new InodeWriter(sb, ino, copy).iBlock(iBlock).blocks512(blocks512).size(diskSize).setChecksum();
        return copy;
    }

    /** Whether i_block holds an extent tree (EXT4_EXTENTS_FL), not an indirect block map. */
    public boolean extents() {
        return (org.ext4j.format.Le.u32(raw, 0x20) & InodeRecord.FL_EXTENTS) != 0;
    }

    public int checksumSeed() {
        return InodeRecord.checksumSeed(sb, ino, org.ext4j.format.Le.u32(raw, 0x64));
    }

    /** The group's first block, where an empty file's data goes (the kernel's {@code ext4_inode_to_goal_block}). */
    long goalHint() {
        long group = (ino - 1) / sb.inodesPerGroup;
        return sb.groupFirstBlock(group);
    }
}
