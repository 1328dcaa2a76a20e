package org.ext4j.fs;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.alloc.InodeAllocator;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.extents.ExtentTreeReader;
import org.ext4j.extents.IndirectMapWriter;
import org.ext4j.extentstatus.ExtentStatusTree;
import org.ext4j.format.ExtentNode;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.inode.XattrWriter;
import org.ext4j.mapping.BlockMapper;
import org.ext4j.mapping.InodeState;
import org.ext4j.namespace.DirectoryWriter;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;

/**
 * Removing a name and, with its last link, the inode: {@code ext4_unlink} / {@code __ext4_unlink}
 * ({@code fs/ext4/namei.c}) and {@code ext4_evict_inode} ({@code fs/ext4/inode.c}) with
 * {@code ext4_xattr_delete_inode} and {@code ext4_free_inode}.
 *
 * <p><b>Unlink</b>, in one handle: the entry leaves the parent (whose mtime and ctime become now),
 * the inode loses a link and takes the parent's ctime. A directory is never unlinked (the caller
 * refuses it, EISDIR).
 *
 * <p><b>Eviction</b>, once the count is zero and no {@link Ext4File} holds the inode, as the kernel
 * leaves a deleted inode (checked against {@code debugfs stat} after an {@code rm} on a kernel
 * mount): a fast symlink's i_block is zeroed (its size stays); a regular file, directory or slow
 * symlink that owns blocks (i_blocks, the xattr block included, is not zero) is truncated to size 0, with mtime and
 * ctime set, its extent tree freed through the block mapper (the truncate path, in credit-bounded
 * handles) or its indirect map freed the same way ({@link IndirectMapWriter}); the value inodes its
 * attributes name (ea_inode) lose its references, and are freed with their last
 * ({@link XattrWriter#deleteInode}); the external xattr block loses a reference
 * ({@code h_refcount}), and is freed with its last; then i_file_acl and i_blocks become 0, i_dtime
 * is set and the inode is freed in the inode bitmap. Mode, flags, generation, device numbers, a
 * fast symlink's size and an empty or sparse file's size stay, as the kernel leaves them.
 *
 * <p><b>Orphans</b> ({@link OrphanList}, {@code fs/ext4/orphan.c}): an inode that loses its last
 * link joins the orphan list in the handle that removes the name, and leaves it in the last handle
 * of its eviction ({@code ext4_orphan_del}), so a crash between the two (an eviction spans several
 * handles, an open file the rest of the session) leaves an inode that the next read-write open
 * ({@link #processOrphan}), the kernel's mount or e2fsck frees, instead of one e2fsck reconnects to
 * lost+found.
 *
 * <p><b>Open files</b>: unlinking an inode that is open as an {@link Ext4File} removes the name and
 * drops the link on disk at once, as the kernel does; at zero the inode joins the orphan list. Its
 * {@link InodeState} owns every byte of the on-disk inode while it is open and writes them all back,
 * so the link count and the orphan link (i_dtime) are changed through it
 * ({@link WriteSession#updateInode}), never past it. The eviction waits for the last
 * {@code Ext4File} to close ({@link #released}), which drops the file's dirty data instead of writing
 * it back (the kernel's {@code truncate_inode_pages_final} in {@code ext4_evict_inode}).
 *
 * <p>The caller holds the parent directory's and the inode's locks ({@link InodeLocks}).
 */
final class Unlinker {
    /** Credits of the final handle of an eviction: inode table block, xattr block or its free, inode bitmap and descriptor. */
    private static final int EVICT_CREDITS = 1 + BlockAllocator.FREE_CREDITS_PER_GROUP + InodeAllocator.FREE_CREDITS;

    private final WriteSession session;
    private final Volume volume;
    private final Superblock sb;
    private final Clock clock;

    Unlinker(WriteSession session, Clock clock) {
        this.session = session;
        this.volume = session.volume;
        this.sb = volume.superblock();
        this.clock = clock;
    }

