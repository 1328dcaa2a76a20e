package org.ext4j.fs;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.extents.BlockMap;
import org.ext4j.format.Features;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Le;
import org.ext4j.format.OrphanBlock;
import org.ext4j.format.Superblock;
import org.ext4j.inode.Inode;
import org.ext4j.txn.Handle;
import org.ext4j.volume.Volume;

/**
 * The orphan list ({@code fs/ext4/orphan.c}): inodes that lost their last name while still open (or
 * while their eviction runs), recorded on disk so that a crash before they are freed leaves them to
 * be freed at the next read-write open ({@link #cleanup}, {@code ext4_orphan_cleanup}) or by e2fsck,
 * instead of leaking them.
 *
 * <p>Two on-disk forms, as the kernel keeps them:
 * <ul>
 * <li>the <b>classic list</b> ({@code ext4_orphan_add} / {@code ext4_orphan_del}): a singly linked
 * list from the superblock's {@code s_last_orphan} through each inode's i_dtime (the next orphan's
 * number; 0 ends it). An inode joins at the head; leaving, its predecessor (the superblock or the
 * previous inode) takes its successor. The chain is mirrored in memory ({@code sbi->s_orphan}), so
 * removal never walks the disk;</li>
 * <li>the <b>orphan file</b> (compat feature orphan_file, {@code ext4_orphan_file_add} /
 * {@code ext4_orphan_file_del}): the blocks of inode {@code s_orphan_file_inum} hold slots of inode
 * numbers ({@link OrphanBlock}); an orphan takes the first free slot and leaves it zero again, with
 * the block's checksum recomputed. A full orphan file falls back to the classic list, as the kernel's
 * does. While a session changes an image with orphan_file the read-only-compatible flag
 * orphan_present is set (the kernel's {@code ext4_setup_super}) and cleared at a clean close when the
 * file is empty ({@code ext4_put_super}), so e2fsck knows to look in the file.</li>
 * </ul>
 *
 * <p>Unlike the kernel, which keeps orphans only with a journal, ext4j keeps them without one too:
 * its eviction spans several handles, and an open unlinked inode spans the session.
 *
 * <p>Thread-safe: its own monitor guards the list and the on-disk links it writes (callers hold
 * the inode locks of the inode joining or leaving, never of its neighbours on the list).
 */
final class OrphanList {
    /** Buffers {@link #add} dirties: the superblock and the inode's table block, or one orphan file block. */
    static final int ADD_CREDITS = 2;
    /** Buffers {@link #remove} dirties: the superblock or the predecessor's table block, and the inode's. */
    static final int DEL_CREDITS = 2;
    /** {@code s_last_orphan}. */
    private static final int S_LAST_ORPHAN = 0xE8;

    private final WriteSession session;
    private final Volume volume;
    private final Superblock sb;
    /** The classic list as on disk, head (the superblock's {@code s_last_orphan}) first. */
    private final List<Long> chain = new ArrayList<>();
    /** The orphan file's blocks by physical number, in file order; empty without orphan_file. */
    private final long[] fileBlocks;
    private final int[] freeSlots;
    private final int slotsPerBlock;
    private final int fileSeed;
    private final long fileIno;
    /** Orphans in the orphan file: inode to slot index (block * slotsPerBlock + slot). */
    private final Map<Long, Integer> inFile = new HashMap<>();

    private OrphanList(WriteSession session, long[] fileBlocks, int[] freeSlots, int fileSeed, long fileIno) {
        this.session = session;
        this.volume = session.volume;
        this.sb = volume.superblock();
        this.fileBlocks = fileBlocks;
        this.freeSlots = freeSlots;
        this.slotsPerBlock = OrphanBlock.slots(volume.blockSize());
        this.fileSeed = fileSeed;
        this.fileIno = fileIno;
    }

