package org.ext4j.extents;

import java.util.Arrays;

import org.ext4j.format.ExtentNode;
import org.ext4j.format.ExtentNode.Extent;
import org.ext4j.format.ExtentNodeWriter;

/**
 * A working copy of one extent tree node held by {@link ExtentTreeWriter} during an operation: the
 * root (a copy of i_block, {@code pblk} -1) or a tree block. Edits change the copy only; the writer
 * publishes dirty copies to the inode and the buffer cache inside the handle at the end of each step,
 * so a failed step leaves the disk image's tree as it was. Entries are moved as raw 12-byte records
 * (extents and indexes both start with their logical block), as the kernel's {@code memmove}s do.
 */
final class TreeNode {
    final long pblk;
    final byte[] b;
    /** Newly allocated: no disk contents to read, the buffer is created zeroed. */
    boolean fresh;
    boolean dirty;
    /** Freed in this operation: never published again. */
    boolean freed;

    TreeNode(long pblk, byte[] bytes) {
        this.pblk = pblk;
        this.b = bytes;
    }

    boolean isRoot() {
        return pblk < 0;
    }

    int entries() {
        return ExtentNodeWriter.entries(b, 0);
    }

    int max() {
        return ExtentNodeWriter.max(b, 0);
    }

    int depth() {
        return ExtentNodeWriter.depth(b, 0);
    }

    boolean isLeaf() {
        return depth() == 0;
    }

    long start(int i) {
        return ExtentNodeWriter.entryLogical(b, 0, i);
    }

    void setStart(int i, long lblk) {
        if (start(i) != lblk) {
            ExtentNodeWriter.setEntryLogical(b, 0, i, lblk);
            dirty = true;
        }
    }

    Extent extent(int i) {
        return ExtentNodeWriter.extent(b, 0, i);
    }

    void setExtent(int i, Extent e) {
        ExtentNodeWriter.putExtent(b, 0, i, e);
        dirty = true;
    }

    long child(int i) {
        return ExtentNodeWriter.indexChild(b, 0, i);
    }

    /** The last entry whose logical start is at or before {@code lblk}, -1 if none ({@code ext4_ext_binsearch}). */
    int find(long lblk) {
        int lo = 0;
        int hi = entries() - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (start(mid) <= lblk) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }

    byte[] rawEntry(int i) {
        int p = ExtentNodeWriter.entryOffset(0, i);
        return Arrays.copyOfRange(b, p, p + ExtentNode.ENTRY_SIZE);
    }

    /** Inserts a raw entry at {@code i}, shifting the ones from {@code i} right. The caller checked room. */
    void insertRaw(int i, byte[] entry) {
        int n = entries();
        if (i < 0 || i > n || n >= ExtentNodeWriter.max(b, 0)) {
            throw new IllegalStateException("insert at " + i + " of a node with " + n + "/" + max() + " entries");
        }
        int p = ExtentNodeWriter.entryOffset(0, i);
        System.arraycopy(b, p, b, p + ExtentNode.ENTRY_SIZE, (n - i) * ExtentNode.ENTRY_SIZE);
        System.arraycopy(entry, 0, b, p, ExtentNode.ENTRY_SIZE);
        ExtentNodeWriter.setEntries(b, 0, n + 1);
        dirty = true;
    }

    void insertExtent(int i, Extent e) {
        byte[] raw = new byte[ExtentNode.ENTRY_SIZE + ExtentNode.HEADER_SIZE];
        ExtentNodeWriter.putExtent(raw, 0, 0, e);
        insertRaw(i, Arrays.copyOfRange(raw, ExtentNode.HEADER_SIZE, raw.length));
    }

    static byte[] indexEntry(long lblk, long child) {
        byte[] raw = new byte[ExtentNode.ENTRY_SIZE + ExtentNode.HEADER_SIZE];
        ExtentNodeWriter.putIndex(raw, 0, 0, lblk, child);
        return Arrays.copyOfRange(raw, ExtentNode.HEADER_SIZE, raw.length);
    }

    /** Removes entry {@code i}, shifting the rest left and zeroing the freed slot. */
    void remove(int i) {
        int n = entries();
        int p = ExtentNodeWriter.entryOffset(0, i);
        int last = ExtentNodeWriter.entryOffset(0, n - 1);
        System.arraycopy(b, p + ExtentNode.ENTRY_SIZE, b, p, (n - 1 - i) * ExtentNode.ENTRY_SIZE);
        Arrays.fill(b, last, last + ExtentNode.ENTRY_SIZE, (byte) 0);
        ExtentNodeWriter.setEntries(b, 0, n - 1);
        dirty = true;
    }

    /** Moves entries {@code from..entries()} to the start of the empty node {@code dst}. */
    void moveTail(int from, TreeNode dst) {
        int n = entries();
        int count = n - from;
        if (dst.entries() != 0 || count > dst.max()) {
            throw new IllegalStateException("cannot move " + count + " entries into a node of " + dst.max());
        }
        int p = ExtentNodeWriter.entryOffset(0, from);
        System.arraycopy(b, p, dst.b, ExtentNodeWriter.entryOffset(0, 0), count * ExtentNode.ENTRY_SIZE);
        Arrays.fill(b, p, p + count * ExtentNode.ENTRY_SIZE, (byte) 0);
        ExtentNodeWriter.setEntries(b, 0, from);
        ExtentNodeWriter.setEntries(dst.b, 0, count);
        dirty = true;
        dst.dirty = true;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(isRoot() ? "root" : "block " + pblk);
        s.append(" depth ").append(depth()).append(" [");
        for (int i = 0; i < entries(); i++) {
            if (i > 0) {
                s.append(", ");
            }
            if (isLeaf()) {
                Extent e = extent(i);
                s.append(e.logical()).append('+').append(e.length()).append('@').append(e.physical())
                        .append(e.unwritten() ? "u" : "");
            } else {
                s.append(start(i)).append("->").append(child(i));
            }
        }
        return s.append(']').toString();
    }
}