    /**
     * Removes {@code name} (naming {@code child}, not a directory) from directory {@code parent} and
     * drops one link, in one handle; an inode left with none joins the orphan list in the same handle
     * ({@code ext4_unlink}'s {@code ext4_orphan_add}) and is evicted now unless it is open.
     */
    void unlink(long parent, byte[] name, InodeRecord child) throws IOException {
        if (child.isDirectory()) {
            throw new IllegalArgumentException("inode " + child.number + " is a directory");
        }
        long ino = child.number;
        Instant now = clock.instant();
        // the parent's times and the child's ctime are the same instant, as __ext4_unlink copies them
        DirectoryWriter dirs = new DirectoryWriter(volume, session.allocator.blocks(), Clock.fixed(now, ZoneOffset.UTC));
        boolean open = session.openFiles.containsKey(ino);
        if (!open && child.linksCount <= 1) {
            checkEvictable(child); // validate, then change: all the eviction reads and frees, first
        }
        int links;
        try (Handle h = session.journal.start(DirectoryWriter.REMOVE_CREDITS + 1 + OrphanList.ADD_CREDITS)) {
            dirs.removeEntry(h, parent, name);
            links = dropLinks(h, ino, 1, now);
            if (links == 0) {
                session.orphans.add(h, ino);
            }
        }
        if (links == 0 && !open) {
            evict(ino);
        }
    }

    /** Credits of {@link #dropName}: the inode and its orphan-list entry. */
    static final int DROP_NAME_CREDITS = 1 + OrphanList.ADD_CREDITS;

    /**
     * A name of {@code rec} went away other than by {@link #unlink} (rename over it, rmdir): it
     * loses the link (a directory all of its links, {@code clear_nlink}) and takes ctime {@code now};
     * at zero it joins the orphan list, to be evicted by the caller ({@link #evictNow}) unless it is
     * open, when its last close evicts it. Returns whether the caller must evict it now.
     */
    boolean dropName(Handle h, InodeRecord rec, Instant now) throws IOException {
        long ino = rec.number;
        int links = rec.isDirectory() ? 0 : Math.max(0, session.currentInode(ino).linksCount - 1);
        session.updateInode(h, ino, w -> w.linksCount(links).ctime(now.getEpochSecond(), now.getNano()));
        if (links == 0) {
            session.orphans.add(h, ino);
        }
        return links == 0 && !session.openFiles.containsKey(ino);
    }

    /**
     * The last {@link Ext4File} of inode {@code ino} has closed ({@code iput}): an inode with no link
     * left, unlinked while it was open, is evicted now.
     */
    void released(long ino) throws IOException {
        if (session.openFiles.containsKey(ino)) {
            return; // opened again meanwhile: that one's close decides
        }
        InodeRecord rec = volume.readInode(ino);
        if (rec.linksCount != 0) {
            return;
        }
        checkEvictable(rec);
        evict(ino);
    }

    /**
     * What {@link #processOrphan} will do to orphan {@code rec}, checked without changing anything
     * (see {@link OrphanList#collect}): an inode without links must be evictable
     * ({@link #checkEvictable}); one with links is truncated to its size, which ext4j does for
     * extent- and block-mapped regular files (their blocks past the size checked as a truncate checks them).
     */
    void checkOrphan(InodeRecord rec) throws IOException {
        if (rec.linksCount == 0) {
            checkEvictable(rec);
            return;
        }
        if (!rec.isRegular() || rec.hasFlag(InodeRecord.FL_INLINE_DATA)) {
            throw new org.ext4j.error.UnsupportedFeatureException("orphan truncate", String.format("inode %d (mode 0%o,"
                    + " flags 0x%x) is on the orphan list with %d links; truncating anything but an extent- or"
                    + " block-mapped regular file is not implemented: run e2fsck", rec.number, rec.mode, rec.flags,
                    rec.linksCount));
        }
        int bs = sb.blockSize;
        long first = (rec.size + bs - 1) / bs;
        if (first < 1L << 32) {
            withMapper(rec, m -> m.checkRemovable(first, (1L << 32) - first));
        }
    }

    /**
     * {@code ext4_process_orphan}, for an orphan checked by {@link #checkOrphan}: one without links is
     * evicted ({@code iput}, leaving the list in eviction's last handle); one with links has its
     * blocks past i_size freed ({@code ext4_truncate}) and leaves the list with its i_dtime cleared.
     */
    void processOrphan(long ino) throws IOException {
        InodeRecord rec = volume.readInode(ino);
        if (rec.linksCount == 0) {
            evict(ino);
            return;
        }
        int bs = sb.blockSize;
        long first = (rec.size + bs - 1) / bs;
        if (first < 1L << 32) {
            withMapper(rec, m -> m.truncateBlocks(first));
        }
        try (Handle h = session.journal.start(OrphanList.DEL_CREDITS)) {
            session.orphans.remove(h, ino, true);
        }
    }

