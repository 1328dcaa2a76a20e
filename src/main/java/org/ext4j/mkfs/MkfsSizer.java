package org.ext4j.mkfs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.ext4j.error.InvalidArgumentException;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.format.Features;

/**
 * The smallest file system that holds a source tree with a margin, for {@code mkfs -d} without a
 * SIZE (mke2fs always needs one; this is what {@code make_ext4fs}'s and genext2fs's automatic sizes
 * do, with mke2fs's own geometry).
 *
 * <p>The tree is walked once ({@link #measure}): per regular file its size and allocated bytes
 * ({@code st_blocks}, from one {@code find -printf}), per directory the bytes of its entries, per
 * symlink the target's length, per inode the bytes of its extended attributes (one
 * {@code getfattr -R}), hard links counted once. {@link #fit} then tries sizes upward: for each it
 * computes mke2fs's geometry and layout ({@link MkfsGeometry}, {@link MkfsLayout}: group tables,
 * reserved GDT blocks, the journal of the size mke2fs's table gives for that size, root and
 * lost+found), and counts the blocks the tree needs in that block size, each an upper bound:
 * <ul>
 * <li>data: {@code ceil(size / bs)}, or for a sparse file (fewer blocks allocated than its size)
 * at most its allocated bytes in blocks;
 * <li>extent tree blocks: a file's extents are at most one per 32768 blocks plus two per block
 * group crossed (backup superblocks and flex group tables break a run), or for a sparse file
 * one per hole plus one; beyond the four in the inode, leaves of {@code (bs - 12) / 12} and an
 * index level above them; without extents, the indirect, double and triple indirect blocks;
 * <li>directories: the entries' {@code rec_len}s (8 + the name rounded to 4, plus "." and "..") over
 * blocks minus the checksum tail; a directory of more than one block as an htree whose leaves are
 * counted half full (splits leave them between half and full) plus its index blocks;
 * <li>symlinks of 60 bytes or more: one block; extended attributes that do not fit in the inode's
 * extra space: one block per inode.
 * </ul>
 * A size fits when the free blocks minus the reserved ones ({@code -m}) and the 256 a write session
 * holds back for extent blocks ({@code Reservations.SESSION_MARGIN_BLOCKS}) are at least the need
 * plus the margin percentage, and the inodes cover the tree's; without {@code -N} and {@code -i} the
 * inode count is the tree's inodes plus the margin plus the 11 reserved ones (mke2fs then rounds
 * it up to fill whole inode-table blocks in every group). Each try that falls short grows the size
 * by what was missing (at least one block), so the first fitting size is the answer.
 */
final class MkfsSizer {
    private MkfsSizer() {
    }

    /** What a source tree holds, independent of the block size. */
    static final class TreeUsage {
        /** Names (every hard link counted) and distinct inodes, directories included; the root not. */
        long entries;
        long inodes;
        long fileBytes;
        /** Bytes of file contents that take space: each file's size, or its allocated bytes when fewer. */
        long dataBytes;
        /** Per regular file inode: size and allocated bytes. */
        final List<long[]> files = new ArrayList<>();
        /** Per directory (the root included): summed {@code 8 + round4(namelen)} of its names. */
        final List<Long> dirs = new ArrayList<>();
        /** Symlinks with targets of 60 bytes or more (they need a block). */
        long longSymlinks;
        /** Per inode with extended attributes: their in-inode size (16 + name + value, rounded). */
        final List<Long> xattrs = new ArrayList<>();
    }

    /** Walks {@code top} (not following symlinks). */
    static TreeUsage measure(Path top) throws IOException {
        TreeUsage u = new TreeUsage();
        Map<String, Long> blocks = allocated(top);
        Map<String, Long> xattrs = xattrBytes(top);
        Set<String> seen = new HashSet<>();
        walk(top, u, blocks, xattrs, seen, true);
        return u;
    }

