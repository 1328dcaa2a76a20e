package org.ext4j.namespace;

import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

import org.ext4j.buffer.MetaBuffer;
import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.error.WrongTypeException;
import org.ext4j.extents.BlockMap;
import org.ext4j.extents.BlockMap.Mapping;
import org.ext4j.format.DirEntry;
import org.ext4j.format.DxHash;
import org.ext4j.format.DxNode;
import org.ext4j.format.Features;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.inode.Inode;
import org.ext4j.volume.Volume;

/**
 * Reading directories: linear blocks, htree-indexed blocks, and inline directories
 * ({@code fs/ext4/dir.c}: {@code ext4_readdir}, {@code ext4_dx_readdir}; {@code namei.c}:
 * {@code __ext4_read_dirblock}, {@code dx_probe}, {@code ext4_htree_fill_tree},
 * {@code __ext4_find_entry}; {@code inline.c}). Listing and lookup read a directory the same way and
 * check it the same way, so a name is listed exactly when it can be looked up.
 *
 * <p><b>What is checked</b>, and whose rule it is:
 * <ul>
 * <li>i_size (the kernel's {@code ext4_isize}: i_size_high counts only with large_dir) must be a
 * positive multiple of the block size (e2fsck pass 1; the kernel reads such a directory up to
 * i_size, listing "." alone for {@code i_size 2}, and refuses to mount a root of i_size 0). An
 * indexed directory on a file system without dir_index is refused with metadata_csum
 * ({@code __ext4_iget}) and read as a linear one without.
 * <li>Block 0 holds "." and "..": a hole there is corruption ({@code __ext4_read_dirblock}, "the
 * first directory block must not be a hole"). Other holes in a linear directory hold no entries
 * (the kernel allows directory holes).
 * <li>Every record passes {@code __ext4_check_dir_entry} ({@link DirEntry#walk}); with metadata_csum
 * every leaf block must end in a checksum tail that matches ({@code ext4_dirblock_csum_verify}:
 * a block without one fails to read).
 * <li>"." is the first record of block 0 and names the directory itself, ".." the second; no other
 * live record is named "." or "..", and none names the directory itself. The kernel does not check
 * these on readdir (its lookup refuses a name linked to its own directory); e2fsck pass 2 does
 * ({@code check_dot}, {@code check_dotdot}, duplicate '.'/'..' entries, {@code PR_2_LINK_DOT}), and
 * ext4j follows e2fsck, because such a record hides or loops a tree.
 * <li>In an indexed directory, every index block on the way is checked as {@code dx_probe} checks it
 * ({@link DxNode#readRoot}, {@link DxNode#readNode}: checksum, hash version, flags, depth, limit,
 * count, hash order), and every block the index points at must not be an ancestor (a cycle), must
 * lie inside i_size and be mapped (the kernel fails the read of a block past i_size or in a hole),
 * and (when listing, which sees the whole index) must be pointed at only once (e2fsck's "referenced
 * twice": the kernel lists that leaf twice and loses the one no longer pointed at).
 * </ul>
 *
 * <p><b>Listing an indexed directory</b> first reads every index block (the root and interior
 * nodes, a few per thousand blocks) and checks the index as a whole; then it yields "." and ".."
 * from the root and the records of each leaf in the index's order, as {@code ext4_dx_readdir} sees
 * the same leaves (in hash order it sorts by; ext4j keeps each leaf's on-disk order). A malformed
 * index ({@link Kind#BAD_HTREE}: the kernel's {@code ERR_BAD_DX_DIR}) is found before anything is
 * yielded, and the directory is then read linearly, skipping the index blocks, as the kernel falls
 * back on listing and on lookup alike. A failed checksum or a hole is never a reason to fall back.
 *
 * <p>Listing streams: per record it allocates the name and the record it yields, nothing else.
 */
public final class Directory {
    private static final int INLINE_DOTDOT_SIZE = 4;