    private interface MapperUse {
        void run(BlockMapper m) throws IOException;
    }

    /** Runs {@code use} with a block mapper over a fresh in-memory inode of {@code rec} (no file is open on it). */
    private void withMapper(InodeRecord rec, MapperUse use) throws IOException {
        InodeState state = new InodeState(volume, rec);
        ExtentStatusTree es = new ExtentStatusTree(session.shrinker);
        try {
            use.run(new BlockMapper(volume, session.journal, session.allocator.blocks(), state, es, session.reservations));
        } finally {
            es.close();
        }
    }

    /** Writes inode {@code ino} with {@code n} links fewer and ctime {@code now}; returns the links left. */
    private int dropLinks(Handle h, long ino, int n, Instant now) throws IOException {
        InodeRecord rec = volume.readInode(ino); // an open file's in-memory inode writes every change through
        if (rec.linksCount < n) {
            // the kernel warns ("Deleting file with no links") and goes on; the count stays at zero
            n = rec.linksCount;
        }
        int links = rec.linksCount - n;
        session.updateInode(h, ino, w -> w.linksCount(links).ctime(now.getEpochSecond(), now.getNano()));
        return links;
    }

    /**
     * Everything {@link #evict} of {@code rec} will read or free, checked without changing anything:
     * the blocks it owns (the extent tree's extents and tree blocks, or the indirect map's data and
     * map blocks, none for inline data, and an xattr
     * block it holds the last reference to) are collected and verified (tree blocks and checksums as
     * they are read, the xattr block's header and checksum, no block owned twice), every one must be
     * in use in a valid block bitmap, and the inode in the inode bitmap. Damage found here refuses the
     * unlink before its first change.
     */
    void checkEvictable(InodeRecord rec) throws IOException {
        long ino = rec.number;
        java.util.List<long[]> owned = new java.util.ArrayList<>();
        if (truncates(rec)) {
            if (rec.hasFlag(InodeRecord.FL_EXTENTS)) {
                java.util.List<Long> treeBlocks = new java.util.ArrayList<>();
                ExtentTreeReader tree = new ExtentTreeReader(volume, ino, rec.iBlock(), rec.checksumSeed(sb));
                for (ExtentNode.Extent e : tree.allExtents(treeBlocks)) {
                    owned.add(new long[] {e.physical(), e.length()});
                }
                for (long b : treeBlocks) {
                    owned.add(new long[] {b, 1});
                }
            } else {
                for (long b : indirectBlocks(rec)) {
                    owned.add(new long[] {b, 1});
                }
            }
        }
        if (rec.fileAcl != 0 && XattrWriter.checkedRefcount(volume, ino, rec.fileAcl) == 1) {
            owned.add(new long[] {rec.fileAcl, 1});
        }
        owned.sort((a, b) -> Long.compare(a[0], b[0]));
        for (int i = 1; i < owned.size(); i++) {
            long[] prev = owned.get(i - 1);
            long[] cur = owned.get(i);
            if (cur[0] < prev[0] + prev[1]) {
                throw CorruptionException.of(Kind.BAD_INODE).inode(ino).block(cur[0])
                        .build("block " + cur[0] + " is owned twice by the inode (its extents, map or xattr block overlap)");
            }
        }
        for (long[] r : owned) {
            session.allocator.blocks().checkFree(r[0], r[1]);
        }
        session.allocator.inodes().checkFree(ino, rec.isDirectory());
        xattrs().checkDeleteInode(rec); // the value inodes its attributes name (ea_inode)
    }

    private XattrWriter xattrs() {
        return new XattrWriter(volume, session.allocator.blocks(), session.allocator.inodes())
                .reproducible(clock, session.deterministic);
    }