    /**
     * {@code ext4_init_orphan_info}: the orphan file's blocks and their free slots (their magic and
     * checksums were verified by {@link MountChecks} at open and are verified again as read). Reads
     * only.
     */
    static OrphanList load(WriteSession session) throws IOException {
        Volume volume = session.volume;
        Superblock sb = volume.superblock();
        if (!sb.hasCompat(Features.COMPAT_ORPHAN_FILE)) {
            return new OrphanList(session, new long[0], new int[0], 0, 0);
        }
        long ino = sb.orphanFileInum;
        Inode file = Inode.load(volume, ino);
        int bs = volume.blockSize();
        int n = (int) (file.size() / bs); // at most 512 blocks (MountChecks)
        long[] blocks = new long[n];
        int[] free = new int[n];
        int seed = file.record().checksumSeed(sb);
        for (int i = 0; i < n; i++) {
            BlockMap.Mapping m = file.map(i, 1);
            if (m.state() != BlockMap.State.WRITTEN) {
                throw CorruptionException.of(Kind.BAD_INODE).inode(ino)
                        .build("ext4_init_orphan_info: orphan file block " + i + " is not written (" + m.state() + ")");
            }
            blocks[i] = m.physical();
            byte[] b = volume.readBlock(blocks[i], ino);
            checkBlock(sb, ino, i, blocks[i], b, seed);
            for (int j = 0; j < OrphanBlock.slots(bs); j++) {
                if (OrphanBlock.slot(b, j) == 0) {
                    free[i]++;
                }
            }
        }
        return new OrphanList(session, blocks, free, seed, ino);
    }

    private static void checkBlock(Superblock sb, long ino, int i, long pblk, byte[] b, int seed) throws CorruptionException {
        if (OrphanBlock.magic(b) != OrphanBlock.MAGIC) {
            throw CorruptionException.of(Kind.BAD_INODE).inode(ino).block(pblk).offset(b.length - OrphanBlock.TAIL_SIZE)
                    .build(String.format("orphan file block %d: bad magic 0x%08x", i, OrphanBlock.magic(b)));
        }
        if (sb.hasMetadataCsum()) {
            long stored = OrphanBlock.storedChecksum(b);
            long computed = OrphanBlock.computeChecksum(seed, pblk, b);
            if (stored != computed) {
                throw CorruptionException.of(Kind.CHECKSUM).inode(ino).block(pblk).offset(b.length - 4)
                        .checksum("orphan file block " + i, stored, computed);
            }
        }
    }

    /** Whether the image keeps an orphan file (compat orphan_file). */
    boolean hasFile() {
        return sb.hasCompat(Features.COMPAT_ORPHAN_FILE);
    }

    /** Whether no orphan is recorded, in the list or in the file ({@code ext4_orphan_file_empty} and more). */
    synchronized boolean isEmpty() {
        return chain.isEmpty() && inFile.isEmpty();
    }

    synchronized boolean contains(long ino) {
        return inFile.containsKey(ino) || chain.contains(ino);
    }

    /**
     * {@code ext4_orphan_add}: records inode {@code ino}, which has just lost its last link, in
     * {@code h}: in the first orphan file block with a free slot, else at the head of the classic
     * list (its i_dtime takes the old head, through its open file's in-memory inode if it has one;
     * the superblock takes its number). An inode already recorded stays where it is.
     */
    synchronized void add(Handle h, long ino) throws IOException {
        if (contains(ino)) {
            return;
        }
        for (int i = 0; i < fileBlocks.length; i++) {
            if (freeSlots[i] == 0) {
                continue;
            }
            int slot = editFileBlock(h, i, b -> {
                for (int j = 0; j < slotsPerBlock; j++) {
                    if (OrphanBlock.slot(b, j) == 0) {
                        OrphanBlock.setSlot(b, j, ino);
                        return j;
                    }
                }
                return -1;
            });
            if (slot < 0) {
                throw new IllegalStateException("orphan file block " + i + " counted a free slot it does not have");
            }
            freeSlots[i]--;
            inFile.put(ino, i * slotsPerBlock + slot);
            return;
        }
        long next = chain.isEmpty() ? 0 : chain.get(0);
        session.updateInode(h, ino, w -> w.dtime(next));
        setHead(h, ino);
        chain.add(0, ino);
    }