    private final Volume volume;
    private final Inode dir;
    private final Superblock sb;
    private final long ino;
    private final int bs;
    private final boolean fileType;
    private final boolean csum;
    private final int seed;
    /** Blocks of a block-based directory ({@code i_size >> blocksize_bits}); 0 for an inline one. */
    private final long blocks;
    /** {@code is_dx}: the index flag, on a file system with dir_index. */
    private final boolean indexed;
    private final int maxLevels;

    /**
     * A reader of directory {@code dir}. Checks what the inode alone tells: the type, i_size, and
     * the index flag against the file system's features.
     */
    public Directory(Volume volume, Inode dir) throws WrongTypeException, CorruptionException {
        InodeRecord rec = dir.record();
        if (!rec.isDirectory()) {
            throw new WrongTypeException("inode " + dir.number() + " is not a directory");
        }
        this.volume = volume;
        this.dir = dir;
        this.sb = volume.superblock();
        this.ino = dir.number();
        this.bs = volume.blockSize();
        this.fileType = sb.hasIncompat(Features.INCOMPAT_FILETYPE);
        this.csum = sb.hasMetadataCsum();
        this.seed = rec.checksumSeed(sb);
        this.maxLevels = sb.hasIncompat(Features.INCOMPAT_LARGEDIR) ? DxNode.MAX_LEVELS_LARGEDIR : DxNode.MAX_LEVELS;
        boolean dirIndex = sb.hasCompat(Features.COMPAT_DIR_INDEX);
        if (dir.isInline()) {
            this.blocks = 0;
            this.indexed = false;
            return;
        }
        this.blocks = blocks(sb, rec);
        this.indexed = rec.hasFlag(InodeRecord.FL_INDEX) && dirIndex;
    }

    /**
     * The blocks of a block-based (not inline) directory, from its inode alone: i_size must be a
     * positive multiple of the block size, and an index flag on a file system without dir_index is
     * refused with metadata_csum, as {@code __ext4_iget} refuses it.
     */
    static long blocks(Superblock sb, InodeRecord rec) throws CorruptionException {
        int bs = sb.blockSize;
        long size = rec.size; // as ext4_isize reads it (InodeRecord)
        if (size == 0 || size % bs != 0) {
            throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(rec.number)
                    .build("directory i_size " + size + " is not a positive multiple of the block size " + bs);
        }
        if (rec.hasFlag(InodeRecord.FL_INDEX) && !sb.hasCompat(Features.COMPAT_DIR_INDEX) && sb.hasMetadataCsum()) {
            throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(rec.number)
                    .build("indexed directory on a file system without dir_index (with metadata_csum)");
        }
        return size / bs;
    }

    public Inode inode() {
        return dir;
    }

    /** Every live entry, "." and ".." included: in block order, or for an htree in its index's order. */
    public List<DirEntry> list() throws IOException {
        List<DirEntry> out = new ArrayList<>();
        forEach(e -> {
            out.add(e);
            return true;
        });
        return out;
    }

    /** Streams live entries to {@code v} until it returns false. */
    public void forEach(DirEntry.Visitor v) throws IOException {
        Checker c = new Checker(v);
        if (dir.isInline()) {
            forEachInline(c);
        } else if (indexed && probeUsable()) {
            walkIndex(null); // the whole index, before anything is yielded: damage anywhere is reported
            walkIndex(c);
        } else {
            forEachLinear(c);
        }
    }