    /**
     * Whether eviction truncates the inode: {@code ext4_truncate} runs when i_blocks is not zero, and
     * does something for the types {@code ext4_can_truncate} accepts: not for a fast symlink, even one
     * with an xattr block.
     */
    private boolean truncates(InodeRecord rec) {
        int type = rec.type();
        if (rec.hasFlag(InodeRecord.FL_INLINE_DATA)) {
            return false; // no blocks but an xattr block; its data stays in the freed inode, as the kernel leaves it
        }
        return rec.blocks512(sb) != 0 && (type == InodeRecord.S_IFREG || type == InodeRecord.S_IFDIR
                || type == InodeRecord.S_IFLNK && !isFastSymlink(rec));
    }

    private boolean isFastSymlink(InodeRecord rec) {
        long eaBlocks512 = rec.fileAcl != 0 ? sb.blockSize / 512 : 0;
        // ext4_inode_is_fast_symlink: never an inline one
        return rec.isSymlink() && !rec.hasFlag(InodeRecord.FL_INLINE_DATA) && rec.blocks512(sb) - eaBlocks512 == 0;
    }

    /**
     * Evicts inode {@code ino}, whose links are gone and which no file holds open (a removed
     * directory, a file renamed over), after {@link #checkEvictable}.
     */
    void evictNow(long ino) throws IOException {
        evict(ino);
    }

    /** {@code ext4_evict_inode} of an inode with no links left and no open file, checked by {@link #checkEvictable}. */
    private void evict(long ino) throws IOException {
        InodeRecord rec = volume.readInode(ino);
        session.mayInline.remove(ino);
        long eaBlocks512 = rec.fileAcl != 0 ? sb.blockSize / 512 : 0;
        boolean fastSymlink = isFastSymlink(rec);
        boolean truncate = truncates(rec);
        if (truncate) {
            freeBlocks(rec);
            rec = volume.readInode(ino);
        }
        Instant now = clock.instant();
        byte[] raw = rec.raw();
        InodeWriter w = new InodeWriter(sb, ino, raw);
        if (fastSymlink) {
            w.iBlock(new byte[InodeRecord.I_BLOCK_SIZE]);
        }
        if (truncate) {
            w.size(0).mtime(now.getEpochSecond(), now.getNano()).ctime(now.getEpochSecond(), now.getNano());
        }
        XattrWriter xattrs = xattrs();
        XattrWriter.ValueRefs valueRefs = xattrs.checkDeleteInode(rec);
        try (Handle h = session.journal.start(EVICT_CREDITS + OrphanList.DEL_CREDITS + XattrWriter.credits(sb, 0))) {
            session.orphans.remove(h, ino, false); // ext4_orphan_del; i_dtime is written below
            long blocks = rec.blocks512(sb);
            // ext4_xattr_delete_inode: value inodes lose this inode's references, and its i_blocks their charge
            xattrs.deleteInode(h, valueRefs, now);
            blocks -= valueRefs.charged512();
            if (rec.fileAcl != 0) {
                XattrWriter.releaseBlock(volume, session.allocator.blocks(), h, ino, rec.fileAcl);
                w.fileAcl(0);
                blocks -= eaBlocks512;
            }
            w.blocks512(Math.max(0, blocks)).dtime(now.getEpochSecond() & 0xFFFFFFFFL).setChecksum();
            volume.writeInode(h, ino, raw);
            session.allocator.inodes().free(h, ino, rec.isDirectory());
        }
    }

    /**
     * The extent tree's blocks or the indirect map's ({@code ext4_ind_truncate}), freed by the block
     * mapper's truncate path (handles bounded by credits; for a map, the map written first, then the
     * blocks freed, so a crash in between leaks blocks and never leaves one both free and mapped).
     */
    private void freeBlocks(InodeRecord rec) throws IOException {
        withMapper(rec, m -> m.truncateBlocks(0));
    }

    /**
     * Every block of an indirect map, data and map blocks, sorted, as eviction's truncate will free
     * them ({@link IndirectMapWriter#blocksToFree}): bounded by i_blocks, each checked against the
     * file system's size and the system zone, a block named twice refused.
     */
    private long[] indirectBlocks(InodeRecord rec) throws IOException {
        long limit = rec.blocks512(sb) / (sb.blockSize / 512); // the inode's own count bounds the walk
        return new IndirectMapWriter(volume, session.allocator.blocks(), rec.number, rec.iBlock(), 0)
                .blocksToFree(0, 1L << 32, limit);
    }
}