    /**
     * {@code ext4_orphan_del}: inode {@code ino} leaves the orphan list in {@code h}: its slot of the
     * orphan file becomes 0, or its predecessor in the classic list (the superblock or an inode) takes
     * its successor. With {@code clearOwnLink} its own i_dtime becomes 0 (a truncated orphan that
     * keeps living); an eviction writes i_dtime itself in the same handle. Nothing for an inode not
     * recorded.
     */
    synchronized void remove(Handle h, long ino, boolean clearOwnLink) throws IOException {
        Integer idx = inFile.remove(ino);
        if (idx != null) {
            int i = idx / slotsPerBlock;
            int j = idx % slotsPerBlock;
            editFileBlock(h, i, b -> {
                OrphanBlock.setSlot(b, j, 0);
                return j;
            });
            freeSlots[i]++;
            return;
        }
        int pos = chain.indexOf(ino);
        if (pos < 0) {
            return;
        }
        long next = pos + 1 < chain.size() ? chain.get(pos + 1) : 0;
        if (pos == 0) {
            setHead(h, next);
        } else {
            session.updateInode(h, chain.get(pos - 1), w -> w.dtime(next));
        }
        chain.remove(pos);
        if (clearOwnLink) {
            session.updateInode(h, ino, w -> w.dtime(0));
        }
    }

    private void setHead(Handle h, long ino) throws IOException {
        volume.updateSuperblock(h, raw -> Le.put32(raw, S_LAST_ORPHAN, ino));
    }

    private interface SlotEdit {
        int apply(byte[] block);
    }

    /** Changes orphan file block {@code i} under its buffer lock and sets its checksum again. */
    private int editFileBlock(Handle h, int i, SlotEdit edit) throws IOException {
        MetaBuffer b = volume.buffer(fileBlocks[i], fileIno);
        h.getWriteAccess(b);
        int r;
        b.lock().lock();
        try {
            byte[] data = b.data();
            r = edit.apply(data);
            OrphanBlock.setChecksum(sb, fileSeed, fileBlocks[i], data);
        } finally {
            b.lock().unlock();
        }
        h.markDirty(b);
        return r;
    }

    // ------------------------------------------------------------------ cleanup at open

    /**
     * The orphans an earlier session (or the kernel) left: the classic list from
     * {@code s_last_orphan}, then every used slot of the orphan file, each checked as
     * {@code ext4_orphan_get} checks it (a number in {@code s_first_ino..s_inodes_count}, in use in
     * its inode bitmap) and never named twice (a cycle or a repeat); reads only. Damage refuses the
     * read-write open where the kernel would record an error and give up the rest of the list:
     * e2fsck is the tool to sort it out.
     */
    synchronized List<InodeRecord> collect() throws IOException {
        List<InodeRecord> found = new ArrayList<>();
        Set<Long> seen = new HashSet<>();
        long ino = sb.lastOrphan;
        while (ino != 0) {
            InodeRecord rec = orphanGet(ino, seen, "the orphan list");
            found.add(rec);
            chain.add(ino);
            ino = rec.dtime;
        }
        int bs = volume.blockSize();
        for (int i = 0; i < fileBlocks.length; i++) {
            byte[] b = volume.readBlock(fileBlocks[i], fileIno);
            checkBlock(sb, fileIno, i, fileBlocks[i], b, fileSeed);
            for (int j = 0; j < OrphanBlock.slots(bs); j++) {
                long o = OrphanBlock.slot(b, j);
                if (o != 0) {
                    found.add(orphanGet(o, seen, "orphan file block " + i + " slot " + j));
                    inFile.put(o, i * slotsPerBlock + j);
                }
            }
        }
        return found;
    }

    private InodeRecord orphanGet(long ino, Set<Long> seen, String where) throws IOException {
        if (ino < sb.firstIno || ino > sb.inodesCount) {
            throw CorruptionException.of(Kind.BAD_INODE_NUMBER).inode(ino)
                    .build("ext4_orphan_get: bad orphan inode " + ino + " in " + where + " (not in " + sb.firstIno + ".."
                            + sb.inodesCount + "): run e2fsck");
        }
        if (!seen.add(ino)) {
            throw CorruptionException.of(Kind.BAD_INODE).inode(ino)
                    .build("ext4_orphan_get: orphan inode " + ino + " is named twice (" + where + "): run e2fsck");
        }
        InodeRecord rec = volume.readInode(ino);
        try {
            session.allocator.inodes().checkFree(ino, rec.isDirectory()); // in use in its bitmap
        } catch (CorruptionException e) {
            throw CorruptionException.of(Kind.BAD_INODE).inode(ino)
                    .build("ext4_orphan_get: bad orphan inode " + ino + " (" + where + "): " + e.getMessage() + ": run e2fsck");
        }
        return rec;
    }
}