    private static void walk(Path dir, TreeUsage u, Map<String, Long> blocks, Map<String, Long> xattrs,
            Set<String> seen, boolean root) throws IOException {
        long dirBytes = 12 + 12; // "." and ".."
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            ds.forEach(children::add);
        }
        for (Path c : children) {
            int nameLen = c.getFileName().toString().getBytes(StandardCharsets.UTF_8).length;
            dirBytes += 8 + ((nameLen + 3) & ~3);
            u.entries++;
            Map<String, Object> a = Files.readAttributes(c, "unix:mode,nlink,dev,ino,size", LinkOption.NOFOLLOW_LINKS);
            int type = (Integer) a.get("mode") & 0170000;
            if (type != 0040000 && (Integer) a.get("nlink") > 1 && !seen.add(a.get("dev") + ":" + a.get("ino"))) {
                continue; // a hard link to an inode already counted
            }
            u.inodes++;
            Long x = xattrs.get(c.toAbsolutePath().toString());
            if (x != null) {
                u.xattrs.add(x);
            }
            long size = ((Number) a.get("size")).longValue();
            switch (type) {
                case 0040000 -> walk(c, u, blocks, xattrs, seen, false);
                case 0100000 -> {
                    Long b512 = blocks.get(c.toAbsolutePath().toString());
                    u.files.add(new long[] {size, b512 == null ? size : b512 * 512});
                    u.fileBytes += size;
                    u.dataBytes += b512 == null ? size : Math.min(size, b512 * 512);
                }
                case 0120000 -> {
                    if (size >= 60) {
                        u.longSymlinks++;
                    }
                }
                default -> {
                    // devices, fifos, sockets: an inode only
                }
            }
        }
        u.dirs.add(dirBytes);
    }

    /** st_blocks of every regular file under {@code top}, from one {@code find} (the JDK does not give it). */
    private static Map<String, Long> allocated(Path top) {
        Map<String, Long> m = new HashMap<>();
        String out = run(List.of("find", "-P", top.toAbsolutePath().toString(), "-type", "f", "-printf", "%b %p\\0"));
        for (String rec : out.split("\0")) {
            int sp = rec.indexOf(' ');
            if (sp > 0) {
                try {
                    m.put(rec.substring(sp + 1), Long.parseLong(rec.substring(0, sp).strip()));
                } catch (NumberFormatException e) {
                    // not a record: the file is counted whole
                }
            }
        }
        return m;
    }

    /** In-inode bytes of every inode's extended attributes, from one {@code getfattr -R} (none without it). */
    private static Map<String, Long> xattrBytes(Path top) {
        Map<String, Long> m = new HashMap<>();
        String out = run(List.of("getfattr", "-R", "-P", "-d", "-m", "-", "-e", "hex", "--absolute-names", "--",
                top.toAbsolutePath().toString()));
        String file = null;
        for (String line : out.split("\n")) {
            if (line.startsWith("# file: ")) {
                file = line.substring(8);
            } else if (file != null && line.contains("=")) {
                int eq = line.indexOf('=');
                String v = line.substring(eq + 1);
                long valueLen = v.startsWith("0x") ? (v.length() - 2) / 2 : v.length();
                long entry = 16 + ((eq + 3) & ~3) + ((valueLen + 3) & ~3);
                m.merge(file, entry, Long::sum);
            }
        }
        return m;
    }

    private static String run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            return out;
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** Blocks the tree needs in file system {@code g} (see the class comment); the root's own block included. */
    static long blocksNeeded(TreeUsage u, MkfsGeometry g) {
        int bs = g.blockSize;
        boolean extents = g.hasIncompat(Features.INCOMPAT_EXTENTS);
        int tail = g.hasRoCompat(Features.RO_COMPAT_METADATA_CSUM) ? 12 : 0;
        long need = 0;
        for (long[] f : u.files) {
            long size = f[0];
            long whole = MkfsGeometry.ceilDiv(size, bs);
            boolean sparse = size > 0 && f[1] < size;
            long data = sparse ? Math.min(whole, MkfsGeometry.ceilDiv(f[1], bs)) : whole;
            need += data;
            if (extents) {
                long ext = sparse ? Math.min(data, whole - data + 1)
                        : MkfsGeometry.ceilDiv(data, 32768) + 2 * MkfsGeometry.ceilDiv(data, g.blocksPerGroup);
                if (ext > 4) {
                    long perLeaf = (bs - 12) / 12;
                    long leaves = MkfsGeometry.ceilDiv(ext, perLeaf);
                    need += leaves + (leaves > 4 ? MkfsGeometry.ceilDiv(leaves, perLeaf) + 1 : 0);
                }
            } else if (data > 12) {
                long per = bs / 4;
                long ind = MkfsGeometry.ceilDiv(data - 12, per);
                need += ind + (ind > 1 ? MkfsGeometry.ceilDiv(ind, per) + 1 : 0);
            }
        }
        for (long bytes : u.dirs) {
            long per = bs - tail;
            long blocks = MkfsGeometry.ceilDiv(bytes, per);
            if (blocks > 1) {
                long leaves = MkfsGeometry.ceilDiv(bytes * 2, per); // leaves half full after splits
                long perIndex = (bs - 8 - tail) / 8;
                need += 1 + leaves + (leaves > perIndex ? MkfsGeometry.ceilDiv(leaves, perIndex) : 0);
            } else {
                need += 1;
            }
        }
        need += u.longSymlinks;
        long inInode = g.inodeSize <= 128 ? 0 : g.inodeSize - 128 - 32 - 4;
        for (long x : u.xattrs) {
            if (x > inInode) {
                need++;
            }
        }
        return need;
    }

    /**
     * The options {@code o} with the smallest size (and, without {@code -N}/{@code -i}, inode count)
     * that holds {@code u} with {@code marginPercent} to spare; returns the size in bytes and sets
     * {@code o.inodeCount} when it chose one.
     */
    static long fit(Mkfs.Options o, TreeUsage u, double marginPercent) throws InvalidArgumentException,
            UnsupportedFeatureException {
        double factor = 1 + marginPercent / 100;
        long inodesWanted = u.inodes + 1; // the root's children's inodes and lost+found's files: room for one more
        if (o.inodeCount == 0 && o.bytesPerInode == 0) {
            o.inodeCount = (long) Math.ceil(inodesWanted * factor) + MkfsGeometry.FIRST_INO;
        }
        // a lower bound: the data alone, at least 64 KiB (smaller is grown until mke2fs's rules accept it)
        long size = Math.max(64L << 10, u.dataBytes & ~4095L);
        for (int tries = 0; tries < 100_000; tries++) {
            MkfsGeometry g;
            MkfsLayout layout;
            try {
                g = MkfsGeometry.compute(o, size);
                layout = MkfsLayout.plan(g);
            } catch (InvalidArgumentException e) {
                if (size > (1L << 40)) {
                    throw e;
                }
                size += size / 8; // too small for the options' metadata: grow
                continue;
            }
            long free = 0;
            for (long f : layout.freeBlocks) {
                free += f;
            }
            // the reserved blocks (-m) and the margin a write session holds back for extent blocks
            long usable = free - g.reservedBlocks - org.ext4j.mapping.Reservations.SESSION_MARGIN_BLOCKS;
            if (g.inodesPerGroup < MkfsGeometry.FIRST_INO + 1 && o.inodeCount != 0 && o.bytesPerInode == 0) {
                // the reserved inodes and the root's must all be in group 0 (MkfsWriter writes them there)
                o.inodeCount = Math.max(o.inodeCount, (MkfsGeometry.FIRST_INO + 5) * g.groupCount);
                continue;
            }
            long wanted = (long) Math.ceil(blocksNeeded(u, g) * factor);
            boolean inodesOk = g.inodesCount - MkfsGeometry.FIRST_INO >= inodesWanted;
            if (usable >= wanted && inodesOk) {
                return size;
            }
            long grow = Math.max(wanted - usable, 1) * g.blockSize;
            if (!inodesOk && o.bytesPerInode != 0) {
                grow = Math.max(grow, (inodesWanted + MkfsGeometry.FIRST_INO - g.inodesCount) * (long) o.bytesPerInode);
            } else if (!inodesOk && o.inodeCount != 0) {
                throw new InvalidArgumentException("-N " + o.inodeCount + ": too few inodes for the " + u.inodes
                        + " files of the source tree");
            }
            size = (size / g.blockSize) * g.blockSize + grow;
        }
        throw new InvalidArgumentException("size: no size found that holds the source tree");
    }
}
