package org.ext4j.fuzz;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.ext4j.format.Le;
import org.ext4j.fuzz.MetadataMap.Kind;
import org.ext4j.fuzz.MetadataMap.Region;

/**
 * Damages a copy of a base image, deterministically from a seed: one to three edits, each aimed at a
 * structure of the {@link MetadataMap} (weighted towards those whose damage reaches logic: inodes,
 * directories, htree nodes, extent and indirect blocks, the superblock and descriptors) and each one
 * of bit flips, a zeroed range, garbage bytes, or a targeted field edit that writes an interesting
 * value (a block number inside the metadata or another file, past the end, 0, all ones, off by one;
 * counts, sizes and lengths at their limits) into a named field. With probability one half the
 * checksums of everything touched are then recomputed ({@link Checksums}), so the damage gets past
 * the checksum checks and reaches the logic. The same (base image, seed) always gives the same bytes.
 */
final class Damager {
    /**
     * The damaged image and what was done to it, one line per edit, for reports and replays; {@code inodes}
     * are the inodes whose own structures (inode, tree, directory, xattr or symlink blocks) were hit.
     */
    record Damage(byte[] image, List<String> edits, boolean checksumsFixed, Set<Long> inodes) {
        String recipe() {
            return String.join("; ", edits) + (checksumsFixed ? " [checksums recomputed]" : " [checksums left broken]");
        }
    }

    private enum Value { BLOCK, BLOCK_HI, COUNT, SIZE, SIZE16, LEN, LEN8, LBLK, INODE, FLAGS, IFLAGS, MODE, SMALL, ANY }

    /** A field at {@code off} from the start of its region, {@code width} bytes, big-endian in the journal. */
    private record Field(String name, int off, int width, Value value, boolean bigEndian) {
        Field(String name, int off, int width, Value value) {
            this(name, off, width, value, false);
        }
    }

    private static final int[][] KIND_WEIGHTS = {
        {Kind.SUPERBLOCK.ordinal(), 10}, {Kind.BACKUP_SUPERBLOCK.ordinal(), 1}, {Kind.DESCRIPTOR.ordinal(), 10},
        {Kind.BLOCK_BITMAP.ordinal(), 5}, {Kind.INODE_BITMAP.ordinal(), 4}, {Kind.INODE.ordinal(), 25},
        {Kind.EXTENT_BLOCK.ordinal(), 8}, {Kind.INDIRECT_BLOCK.ordinal(), 8}, {Kind.DIR_BLOCK.ordinal(), 12},
        {Kind.DX_ROOT.ordinal(), 8}, {Kind.DX_NODE.ordinal(), 5}, {Kind.XATTR_BLOCK.ordinal(), 6},
        {Kind.SYMLINK_BLOCK.ordinal(), 2}, {Kind.JOURNAL_SUPERBLOCK.ordinal(), 2},
    };

    private final BaseImage base;
    private final MetadataMap map;
    private final Random rnd;
    private final byte[] img;
    private final List<String> edits = new ArrayList<>();
    private final Set<Region> touched = new LinkedHashSet<>();

    private Damager(BaseImage base, long seed) {
        this.base = base;
        this.map = base.map;
        this.rnd = new Random(mix(seed, base.set.name()));
        this.img = base.bytes.clone();
    }

    /** The random stream of (feature set, seed): the same seed damages different places in different sets. */
    static long mix(long seed, String set) {
        return seed * 0x9E3779B97F4A7C15L ^ set.hashCode();
    }

    static Damage damage(BaseImage base, long seed) {
        return new Damager(base, seed).run();
    }

    private Damage run() {
        int p = rnd.nextInt(100);
        int count = p < 60 ? 1 : p < 85 ? 2 : 3;
        for (int i = 0; i < count; i++) {
            Region r = pickRegion();
            touched.add(r);
            int how = rnd.nextInt(100);
            if (how < 45) {
                field(r);
            } else if (how < 70) {
                bitFlips(r);
            } else if (how < 85) {
                range(r, true);
            } else {
                range(r, false);
            }
        }
        boolean fix = rnd.nextBoolean();
        if (fix) {
            Checksums c = new Checksums(img, map);
            for (Region r : touched) {
                c.fix(r);
            }
            c.fixSuperblock();
        }
        Set<Long> inodes = new LinkedHashSet<>();
        for (Region r : touched) {
            switch (r.kind()) {
                case INODE, EXTENT_BLOCK, INDIRECT_BLOCK, DIR_BLOCK, DX_ROOT, DX_NODE, XATTR_BLOCK, SYMLINK_BLOCK ->
                        inodes.add(r.owner());
                default -> {
                }
            }
        }
        return new Damage(img, List.copyOf(edits), fix, Set.copyOf(inodes));
    }

