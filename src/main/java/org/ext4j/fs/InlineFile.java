package org.ext4j.fs;

import java.io.IOException;

import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.format.ExtentNodeWriter;
import org.ext4j.format.Features;
import org.ext4j.format.InlineData;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.mapping.InodeState;

/**
 * The inline data of an open regular file ({@code fs/ext4/inline.c}): a write whose end fits the
 * inode ({@code ext4_get_max_inline_size}: i_block plus the room the attribute area leaves for
 * {@code system.data}) stays inline, the value growing to the write's end
 * ({@code ext4_try_to_write_inline_data}, {@code ext4_prepare_inline_data},
 * {@code ext4_write_inline_data_end}); a truncate inside the inline size stays inline, shrinking the
 * value and zeroing i_block past the end ({@code ext4_inline_data_truncate}); anything else first
 * turns the file into an extent-mapped one ({@link #destroy}, {@code ext4_destroy_inline_data_nolock}),
 * whose caller writes the bytes back through the page cache, as
 * {@code ext4_da_convert_inline_data_to_extent} does.
 *
 * <p><b>May inline</b> (the kernel's {@code EXT4_STATE_MAY_INLINE_DATA}): a file becomes inline
 * only while the kernel would let it: an inode with inline data, or a regular file created in this
 * session on a file system with inline_data ({@code __ext4_new_inode} sets the state; it lives as
 * long as the in-memory inode, which for ext4j is the session: {@link WriteSession#mayInline}). A
 * new file is created extent-mapped and empty, as the kernel creates it; its first write makes it
 * inline when it fits. Converting clears the state for good, as do fallocate and punch.
 *
 * <p>Guarded by the owning {@link Ext4File}'s writer lock for changes; reads copy under this
 * object's monitor, and the file's invalidate lock keeps them apart from a conversion.
 */
final class InlineFile {
    private final WriteSession session;
    private final InodeState inode;
    private final long ino;
    /** The inode has inline data (EXT4_INODE_INLINE_DATA). */
    private volatile boolean hasData;
    /** {@code EXT4_STATE_MAY_INLINE_DATA}. */
    private volatile boolean may;

    private InlineFile(WriteSession session, InodeState inode, boolean hasData) {
        this.session = session;
        this.inode = inode;
        this.ino = inode.number();
        this.hasData = hasData;
        this.may = true;
    }

    /** The inline state of a file being opened, or null when it neither is nor may become inline. */
    static InlineFile of(WriteSession session, InodeState inode, InodeRecord rec) {
        boolean inline = rec.hasFlag(InodeRecord.FL_INLINE_DATA);
        if (!inline && !session.mayInline.contains(rec.number)) {
            return null;
        }
        return new InlineFile(session, inode, inline);
    }

    /** A regular file was created in this session: it may become inline ({@code __ext4_new_inode}). */
    static void created(WriteSession session, long ino) {
        if (session.volume.superblock().hasIncompat(Features.INCOMPAT_INLINE_DATA)) {
            session.mayInline.add(ino);
        }
    }

    boolean hasData() {
        return hasData;
    }

    boolean active() {
        return hasData || may;
    }

    /** {@code i_inline_size}: i_block plus the value's size. */
    int capacity() throws IOException {
        return inode.viewRaw(raw -> {
            int v = InlineData.valueSize(raw, ino);
            return InlineData.MIN_SIZE + Math.max(0, v);
        });
    }

    /**
     * Writes inline when the write's end fits the inode and the file may be inline; false (nothing
     * changed) otherwise, and the caller converts.
     */
    synchronized boolean tryWrite(long pos, byte[] src, int off, int len) throws IOException {
        if (!may) {
            return false;
        }
        long end = pos + len;
        int max = inode.viewRaw(raw -> InlineData.maxSize(raw, ino));
        if (max == 0 || end > max) {
            return false;
        }
        return inode.editRaw(raw -> {
            int want = (int) Math.max(0, end - InlineData.MIN_SIZE);
            if (!hasData) { // ext4_create_inline_data
                java.util.Arrays.fill(raw, InodeRecord.I_BLOCK_OFFSET, InodeRecord.I_BLOCK_OFFSET + InodeRecord.I_BLOCK_SIZE,
                        (byte) 0);
                InlineData.setValue(raw, ino, new byte[want]);
                long flags = Le.u32(raw, 0x20);
                Le.put32(raw, 0x20, (flags & ~InodeRecord.FL_EXTENTS) | InodeRecord.FL_INLINE_DATA);
            } else {
                int v = InlineData.valueSize(raw, ino);
                if (want > v) { // ext4_update_inline_data: the value grows, new bytes zero
                    byte[] grown = new byte[want];
                    byte[] old = InlineData.read(raw, ino, InlineData.MIN_SIZE + v);
                    System.arraycopy(old, InlineData.MIN_SIZE, grown, 0, v);
                    InlineData.setValue(raw, ino, grown);
                }
            }
            InlineData.write(raw, ino, (int) pos, src, off, len);
            hasData = true;
            return true;
        });
    }