    /**
     * {@code ext4_dx_readdir}'s first step, {@code dx_probe} for hash 0: the root and the leftmost
     * path down to the leaves. False when the kernel's probe gives up ({@code ERR_BAD_DX_DIR}:
     * {@link Kind#BAD_HTREE}); the kernel then lists the directory linearly, and so does this.
     * Damage anywhere else in the index is not read around: the kernel's listing walks it without
     * these checks and loses or repeats names, so ext4j reports it instead.
     */
    private boolean probeUsable() throws IOException {
        try {
            long pblk = physical(0, "the htree root");
            byte[] b = volume.readBlock(pblk, ino);
            DxNode node = DxNode.readRoot(b, bs, csum, seed, maxLevels, ino, pblk);
            int levels = DxNode.rootInfo(b).indirectLevels();
            long[] path = new long[levels + 1];
            for (int level = 0; level < levels; level++) {
                long child = node.block(0);
                checkChild(child, path, level);
                path[level + 1] = child;
                node = indexNode(child);
            }
            checkChild(node.block(0), path, levels);
            return true;
        } catch (CorruptionException e) {
            if (e.kind() != Kind.BAD_HTREE) {
                throw e;
            }
            return false;
        }
    }

    /**
     * Walks the index from the root: with {@code c} null, reads and checks every index block and
     * every pointer (none pointed at twice); with a checker, yields "." and ".." from the root, then
     * every leaf's records in the index's order.
     */
    private void walkIndex(Checker c) throws IOException {
        long pblk = physical(0, "the htree root");
        byte[] b = volume.readBlock(pblk, ino);
        DxNode root = DxNode.readRoot(b, bs, csum, seed, maxLevels, ino, pblk);
        int levels = DxNode.rootInfo(b).indirectLevels();
        if (c != null) {
            c.version = hashVersion(b);
            c.block(0, pblk);
            DirEntry.walk(b, 0, bs, bs, fileType, sb.inodesCount, ino, pblk, c);
            c.endBlock();
            if (c.stopped) {
                return;
            }
        }
        walkEntries(root, 0, levels, new long[levels + 1], c == null ? new BitSet() : null, c);
    }

    private void walkEntries(DxNode node, int level, int levels, long[] path, BitSet seen, Checker c)
            throws IOException {
        for (int i = 0; i < node.count(); i++) {
            long child = node.block(i);
            checkChild(child, path, level);
            if (seen != null) {
                if (seen.get((int) child)) {
                    // not a fallback: the lookups, which see one path, would still use the index
                    // and miss the names of the leaf no longer pointed at (so does the kernel)
                    throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(ino)
                            .build("the htree points at directory block " + child + " more than once");
                }
                seen.set((int) child);
            }
            if (level < levels) {
                path[level + 1] = child;
                walkEntries(indexNode(child), level + 1, levels, path, seen, c);
            } else if (c != null) {
                long pblk = physical(child, "an htree leaf");
                // e2fsck's min/max hash rule: each name hashes into the range its index entry gives the leaf
                c.hashRange(i == 0 ? 0 : node.hash(i) & ~1L, i + 1 < node.count() ? node.hash(i + 1) & ~1L : 0xFFFFFFFEL);
                walkLeaf(volume.readBlock(pblk, ino), child, pblk, c);
                c.hashRange(-1, -1);
            }
            if (c != null && c.stopped) {
                return;
            }
        }
    }

    /**
     * A block an index entry at {@code level} points at: never one of the index blocks above it
     * ({@code path[0..level]}; the kernel's "tree cycle" check), never past i_size.
     */
    private void checkChild(long child, long[] path, int level) throws CorruptionException {
        for (int k = 0; k <= level; k++) {
            if (path[k] == child) {
                throw CorruptionException.of(Kind.BAD_HTREE).inode(ino).build("htree cycle: directory block "
                        + path[level] + " points back at directory block " + child);
            }
        }
        if (child >= blocks) {
            throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(ino).build("the htree points at directory block "
                    + child + ", past i_size (" + blocks + " blocks)");
        }
    }

    private DxNode indexNode(long lblk) throws IOException {
        long pblk = physical(lblk, "an htree node");
        return BlockCheck.node(ino, lblk, pblk).node(volume.buffer(pblk, ino),
                b -> DxNode.readNode(b, bs, csum, seed, ino, lblk, pblk));
    }

