package org.ext4j.fs;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;

import org.ext4j.alloc.BlockAllocator;
import org.ext4j.alloc.InodeAllocator;
import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.extents.ExtentTreeReader;
import org.ext4j.extentstatus.ExtentStatusTree;
import org.ext4j.format.Crc32c;
import org.ext4j.format.ExtentNode;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.format.XattrEntry;
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
 * handles) or its indirect map freed; the external xattr block loses a reference
 * ({@code h_refcount}), and is freed with its last; then i_file_acl and i_blocks become 0, i_dtime
 * is set and the inode is freed in the inode bitmap. Mode, flags, generation, device numbers, a
 * fast symlink's size and an empty or sparse file's size stay, as the kernel leaves them.
 *
 * <p><b>Open files</b>: an {@link Ext4File}'s in-memory inode ({@link InodeState}) owns every byte of
 * the on-disk inode while it is open and writes them all back, so a link dropped on disk would come
 * back at its next writeback. Unlinking an open inode therefore removes the name at once and
 * records the dropped link in {@link WriteSession#deferredUnlinks}; the link count, ctime and, at
 * zero, the eviction are applied when the last {@code Ext4File} closes ({@link #released}). Until
 * then the on-disk count is the old one ({@link Ext4FileSystem#stat} reports the new one); a crash
 * before the close leaves an inode that e2fsck reconnects to lost+found, where the kernel's orphan
 * list would free it.
 *
 * <p>The caller holds {@link WriteSession#namespaceLock}.
 */
final class Unlinker {
    /** Credits of the final handle of an eviction: inode table block, xattr block or its free, inode bitmap and descriptor. */
    private static final int EVICT_CREDITS = 1 + BlockAllocator.FREE_CREDITS_PER_GROUP + InodeAllocator.FREE_CREDITS;
    /** Credits per handle while freeing an indirect map's blocks. */
    private static final int FREE_BATCH_CREDITS = 64;

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
     * Removes {@code name} (naming {@code child}, not a directory) from directory {@code parent}, drops
     * one link and, at zero, frees the inode unless it is open.
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
        try (Handle h = session.journal.start(DirectoryWriter.REMOVE_CREDITS + 1)) {
            dirs.removeEntry(h, parent, name);
            if (open) {
                session.deferredUnlinks.merge(ino, 1, Integer::sum);
                return;
            }
            links = dropLinks(h, ino, 1, now);
        }
        if (links == 0) {
            evict(ino);
        }
    }

    /**
     * The last {@link Ext4File} of inode {@code ino} has closed: applies the links unlinked while it
     * was open, and evicts the inode when none is left.
     */
    void released(long ino) throws IOException {
        Integer drops = session.deferredUnlinks.get(ino);
        if (drops == null || session.openFiles.containsKey(ino)) {
            return; // nothing unlinked, or opened again by a remaining name: that one's close applies them
        }
        InodeRecord rec = volume.readInode(ino);
        if (rec.linksCount <= drops) {
            checkEvictable(rec);
        }
        session.deferredUnlinks.remove(ino);
        int links;
        try (Handle h = session.journal.start(1)) {
            links = dropLinks(h, ino, drops, clock.instant());
        }
        if (links == 0) {
            evict(ino);
        }
    }

    /** Writes inode {@code ino} with {@code n} links fewer and ctime {@code now}; returns the links left. */
    private int dropLinks(Handle h, long ino, int n, Instant now) throws IOException {
        InodeRecord rec = volume.readInode(ino);
        if (rec.linksCount < n) {
            // the kernel warns ("Deleting file with no links") and goes on; the count stays at zero
            n = rec.linksCount;
        }
        int links = rec.linksCount - n;
        byte[] raw = rec.raw();
        new InodeWriter(sb, ino, raw).linksCount(links).ctime(now.getEpochSecond(), now.getNano()).setChecksum();
        volume.writeInode(h, ino, raw);
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
        if (rec.fileAcl != 0 && readXattrRefcount(ino, rec.fileAcl) == 1) {
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
            if (rec.hasFlag(InodeRecord.FL_EXTENTS)) {
                freeExtentTree(rec);
            } else {
                freeIndirectMap(rec);
            }
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
        try (Handle h = session.journal.start(EVICT_CREDITS)) {
            long blocks = rec.blocks512(sb);
            if (rec.fileAcl != 0) {
                releaseXattrBlock(h, ino, rec.fileAcl);
                w.fileAcl(0);
                blocks -= eaBlocks512;
            }
            w.blocks512(Math.max(0, blocks)).dtime(now.getEpochSecond() & 0xFFFFFFFFL).setChecksum();
            volume.writeInode(h, ino, raw);
            session.allocator.inodes().free(h, ino, rec.isDirectory());
        }
    }

    /** The extent tree's blocks, freed by the block mapper's truncate path (handles bounded by credits). */
    private void freeExtentTree(InodeRecord rec) throws IOException {
        InodeState state = new InodeState(volume, rec);
        ExtentStatusTree es = new ExtentStatusTree(session.shrinker);
        try {
            new BlockMapper(volume, session.journal, session.allocator.blocks(), state, es, session.reservations)
                    .truncateBlocks(0);
        } finally {
            es.close();
        }
    }

    /**
     * The blocks of an indirect (ext2/ext3) block map, as {@code ext4_ind_truncate} frees them: every
     * block, data and map, is collected first (bounded by i_blocks, each range-checked, a block named
     * twice refused before anything changes); the inode is written without them; then they are freed.
     * A crash in between leaks blocks, never leaves one both free and referenced.
     */
    private void freeIndirectMap(InodeRecord rec) throws IOException {
        long ino = rec.number;
        int per512 = sb.blockSize / 512;
        long[] blocks = indirectBlocks(rec);
        try (Handle h = session.journal.start(1)) {
            byte[] raw = rec.raw();
            long left = Math.max(0, rec.blocks512(sb) - (long) blocks.length * per512);
            new InodeWriter(sb, ino, raw).iBlock(new byte[InodeRecord.I_BLOCK_SIZE]).blocks512(left).setChecksum();
            volume.writeInode(h, ino, raw);
        }
        int i = 0;
        while (i < blocks.length) {
            try (Handle h = session.journal.start(FREE_BATCH_CREDITS)) {
                int used = 0;
                while (i < blocks.length) {
                    int j = i + 1;
                    while (j < blocks.length && blocks[j] == blocks[j - 1] + 1) {
                        j++;
                    }
                    long start = blocks[i];
                    long len = j - i;
                    long groups = (start + len - 1 - sb.firstDataBlock) / sb.blocksPerGroup
                            - (start - sb.firstDataBlock) / sb.blocksPerGroup + 1;
                    int cost = (int) Math.min(Integer.MAX_VALUE / 2, groups * BlockAllocator.FREE_CREDITS_PER_GROUP);
                    if (used > 0 && used + cost > FREE_BATCH_CREDITS) {
                        break;
                    }
                    if (cost > FREE_BATCH_CREDITS) {
                        len = (long) (FREE_BATCH_CREDITS / BlockAllocator.FREE_CREDITS_PER_GROUP - 1) * sb.blocksPerGroup;
                        j = i + (int) len;
                        cost = FREE_BATCH_CREDITS;
                    }
                    for (long b = start; b < start + len; b++) {
                        volume.bufferCache().forget(b); // map blocks were read through the cache
                    }
                    session.allocator.blocks().free(h, start, len);
                    used += cost;
                    i = j;
                }
            }
        }
    }

    /**
     * Every block of an indirect map, data and map blocks, sorted: bounded by i_blocks, each
     * checked against the file system's size and the system zone, a block named twice refused.
     */
    private long[] indirectBlocks(InodeRecord rec) throws IOException {
        long ino = rec.number;
        long limit = rec.blocks512(sb) / (sb.blockSize / 512); // the inode's own count bounds the walk
        long[] found = new long[(int) Math.min(limit, 1 << 20)];
        int[] n = {0};
        byte[] iBlock = rec.iBlock();
        long per = sb.blockSize / 4;
        long base = 0; // first logical block under i_block[i]
        for (int i = 0; i < 15; i++) {
            long p = Le.u32(iBlock, i * 4);
            int level = i < 12 ? 0 : i - 11;
            if (p != 0) {
                found = collect(ino, p, level, base, found, n, limit);
            }
            base += level == 0 ? 1 : level == 1 ? per : level == 2 ? per * per : 0;
        }
        long[] blocks = Arrays.copyOf(found, n[0]);
        Arrays.sort(blocks);
        for (int i = 1; i < blocks.length; i++) {
            if (blocks[i] == blocks[i - 1]) {
                throw CorruptionException.of(Kind.BAD_INDIRECT_MAP).inode(ino).block(blocks[i])
                        .build("block " + blocks[i] + " appears twice in the block map");
            }
        }
        return blocks;
    }

    /**
     * Adds block {@code p} and, for a map block of {@code level} (1 single, 2 double, 3 triple),
     * everything below it. {@code base} is the first logical block under {@code p}; every block is
     * checked against the file system's size and the system zone before it is read or counted, so a
     * map pointing into metadata is refused before anything is freed ({@code ext4_check_blockref}).
     */
    private long[] collect(long ino, long p, int level, long base, long[] found, int[] n, long limit) throws IOException {
        volume.checkFileBlocks(ino, base, p, 1, level > 0 ? "indirect block" : "file data");
        if (n[0] >= limit) {
            throw CorruptionException.of(Kind.BAD_INDIRECT_MAP).inode(ino).block(p)
                    .build("the block map names more blocks than i_blocks counts (" + limit + ")");
        }
        if (n[0] == found.length) {
            found = Arrays.copyOf(found, (int) Math.min(limit, (long) found.length * 2 + 16));
        }
        found[n[0]++] = p;
        if (level > 0) {
            byte[] map = volume.readBlock(p, ino);
            long span = 1; // logical blocks under one pointer of this block
            for (int k = 1; k < level; k++) {
                span *= sb.blockSize / 4;
            }
            for (int off = 0; off + 4 <= map.length; off += 4) {
                long q = Le.u32(map, off);
                if (q != 0) {
                    found = collect(ino, q, level - 1, base + (off / 4) * span, found, n, limit);
                }
            }
        }
        return found;
    }

    /**
     * {@code ext4_xattr_release_block}: the block loses this inode's reference; the last one frees it
     * (and drops any pending write of it), others leave it with the count one lower and its checksum
     * set again.
     */
    private void releaseXattrBlock(Handle h, long ino, long blk) throws IOException {
        MetaBuffer b = volume.buffer(blk, ino);
        long ref = readXattrRefcount(ino, blk);
        if (ref == 1) {
            volume.bufferCache().forget(blk);
            session.allocator.blocks().free(h, blk, 1);
            return;
        }
        h.getWriteAccess(b);
        b.lock().lock();
        try {
            byte[] data = b.data();
            Le.put32(data, 4, ref - 1);
            if (sb.hasMetadataCsum()) {
                Le.put32(data, 0x10, xattrBlockChecksum(data, blk));
            }
        } finally {
            b.lock().unlock();
        }
        h.markDirty(b);
    }

    /** The xattr block's {@code h_refcount}, its header and checksum verified; a count of 0 is corruption. */
    private long readXattrRefcount(long ino, long blk) throws IOException {
        volume.checkFileBlocks(ino, -1, blk, 1, "xattr block"); // never free or rewrite metadata
        byte[] bytes = volume.readBlock(blk, ino);
        XattrEntry.checkBlockHeader(bytes, ino, blk);
        if (sb.hasMetadataCsum()) {
            XattrEntry.verifyBlock(sb, bytes, ino, blk);
        }
        long ref = Le.u32(bytes, 4);
        if (ref == 0) {
            throw CorruptionException.of(Kind.BAD_XATTR).inode(ino).block(blk).offset(4)
                    .build("xattr block has a reference count of 0 but inode " + ino + " refers to it");
        }
        return ref;
    }

    /** {@code ext4_xattr_block_csum}: crc32c of the block number and the block with h_checksum as zero. */
    private long xattrBlockChecksum(byte[] b, long blk) {
        int crc = Crc32c.updateLe64(sb.checksumSeedValue(), blk);
        crc = Crc32c.update(crc, b, 0, 0x10);
        crc = Crc32c.updateZeros(crc, 4);
        crc = Crc32c.update(crc, b, 0x14, b.length - 0x14);
        return crc & 0xFFFFFFFFL;
    }
}