    private Region pickRegion() {
        int total = 0;
        for (int[] kw : KIND_WEIGHTS) {
            if (!map.of(Kind.values()[kw[0]]).isEmpty()) {
                total += kw[1];
            }
        }
        int x = rnd.nextInt(total);
        for (int[] kw : KIND_WEIGHTS) {
            List<Region> l = map.of(Kind.values()[kw[0]]);
            if (l.isEmpty()) {
                continue;
            }
            if (x < kw[1]) {
                return l.get(rnd.nextInt(l.size()));
            }
            x -= kw[1];
        }
        throw new IllegalStateException("no region");
    }

    // ---- raw damage -----------------------------------------------------------------------

    /** Where raw damage lands: half the time in the first bytes, where headers and live entries are. */
    private int spot(Region r) {
        int span = rnd.nextBoolean() ? Math.min(r.length(), 128) : r.length();
        return rnd.nextInt(span);
    }

    private void bitFlips(Region r) {
        int n = 1 + rnd.nextInt(rnd.nextBoolean() ? 1 : 8);
        List<String> where = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int off = spot(r);
            int bit = rnd.nextInt(8);
            img[(int) r.pos() + off] ^= (byte) (1 << bit);
            where.add(off + "." + bit);
        }
        edits.add(r + ": flipped bits " + String.join(",", where));
    }

    private void range(Region r, boolean zero) {
        int[] lens = {1, 2, 4, 8, 16, 64, r.length()};
        int len = Math.min(lens[rnd.nextInt(lens.length)], r.length());
        int off = len == r.length() ? 0 : Math.min(spot(r), r.length() - len);
        for (int i = 0; i < len; i++) {
            img[(int) r.pos() + off + i] = zero ? 0 : (byte) rnd.nextInt(256);
        }
        edits.add(r + ": " + (zero ? "zeroed" : "garbage in") + " bytes " + off + ".." + (off + len - 1));
    }

    // ---- targeted field edits --------------------------------------------------------------

    private void field(Region r) {
        if (r.kind() == Kind.BLOCK_BITMAP || r.kind() == Kind.INODE_BITMAP) {
            bitmapBits(r);
            return;
        }
        if (r.kind() == Kind.SYMLINK_BLOCK) {
            int len = (int) Math.max(1, Math.min(r.length(), targetLength(r)));
            int off = rnd.nextInt(len);
            byte v = (byte) (rnd.nextBoolean() ? 0 : '/');
            img[(int) r.pos() + off] = v;
            edits.add(r + ": target byte " + off + " = " + (v == 0 ? "NUL" : "'/'"));
            return;
        }
        List<Field> fields = fields(r);
        Field f = fields.get(rnd.nextInt(fields.size()));
        int at = (int) r.pos() + f.off();
        long old = get(at, f.width(), f.bigEndian());
        long v = value(f.value(), old, f.width(), r);
        put(at, f.width(), v, f.bigEndian());
        edits.add(r + ": " + f.name() + " " + old + " -> " + Long.toUnsignedString(get(at, f.width(), f.bigEndian())));
    }

    private long targetLength(Region r) {
        for (BaseImage.PathInfo p : base.paths) {
            if (p.ino() == r.owner()) {
                return p.size();
            }
        }
        return r.length();
    }

    private void bitmapBits(Region r) {
        int n = 1 + rnd.nextInt(16);
        int bits = r.length() * 8;
        // bits near the start are the ones in use in these small images
        int span = rnd.nextBoolean() ? Math.min(bits, 2048) : bits;
        List<Integer> flipped = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int b = rnd.nextInt(span);
            img[(int) r.pos() + b / 8] ^= (byte) (1 << (b % 8));
            flipped.add(b);
        }
        edits.add(r + ": flipped bitmap bits " + flipped);
    }

    private List<Field> fields(Region r) {
        byte[] b = base.bytes;
        int p = (int) r.pos();
        List<Field> f = new ArrayList<>();
        switch (r.kind()) {
            case SUPERBLOCK, BACKUP_SUPERBLOCK -> {
                f.add(new Field("s_inodes_count", 0x0, 4, Value.COUNT));
                f.add(new Field("s_blocks_count_lo", 0x4, 4, Value.COUNT));
                f.add(new Field("s_r_blocks_count_lo", 0x8, 4, Value.COUNT));
                f.add(new Field("s_free_blocks_count_lo", 0xC, 4, Value.COUNT));
                f.add(new Field("s_free_inodes_count", 0x10, 4, Value.COUNT));
                f.add(new Field("s_first_data_block", 0x14, 4, Value.BLOCK));
                f.add(new Field("s_log_block_size", 0x18, 4, Value.SMALL));
                f.add(new Field("s_log_cluster_size", 0x1C, 4, Value.SMALL));
                f.add(new Field("s_blocks_per_group", 0x20, 4, Value.COUNT));
                f.add(new Field("s_clusters_per_group", 0x24, 4, Value.COUNT));
                f.add(new Field("s_inodes_per_group", 0x28, 4, Value.COUNT));
                f.add(new Field("s_magic", 0x38, 2, Value.ANY));
                f.add(new Field("s_state", 0x3A, 2, Value.FLAGS));
                f.add(new Field("s_errors", 0x3C, 2, Value.SMALL));
                f.add(new Field("s_rev_level", 0x4C, 4, Value.SMALL));
                f.add(new Field("s_first_ino", 0x54, 4, Value.INODE));
                f.add(new Field("s_inode_size", 0x58, 2, Value.SIZE16));
                f.add(new Field("s_block_group_nr", 0x5A, 2, Value.COUNT));
                f.add(new Field("s_feature_compat", 0x5C, 4, Value.FLAGS));
                f.add(new Field("s_feature_incompat", 0x60, 4, Value.FLAGS));
                f.add(new Field("s_feature_ro_compat", 0x64, 4, Value.FLAGS));
                f.add(new Field("s_reserved_gdt_blocks", 0xCE, 2, Value.COUNT));
                f.add(new Field("s_journal_inum", 0xE0, 4, Value.INODE));
                f.add(new Field("s_last_orphan", 0xE8, 4, Value.INODE));
                f.add(new Field("s_hash_seed", 0xEC, 4, Value.ANY));
                f.add(new Field("s_def_hash_version", 0xFC, 1, Value.SMALL));
                f.add(new Field("s_desc_size", 0xFE, 2, Value.SIZE16));
                f.add(new Field("s_first_meta_bg", 0x104, 4, Value.COUNT));
                f.add(new Field("s_blocks_count_hi", 0x150, 4, Value.COUNT));
                f.add(new Field("s_min_extra_isize", 0x15C, 2, Value.SIZE16));
                f.add(new Field("s_want_extra_isize", 0x15E, 2, Value.SIZE16));
                f.add(new Field("s_flags", 0x160, 4, Value.FLAGS));
                f.add(new Field("s_log_groups_per_flex", 0x174, 1, Value.SMALL));
                f.add(new Field("s_checksum_type", 0x175, 1, Value.SMALL));
                f.add(new Field("s_backup_bgs[0]", 0x24C, 4, Value.COUNT));
                f.add(new Field("s_backup_bgs[1]", 0x250, 4, Value.COUNT));
                f.add(new Field("s_lpf_ino", 0x268, 4, Value.INODE));
                f.add(new Field("s_encoding", 0x27C, 2, Value.SMALL));
            }
            case DESCRIPTOR -> {
                f.add(new Field("bg_block_bitmap_lo", 0x0, 4, Value.BLOCK));
                f.add(new Field("bg_inode_bitmap_lo", 0x4, 4, Value.BLOCK));
                f.add(new Field("bg_inode_table_lo", 0x8, 4, Value.BLOCK));
                f.add(new Field("bg_free_blocks_count_lo", 0xC, 2, Value.COUNT));
                f.add(new Field("bg_free_inodes_count_lo", 0xE, 2, Value.COUNT));
                f.add(new Field("bg_used_dirs_count_lo", 0x10, 2, Value.COUNT));
                f.add(new Field("bg_flags", 0x12, 2, Value.FLAGS));
                f.add(new Field("bg_itable_unused_lo", 0x1C, 2, Value.COUNT));
                if (r.length() >= 64) {
                    f.add(new Field("bg_block_bitmap_hi", 0x20, 4, Value.BLOCK_HI));
                    f.add(new Field("bg_inode_table_hi", 0x28, 4, Value.BLOCK_HI));
                    f.add(new Field("bg_free_blocks_count_hi", 0x2C, 2, Value.COUNT));
                    f.add(new Field("bg_itable_unused_hi", 0x32, 2, Value.COUNT));
                }
            }
            case INODE -> {
                f.add(new Field("i_mode", 0x0, 2, Value.MODE));
                f.add(new Field("i_size_lo", 0x4, 4, Value.SIZE));
                f.add(new Field("i_dtime", 0x14, 4, Value.ANY));
                f.add(new Field("i_links_count", 0x1A, 2, Value.COUNT));
                f.add(new Field("i_blocks_lo", 0x1C, 4, Value.COUNT));
                f.add(new Field("i_flags", 0x20, 4, Value.IFLAGS));
                f.add(new Field("i_generation", 0x64, 4, Value.ANY));
                f.add(new Field("i_file_acl_lo", 0x68, 4, Value.BLOCK));
                f.add(new Field("i_size_high", 0x6C, 4, Value.SIZE));
                if (r.length() > 128) {
                    f.add(new Field("i_extra_isize", 0x80, 2, Value.SIZE16));
                }
                boolean extents = (Le.u32(b, p + 0x20) & 0x80000) != 0;
                boolean inline = (Le.u32(b, p + 0x20) & 0x10000000) != 0;
                if (extents) {
                    extentNode(f, b, p + 0x28, 0x28, "i_block extent ");
                    extentNode(f, b, p + 0x28, 0x28, "i_block extent "); // twice: entries outweigh other fields
                } else if (!inline) {
                    for (int i = 0; i < 15; i++) {
                        f.add(new Field("i_block[" + i + "]", 0x28 + 4 * i, 4, Value.BLOCK));
                    }
                } else {
                    f.add(new Field("inline i_block byte", 0x28 + rnd.nextInt(60), 1, Value.ANY));
                }
            }
            case EXTENT_BLOCK -> extentNode(f, b, p, 0, "");
            case INDIRECT_BLOCK -> {
                int used = 1;
                for (int i = 0; i < r.length() / 4; i++) {
                    if (Le.u32(b, p + 4 * i) != 0) {
                        used = i + 2;
                    }
                }
                for (int k = 0; k < 4; k++) {
                    int i = rnd.nextInt(Math.min(used, r.length() / 4));
                    f.add(new Field("pointer[" + i + "]", 4 * i, 4, Value.BLOCK));
                }
            }
            case DIR_BLOCK -> dirEntries(f, b, p, 0, r.length());
            case DX_ROOT -> {
                f.add(new Field("'.' inode", 0x0, 4, Value.INODE));
                f.add(new Field("'.' rec_len", 0x4, 2, Value.LEN));
                f.add(new Field("'..' inode", 0xC, 4, Value.INODE));
                f.add(new Field("'..' rec_len", 0x10, 2, Value.LEN));
                f.add(new Field("hash_version", 0x1C, 1, Value.SMALL));
                f.add(new Field("info_length", 0x1D, 1, Value.SMALL));
                f.add(new Field("indirect_levels", 0x1E, 1, Value.SMALL));
                f.add(new Field("unused_flags", 0x1F, 1, Value.FLAGS));
                dxEntries(f, b, p, 0x20);
            }
            case DX_NODE -> {
                f.add(new Field("fake rec_len", 0x4, 2, Value.LEN));
                dxEntries(f, b, p, 0x8);
            }
            case XATTR_BLOCK -> {
                f.add(new Field("h_magic", 0x0, 4, Value.ANY));
                f.add(new Field("h_refcount", 0x4, 4, Value.COUNT));
                f.add(new Field("h_blocks", 0x8, 4, Value.COUNT));
                int off = 0x20;
                int n = 0;
                while (off + 16 <= r.length() && Le.u32(b, p + off) != 0 && n < 64) {
                    int nameLen = Le.u8(b, p + off);
                    String e = "xattr entry " + n + " ";
                    f.add(new Field(e + "e_name_len", off, 1, Value.LEN8));
                    f.add(new Field(e + "e_name_index", off + 1, 1, Value.SMALL));
                    f.add(new Field(e + "e_value_offs", off + 2, 2, Value.LEN));
                    f.add(new Field(e + "e_value_inum", off + 4, 4, Value.INODE));
                    f.add(new Field(e + "e_value_size", off + 8, 4, Value.SIZE));
                    off += (16 + nameLen + 3) & ~3;
                    n++;
                }
            }
            case JOURNAL_SUPERBLOCK -> {
                f.add(new Field("jbd2 h_magic", 0x0, 4, Value.ANY, true));
                f.add(new Field("jbd2 h_blocktype", 0x4, 4, Value.SMALL, true));
                f.add(new Field("jbd2 s_blocksize", 0xC, 4, Value.SIZE, true));
                f.add(new Field("jbd2 s_maxlen", 0x10, 4, Value.COUNT, true));
                f.add(new Field("jbd2 s_first", 0x14, 4, Value.COUNT, true));
                f.add(new Field("jbd2 s_sequence", 0x18, 4, Value.COUNT, true));
                f.add(new Field("jbd2 s_start", 0x1C, 4, Value.BLOCK, true));
                f.add(new Field("jbd2 s_feature_compat", 0x24, 4, Value.FLAGS, true));
                f.add(new Field("jbd2 s_feature_incompat", 0x28, 4, Value.FLAGS, true));
            }
            default -> throw new IllegalStateException(r.kind().name());
        }
        return f;
    }

    /** An extent header and its entries (leaf extents or index entries) at {@code p}. */
    private static void extentNode(List<Field> f, byte[] b, int p, int base, String prefix) {
        f.add(new Field(prefix + "eh_magic", base, 2, Value.ANY));
        f.add(new Field(prefix + "eh_entries", base + 2, 2, Value.LEN));
        f.add(new Field(prefix + "eh_max", base + 4, 2, Value.LEN));
        f.add(new Field(prefix + "eh_depth", base + 6, 2, Value.SMALL));
        int entries = Math.min(Le.u16(b, p + 2), 8);
        boolean leaf = Le.u16(b, p + 6) == 0;
        for (int i = 0; i < Math.max(1, entries); i++) {
            int e = base + 12 + 12 * i;
            if (leaf) {
                f.add(new Field(prefix + i + " ee_block", e, 4, Value.LBLK));
                f.add(new Field(prefix + i + " ee_len", e + 4, 2, Value.LEN));
                f.add(new Field(prefix + i + " ee_start_hi", e + 6, 2, Value.BLOCK_HI));
                f.add(new Field(prefix + i + " ee_start_lo", e + 8, 4, Value.BLOCK));
                f.add(new Field(prefix + i + " ee_start_lo", e + 8, 4, Value.BLOCK));
            } else {
                f.add(new Field(prefix + i + " ei_block", e, 4, Value.LBLK));
                f.add(new Field(prefix + i + " ei_leaf_lo", e + 4, 4, Value.BLOCK));
                f.add(new Field(prefix + i + " ei_leaf_lo", e + 4, 4, Value.BLOCK));
                f.add(new Field(prefix + i + " ei_leaf_hi", e + 8, 2, Value.BLOCK_HI));
            }
        }
    }

    /** Every live entry of a directory leaf: inode, rec_len, name_len, file type, a name byte. */
    private void dirEntries(List<Field> f, byte[] b, int p, int start, int length) {
        int off = start;
        int n = 0;
        while (off + 8 <= length && n < 512) {
            int recLen = Le.u16(b, p + off + 4);
            int nameLen = Le.u8(b, p + off + 6);
            if (recLen < 8) {
                break;
            }
            String e = "entry@" + off + " ";
            f.add(new Field(e + "inode", off, 4, Value.INODE));
            f.add(new Field(e + "rec_len", off + 4, 2, Value.LEN));
            f.add(new Field(e + "name_len", off + 6, 1, Value.LEN8));
            f.add(new Field(e + "file_type", off + 7, 1, Value.SMALL));
            if (nameLen > 0) {
                f.add(new Field(e + "name byte", off + 8 + rnd.nextInt(nameLen), 1, Value.ANY));
            }
            off += recLen;
            n++;
        }
        if (f.isEmpty()) {
            f.add(new Field("entry@0 rec_len", 4, 2, Value.LEN));
        }
    }

    private static void dxEntries(List<Field> f, byte[] b, int p, int at) {
        f.add(new Field("dx limit", at, 2, Value.LEN));
        f.add(new Field("dx count", at + 2, 2, Value.LEN));
        f.add(new Field("dx block[0]", at + 4, 4, Value.LBLK));
        int count = Math.min(Le.u16(b, p + at + 2), 64);
        for (int i = 1; i < count; i++) {
            f.add(new Field("dx hash[" + i + "]", at + 8 * i, 4, Value.ANY));
            f.add(new Field("dx block[" + i + "]", at + 8 * i + 4, 4, Value.LBLK));
        }
    }

    // ---- values ---------------------------------------------------------------------------

    private long value(Value kind, long old, int width, Region r) {
        long max = width >= 8 ? -1L : (1L << (8 * width)) - 1;
        long blocks = map.sb.blocksCount;
        long v = switch (kind) {
            case BLOCK -> pick(0, 1, map.sb.firstDataBlock, some(map.metadataBlocks), some(map.metadataBlocks),
                    some(map.metadataBlocks), some(map.dataBlocks), some(map.dataBlocks), old + 1, old - 1,
                    blocks - 1, blocks, blocks + rnd.nextInt(1000), max, rnd.nextLong(Math.max(1, blocks)));
            case BLOCK_HI -> pick(1, 2, 0xFFFF, max, rnd.nextInt(256));
            case COUNT -> pick(0, 1, old + 1, old - 1, old * 2, old / 2, max, max >>> 1, rnd.nextLong() & max);
            case SIZE -> pick(0, 1, map.blockSize - 1, map.blockSize, map.blockSize + 1, old + 1, old - 1, old * 2,
                    0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL, rnd.nextLong() & max);
            case SIZE16 -> pick(0, 1, 2, 4, 32, 60, 127, 128, 129, 256, 1024, old + 1, old - 1, old * 2, 0xFFFF);
            case LEN -> pick(0, 1, 4, 8, 12, old + 1, old - 1, old + 4, old - 4, old + 8, map.blockSize,
                    map.blockSize + 4, 255, 256, 32767, 32768, 32769, 65535, rnd.nextInt(65536));
            case LEN8 -> pick(0, 1, old + 1, old - 1, 255, rnd.nextInt(256));
            case LBLK -> pick(0, 1, old + 1, old - 1, old * 2, 0x7FFF_FFFFL, 0xFFFF_FFFFL, 1L << 31,
                    rnd.nextLong() & 0xFFFF_FFFFL, rnd.nextInt(4096));
            case INODE -> pick(0, 1, 2, 7, 8, 11, some(map.usedInodes), some(map.usedInodes), map.sb.inodesCount,
                    map.sb.inodesCount + 1, old + 1, old - 1, 0xFFFF_FFFFL);
            case FLAGS -> rnd.nextInt(3) == 0 ? old ^ (rnd.nextLong() & max) : old ^ (1L << rnd.nextInt(8 * width));
            case IFLAGS -> {
                long[] known = {0x80000, 0x1000, 0x10000000, 0x40000, 0x200000, 0x800, 0x40000000, 0x100000, 0x10,
                    0x20, 0x20000, 0x2000000, 0x4000};
                yield rnd.nextInt(4) == 0 ? old ^ (1L << rnd.nextInt(32)) : old ^ known[rnd.nextInt(known.length)];
            }
            case MODE -> {
                int[] types = {0x8000, 0x4000, 0xA000, 0x2000, 0x6000, 0x1000, 0xC000, 0x0000, 0xF000, 0x3000};
                yield rnd.nextInt(4) == 0 ? old ^ (1L << rnd.nextInt(12)) : (old & 0x0FFF) | types[rnd.nextInt(types.length)];
            }
            case SMALL -> pick(0, 1, 2, 3, 4, old + 1, old - 1, 31, 32, 64, 255, max, rnd.nextInt(256));
            case ANY -> rnd.nextInt(3) == 0 ? old ^ (1L << rnd.nextInt(8 * width)) : pick(0, max, rnd.nextLong() & max);
        };
        if (v == old) {
            v = old ^ 1; // an edit always changes something
        }
        return v & max;
    }

    private long pick(long... choices) {
        return choices[rnd.nextInt(choices.length)];
    }

    private long some(List<Long> pool) {
        return pool.isEmpty() ? rnd.nextInt(100) : pool.get(rnd.nextInt(pool.size()));
    }

    private long get(int at, int width, boolean be) {
        long v = 0;
        for (int i = 0; i < width; i++) {
            int idx = be ? at + i : at + width - 1 - i;
            v = (v << 8) | (img[idx] & 0xFF);
        }
        return v;
    }

    private void put(int at, int width, long v, boolean be) {
        for (int i = 0; i < width; i++) {
            int idx = be ? at + width - 1 - i : at + i;
            img[idx] = (byte) (v >>> (8 * i));
        }
    }
}