    /**
     * The physical block of directory block {@code lblk}, which must exist: inside i_size, and
     * mapped and written (the kernel's read of an htree block or of block 0 fails on a hole).
     */
    private long physical(long lblk, String what) throws IOException {
        if (lblk >= blocks) {
            throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(ino)
                    .build("directory block " + lblk + " (" + what + ") is past i_size (" + blocks + " blocks)");
        }
        Mapping m = dir.map(lblk, 1);
        if (m.state() != BlockMap.State.WRITTEN) {
            throw CorruptionException.of(Kind.BAD_DIRECTORY).inode(ino).build("directory block " + lblk + " ("
                    + what + ") is " + (m.state() == BlockMap.State.HOLE ? "a hole" : "unwritten"));
        }
        return m.physical();
    }

    /**
     * {@code ext4_readdir}'s linear walk, also the fallback for a malformed index: every mapped
     * block in order, block 0 first and never a hole; an indexed directory's root yields only "."
     * and "..", its interior index blocks nothing.
     */
    private void forEachLinear(Checker c) throws IOException {
        long lblk = 0;
        while (lblk < blocks && !c.stopped) {
            Mapping m = dir.map(lblk, blocks - lblk);
            if (m.state() != BlockMap.State.WRITTEN) {
                if (lblk == 0) {
                    physical(0, "\".\" and \"..\""); // throws: block 0 must hold them
                }
                lblk += m.length(); // holes and unwritten blocks hold no entries
                continue;
            }
            for (long i = 0; i < m.length() && !c.stopped; i++) {
                long l = lblk + i;
                long pblk = m.physical() + i;
                byte[] b = volume.readBlock(pblk, ino);
                if (indexed && l == 0) {
                    c.block(0, pblk); // the dx root: "." and "..", which spans the index
                    DirEntry.walk(b, 0, bs, bs, fileType, sb.inodesCount, ino, pblk, c);
                    c.endBlock();
                } else if (!(indexed && isDxNode(b))) {
                    walkLeaf(b, l, pblk, c);
                }
            }
            lblk += m.length();
        }
    }

    /** {@code is_dx_internal_node}: an empty record spanning the block. */
    private boolean isDxNode(byte[] b) {
        return Le.u32(b, 0) == 0 && DirEntry.recLenFromDisk(Le.u16(b, 4), bs) == bs;
    }

    /**
     * {@link #walkLeaf(byte[], long, long, Checker)} on a cached block, which a lookup searches
     * without checking again once a walk of the whole block, with the same hash range, passed
     * every check and the block has not changed since.
     */
    private void walkLeaf(MetaBuffer buf, long lblk, long pblk, Checker c) throws IOException {
        BlockCheck key = c.minHash < 0 ? BlockCheck.leaf(ino, lblk, pblk)
                : new BlockCheck(ino, lblk, pblk, c.minHash, c.maxHash, c.version);
        long version = buf.version();
        byte[] b = buf.snapshot();
        if (c.want != null && buf.verified(key) != null) {
            DirEntry e = DirEntry.find(b, 0, csum ? bs - DirEntry.TAIL_SIZE : bs, bs, fileType, c.want);
            if (e != null && !c.out.visit(e)) {
                c.stopped = true;
            }
            return;
        }
        walkLeaf(b, lblk, pblk, c);
        if (!c.stopped) {
            buf.setVerified(key, version, Boolean.TRUE);
        }
    }

    /**
     * Walks a leaf block (or a linear directory's block); with metadata_csum it must end in a
     * checksum tail that matches ({@code ext4_dirblock_csum_verify}).
     */
    private void walkLeaf(byte[] b, long lblk, long pblk, Checker c) throws IOException {
        int end = bs;
        if (csum) {
            if (!DirEntry.hasTail(b, bs)) {
                throw CorruptionException.of(Kind.CHECKSUM).inode(ino).block(pblk).offset(bs - DirEntry.TAIL_SIZE)
                        .build("directory block " + lblk + " has no checksum tail");
            }
            DirEntry.verifyTail(b, bs, seed, ino, pblk);
            end = bs - DirEntry.TAIL_SIZE;
        }
        c.block(lblk, pblk);
        DirEntry.walk(b, 0, end, bs, fileType, sb.inodesCount, ino, pblk, c);
        c.endBlock();
    }