    /** Reads inline bytes; past the inline size and up to {@code size} the file reads zero. */
    synchronized int read(long pos, byte[] dst, int off, int len, long size) throws IOException {
        if (pos >= size) {
            return -1;
        }
        int n = (int) Math.min(len, size - pos);
        byte[] all = inode.viewRaw(raw -> InlineData.read(raw, ino,
                InlineData.MIN_SIZE + Math.max(0, InlineData.valueSize(raw, ino))));
        java.util.Arrays.fill(dst, off, off + n, (byte) 0);
        if (pos < all.length) {
            System.arraycopy(all, (int) pos, dst, off, (int) Math.min(n, all.length - pos));
        }
        return n;
    }

    /** {@code ext4_inline_data_truncate} (and a size grown inside the inline size): stays inline. */
    synchronized void truncate(long newSize) throws IOException {
        inode.editRaw(raw -> {
            int cap = InlineData.MIN_SIZE + Math.max(0, InlineData.valueSize(raw, ino));
            if (newSize < cap) {
                if (cap > InlineData.MIN_SIZE) {
                    int keep = (int) Math.max(0, newSize - InlineData.MIN_SIZE);
                    byte[] old = InlineData.read(raw, ino, cap);
                    InlineData.setValue(raw, ino, java.util.Arrays.copyOfRange(old, InlineData.MIN_SIZE,
                            InlineData.MIN_SIZE + keep));
                }
                if (newSize < InlineData.MIN_SIZE) {
                    java.util.Arrays.fill(raw, InodeRecord.I_BLOCK_OFFSET + (int) newSize,
                            InodeRecord.I_BLOCK_OFFSET + InodeRecord.I_BLOCK_SIZE, (byte) 0);
                }
            }
            return null;
        });
    }

    /** The file will not be inline again ({@code ext4_clear_inode_state(MAY_INLINE_DATA)}). */
    void clearMay() {
        may = false;
        session.mayInline.remove(ino);
    }

    /** What {@link #destroy} changed, to put back when the bytes could not be written out. */
    record Undo(byte[] raw) {
    }

    /**
     * {@code ext4_destroy_inline_data_nolock}: returns the file's first {@code min(size, inline size)}
     * bytes and makes the in-memory inode an empty extent-mapped file (system.data removed, i_block
     * an empty extent root, the inline flag cleared and the extents flag set). The caller writes the
     * bytes back at offset 0. Refused without the extents feature (a block-mapped file ext4j cannot
     * write).
     */
    synchronized byte[] destroy(long size, Undo[] undo) throws IOException {
        Superblock sb = session.volume.superblock();
        if (!sb.hasIncompat(Features.INCOMPAT_EXTENTS)) {
            throw new UnsupportedFeatureException("^extents", "inode " + ino
                    + ": moving inline data to blocks of a block-mapped file is not implemented");
        }
        byte[] data = inode.editRaw(raw -> {
            undo[0] = new Undo(raw.clone());
            int cap = InlineData.MIN_SIZE + Math.max(0, InlineData.valueSize(raw, ino));
            byte[] bytes = InlineData.read(raw, ino, (int) Math.min(size, cap));
            InlineData.setValue(raw, ino, null);
            byte[] root = new byte[InodeRecord.I_BLOCK_SIZE];
            ExtentNodeWriter.initRoot(root);
            System.arraycopy(root, 0, raw, InodeRecord.I_BLOCK_OFFSET, root.length);
            long flags = Le.u32(raw, 0x20);
            Le.put32(raw, 0x20, (flags & ~InodeRecord.FL_INLINE_DATA) | InodeRecord.FL_EXTENTS);
            return bytes;
        });
        hasData = false;
        return data;
    }

    /** Puts back what {@link #destroy} changed. */
    synchronized void restore(Undo undo) throws IOException {
        inode.editRaw(raw -> {
            System.arraycopy(undo.raw(), 0, raw, 0, raw.length);
            return null;
        });
        hasData = true;
    }
}