    private void forEachInline(Checker c) throws IOException {
        byte[] data = dir.inlineData();
        if (data.length < InodeRecord.I_BLOCK_SIZE) {
            throw CorruptionException.of(Kind.BAD_INLINE_DATA).inode(ino).build("inline directory is too short");
        }
        long parent = Le.u32(data, 0);
        if (!c.out.visit(new DirEntry(ino, 12, new byte[] {'.'}, DirEntry.FT_DIR, -1))) {
            return;
        }
        if (!c.out.visit(new DirEntry(parent, 12, new byte[] {'.', '.'}, DirEntry.FT_DIR, 0))) {
            return;
        }
        c.block(-1, -1);
        DirEntry.walk(data, INLINE_DOTDOT_SIZE, InodeRecord.I_BLOCK_SIZE, bs, fileType, sb.inodesCount, ino, -1, c);
        if (!c.stopped && data.length > InodeRecord.I_BLOCK_SIZE) {
            DirEntry.walk(data, InodeRecord.I_BLOCK_SIZE, data.length, bs, fileType, sb.inodesCount, ino, -1, c);
        }
    }

    /**
     * Looks up one name; returns its entry or null. "." and ".." are read from block 0 alone, as
     * {@code __ext4_find_entry} does; other names through the index ({@code ext4_dx_find_entry}:
     * the probed leaf, then the leaves that continue its hash), or, for a linear directory or a
     * malformed index, by a scan of every block.
     */
    public DirEntry lookup(byte[] name) throws IOException {
        DirEntry[] found = {null};
        Checker c = new Checker(e -> {
            if (e.nameEquals(name)) {
                found[0] = e;
                return false;
            }
            return true;
        });
        c.want = name;
        if (dir.isInline()) {
            forEachInline(c);
            return found[0];
        }
        if (isDotName(name)) {
            return lookupDot(name);
        }
        if (indexed) {
            if (dxLookup(name, c)) {
                return found[0];
            }
            // dx_probe gave up (ERR_BAD_DX_DIR): the leaves are still valid directory blocks
            c = new Checker(c.out);
        }
        forEachLinear(c);
        return found[0];
    }

    private static boolean isDotName(byte[] name) {
        return name.length >= 1 && name.length <= 2 && name[0] == '.' && (name.length == 1 || name[1] == '.');
    }

    /** "." or "..": the first or second record of block 0, checked as listing checks them. */
    private DirEntry lookupDot(byte[] name) throws IOException {
        DirEntry[] dots = new DirEntry[2];
        int want = name.length - 1;
        Checker c = new Checker(e -> {
            dots[e.isDot() ? 0 : 1] = e;
            return dots[want] == null;
        });
        long pblk = physical(0, "\".\" and \"..\"");
        byte[] b = volume.readBlock(pblk, ino);
        if (indexed) {
            // the dx root is an index block: its checksum is the index's, not verified for dots (as
            // the kernel's is_dx_internal_node skips it); ".." spans the index
            c.block(0, pblk);
            DirEntry.walk(b, 0, bs, bs, fileType, sb.inodesCount, ino, pblk, c);
            c.endBlock();
        } else {
            walkLeaf(b, 0, pblk, c);
        }
        return dots[want];
    }

    /**
     * {@code ext4_dx_find_entry}: {@code dx_probe} down to the leaf whose range holds the name's
     * hash, then that leaf and each following one whose index hash continues it
     * ({@code ext4_htree_next_block}, across index nodes). Every index block read is checked.
     */
    private boolean dxLookup(byte[] name, Checker c) throws IOException {
        long pblk0 = physical(0, "the htree root");
        MetaBuffer rootBuf = volume.buffer(pblk0, ino);
        long rootVersion = rootBuf.version();
        byte[] rb = rootBuf.snapshot();
        BlockCheck rootKey = BlockCheck.root(ino, pblk0, maxLevels);
        DxNode root;
        int levels;
        long hash;
        DxNode[] nodes;
        int[] at;
        long[] path;
        try { // dx_probe: what it gives up on (BAD_HTREE) makes the lookup scan linearly
            root = rootKey.node(rootBuf, rootVersion, rb, b -> DxNode.readRoot(b, bs, csum, seed, maxLevels, ino, pblk0));
            levels = DxNode.rootInfo(rb).indirectLevels();
            hash = DxHash.hash(name, 0, name.length, hashVersion(rb), sb.hashSeed).major() & 0xFFFFFFFFL;
            nodes = new DxNode[levels + 1];
            at = new int[levels + 1];
            path = new long[levels + 1];
            nodes[0] = root;
            for (int level = 0;; level++) {
                at[level] = nodes[level].find(hash);
                long child = nodes[level].block(at[level]);
                checkChild(child, path, level);
                if (level == levels) {
                    break;
                }
                path[level + 1] = child;
                nodes[level + 1] = indexNode(child);
            }
        } catch (CorruptionException e) {
            if (e.kind() != Kind.BAD_HTREE) {
                throw e;
            }
            return false;
        }
        try {
            searchLeaves(hash, levels, nodes, at, path, c);
        } catch (CorruptionException e) {
            // past the probe the kernel reads index blocks without dx_probe's checks
            // (ext4_htree_next_block): damage there is reported, not read around
            throw e.kind() != Kind.BAD_HTREE ? e : CorruptionException.of(Kind.BAD_DIRECTORY).inode(ino)
                    .block(e.block()).offset(e.offset()).build(e.getMessage());
        }
        return true;
    }

    /** The root's hash version, made unsigned by the superblock flag. */
    private int hashVersion(byte[] root) {
        int version = DxNode.rootInfo(root).hashVersion();
        if (version <= DxHash.TEA && (sb.flags & Superblock.FLAGS_UNSIGNED_HASH) != 0) {
            version += 3;
        }
        return version;
    }

    /** The leaf the probe found, then each following one whose index hash continues {@code hash}. */
    private void searchLeaves(long hash, int levels, DxNode[] nodes, int[] at, long[] path, Checker c)
            throws IOException {
        while (true) {
            long leaf = nodes[levels].block(at[levels]);
            long pblk = physical(leaf, "an htree leaf");
            walkLeaf(volume.buffer(pblk, ino), leaf, pblk, c);
            if (c.stopped) {
                return;
            }
            int k = levels;
            while (at[k] + 1 >= nodes[k].count()) {
                if (k == 0) {
                    return;
                }
                k--;
            }
            at[k]++;
            if ((nodes[k].hash(at[k]) & ~1L) != hash) {
                return; // the next leaf does not continue this hash: the name is not there
            }
            for (int j = k;; j++) {
                long child = nodes[j].block(at[j]);
                checkChild(child, path, j);
                if (j == levels) {
                    break;
                }
                path[j + 1] = child;
                nodes[j + 1] = indexNode(child);
                at[j + 1] = 0;
            }
        }
    }

    /**
     * Checks records as they stream past ({@link #checkRecord}) and hands the live ones on. One per
     * walk; nothing allocated per record.
     */
    private final class Checker implements DirEntry.Visitor {
        final DirEntry.Visitor out;
        boolean stopped;
        /** The one name a lookup wants (its visitor stops there), or null: a walk of every record. */
        byte[] want;
        private long lblk;
        private long pblk;
        private int record;
        /** The hash range of the htree leaf being walked, or -1: names must hash into it. */
        private long minHash = -1;
        private long maxHash = -1;
        /** The index's hash version (unsigned where the superblock says so), for {@link #hashRange}. */
        int version;

        Checker(DirEntry.Visitor out) {
            this.out = out;
        }

        /** Starts directory block {@code lblk} at {@code pblk} (-1, -1 for inline data). */
        void block(long lblk, long pblk) {
            this.lblk = lblk;
            this.pblk = pblk;
            this.record = 0;
        }

        /** Ends a block: block 0 must have held ".." too. */
        void endBlock() throws CorruptionException {
            if (!stopped) {
                checkBlockEnd(ino, lblk, pblk, record);
            }
        }

        /** Names of the next leaf must hash into {@code [min, max]} (min -1: no check). */
        void hashRange(long min, long max) {
            minHash = min;
            maxHash = max;
        }

        @Override
        public boolean visit(DirEntry e) throws CorruptionException {
            checkRecord(ino, lblk, pblk, record++, e);
            if (minHash >= 0 && e.inode() != 0) {
                long h = DxHash.hash(e.name(), 0, e.name().length, version, sb.hashSeed).major() & 0xFFFFFFFEL;
                if (h < minHash || h > maxHash) {
                    throw bad(ino, lblk, pblk, e.offset(), String.format("\"%s\" hashes to 0x%08x, outside the"
                            + " leaf's range 0x%08x..0x%08x in the htree (e2fsck's bad min/max hash)",
                            e.nameString(), h, minHash, maxHash));
                }
            }
            if (e.inode() != 0 && !out.visit(e)) {
                stopped = true;
                return false;
            }
            return true;
        }
    }

    /**
     * The rules for the {@code index}-th record of directory block {@code lblk} (-1: inline data) of
     * directory {@code dirIno}: in block 0 the first record must be a live "." naming the directory
     * and the second a live ".." (e2fsck's {@code check_dot} / {@code check_dotdot}); elsewhere no
     * live record is named "." or ".." (duplicate '.' / '..' entry) or names the directory itself
     * ({@code PR_2_LINK_DOT}; the kernel's lookup: "linked to parent dir").
     */
    static void checkRecord(long dirIno, long lblk, long pblk, int index, DirEntry e) throws CorruptionException {
        boolean live = e.inode() != 0;
        if (lblk == 0 && index == 0) {
            if (!live || !e.isDot()) {
                throw bad(dirIno, lblk, pblk, e.offset(), "its first record is not \".\"");
            }
            if (e.inode() != dirIno) {
                throw bad(dirIno, lblk, pblk, e.offset(),
                        "\".\" points at inode " + e.inode() + ", not at the directory itself");
            }
        } else if (lblk == 0 && index == 1) {
            if (!live || !e.isDotDot()) {
                throw bad(dirIno, lblk, pblk, e.offset(), "its second record is not \"..\"");
            }
        } else if (live) {
            if (e.isDot() || e.isDotDot()) {
                throw bad(dirIno, lblk, pblk, e.offset(),
                        "a second \"" + e.nameString() + "\" record (inode " + e.inode() + ")");
            }
            if (e.inode() == dirIno) {
                throw bad(dirIno, lblk, pblk, e.offset(), "record \"" + e.nameString() + "\" names the directory itself");
            }
        }
    }

    /** After the {@code records} records of block {@code lblk}: block 0 holds "." and "..". */
    static void checkBlockEnd(long dirIno, long lblk, long pblk, int records) throws CorruptionException {
        if (lblk == 0 && records < 2) {
            throw bad(dirIno, lblk, pblk, records == 0 ? 0 : -1,
                    records == 0 ? "it holds no \".\"" : "it holds no \"..\" after \".\"");
        }
    }

    private static CorruptionException bad(long dirIno, long lblk, long pblk, long offset, String what) {
        String where = lblk < 0 ? "inline data" : "directory block " + lblk;
        return CorruptionException.of(Kind.BAD_DIRECTORY).inode(dirIno).block(pblk).offset(offset)
                .build(where + ": " + what);
    }
}
