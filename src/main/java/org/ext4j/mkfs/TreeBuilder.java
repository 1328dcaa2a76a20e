package org.ext4j.mkfs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicReference;

import org.ext4j.alloc.NoSpaceException;
import org.ext4j.blockdev.BlockDevice;
import org.ext4j.error.InvalidArgumentException;
import org.ext4j.error.NameTooLongException;
import org.ext4j.format.DirEntry;
import org.ext4j.format.DirEntryWriter;
import org.ext4j.format.DxHash;
import org.ext4j.format.DxNode;
import org.ext4j.format.DxNodeWriter;
import org.ext4j.format.ExtentNodeWriter;
import org.ext4j.format.Features;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.InodeWriter;
import org.ext4j.format.Le;
import org.ext4j.format.Superblock;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.tree.EntryImporter;
import org.ext4j.tree.HostFacts;
import org.ext4j.tree.HostTreeImporter;

/**
 * mke2fs {@code -d} done in one pass over the source while the new file system is still a plan
 * ({@link MkfsLayout}) rather than through the file system's calls: mke2fs's own {@code populate_fs}
 * also writes into the image before {@code ext2fs_close}. Inodes are handed out in order and written
 * a group's table at a time; each file's blocks are taken in runs from a cursor that only moves
 * forward (a file is contiguous unless group metadata cuts it); its bytes are copied from the host
 * file straight to those blocks by {@link #COPIERS} threads while this one walks on; a directory is
 * laid out whole once its contents are in, as a linear list, or (with dir_index, past two blocks)
 * an htree with leaves filled in hash order; extent trees get the index and leaf blocks they
 * need. The layout's counts ({@link MkfsLayout#recount}) then give the bitmaps and descriptors that
 * {@link MkfsWriter#close} writes.
 *
 * <p>What it leaves to the file system's calls, once the image is closed ({@link #finishThrough}):
 * extended attributes (ACLs and capabilities included), set with {@code setXattr} as {@code put}
 * sets them, then the inode's mode, owner and times again. Memory is the names of the directories
 * on the current path, the hard links and the files with xattrs: a tree of a million plain files
 * builds in a small heap.
 *
 * <p>Only ext4 with extents and without inline_data is built this way ({@link #supports}); other
 * types go through {@link HostTreeImporter}.
 */
final class TreeBuilder {
    /** Threads copying file contents while the walk goes on. */
    static final int COPIERS = Integer.getInteger("ext4j.mkfs.copiers", 4);
    private static final int CHUNK = 1 << 20;
    private static final int LINK_MAX = 65000;

    private final MkfsGeometry g;
    private final MkfsLayout l;
    private final Superblock sb;
    private final BlockDevice dev;
    private final int bs;
    private final boolean csum;
    private final boolean filetype;
    private final boolean dirIndex;
    private final boolean dirNlink;
    private final int extraIsize;
    private final long now;
    private final Instant clamp;
    private final boolean deterministic;
    private final java.util.Random generations = new java.security.SecureRandom();
    private final java.util.concurrent.Future<HostFacts> factsReading;
    private HostFacts facts;
    private final HostTreeImporter.Listener listener;
    /** Copy owners from the source (running as root), else the process's own (cp -a's rule). */
    private final boolean asRoot;
    private final long ownUid;
    private final long ownGid;
    private final InodeTables itable = new InodeTables();
    /** (device:inode) of a source file with more than one link to {our inode, names made}. */
    private final Map<String, long[]> links = new HashMap<>();
    /** Files whose xattrs and attributes wait for {@link #finishThrough}, by image path. */
    private final Map<String, Deferred> deferred = new LinkedHashMap<>();
    /** Where the next block search starts. */
    private long cursor;
    private final Copier copier;
    private long entries;
    private long bytes;

    private record Child(byte[] name, long ino, int type) {
    }

    private record Deferred(boolean symlink, int mode, long uid, long gid, Instant atime, Instant mtime,
            List<String[]> xattrs) {
    }

    /** Whether the image's features are ones this builder writes: extents, no inline_data. */
    static boolean supports(MkfsGeometry g) {
        return g.hasIncompat(Features.INCOMPAT_EXTENTS) && !g.hasIncompat(Features.INCOMPAT_INLINE_DATA);
    }

    TreeBuilder(MkfsGeometry g, MkfsLayout l, Superblock sb, BlockDevice dev, long now, Instant clamp,
            java.util.concurrent.Future<HostFacts> facts, HostTreeImporter.Listener listener) {
        this.g = g;
        this.l = l;
        this.sb = sb;
        this.dev = dev;
        this.bs = g.blockSize;
        this.csum = g.hasRoCompat(Features.RO_COMPAT_METADATA_CSUM);
        this.filetype = g.hasIncompat(Features.INCOMPAT_FILETYPE);
        this.dirIndex = g.hasCompat(Features.COMPAT_DIR_INDEX);
        this.dirNlink = g.hasRoCompat(Features.RO_COMPAT_DIR_NLINK);
        this.extraIsize = sb.newInodeExtraIsize();
        this.now = now;
        this.clamp = clamp;
        this.deterministic = clamp != null;
        this.factsReading = facts;
        this.listener = listener == null ? (n, b) -> { } : listener;
        long uid = 0;
        long gid = 0;
        try {
            uid = Integer.toUnsignedLong((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
            gid = Integer.toUnsignedLong((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:gid"));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            // no /proc: root, as mke2fs -d leaves files without an owner
        }
        this.asRoot = uid == 0;
        this.ownUid = uid;
        this.ownGid = gid;
        this.cursor = l.used.nextClearBit((int) g.firstDataBlock);
        this.copier = new Copier();
    }

    /**
     * Starts reading {@code src}'s sparse files, xattrs and (with {@code birthTimes}) creation times
     * with the host's tools, while mkfs lays the file system out.
     */
    static java.util.concurrent.Future<HostFacts> readFacts(Path src, java.util.function.Consumer<String> warnings,
            boolean birthTimes) {
        java.util.concurrent.FutureTask<HostFacts> t = new java.util.concurrent.FutureTask<>(
                () -> new HostFacts(warnings).read(src, birthTimes));
        Thread th = new Thread(t, "ext4j-host-facts");
        th.setDaemon(true);
        th.start();
        return t;
    }

    /** Puts what {@code src} holds into the root directory (which keeps mkfs's mode, owner and lost+found). */
    void build(Path src) throws IOException {
        try {
            facts = factsReading.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while reading " + src);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException(src + ": " + e.getCause(), e.getCause());
        }
        try {
            List<Child> root = new ArrayList<>();
            root.add(new Child("lost+found".getBytes(StandardCharsets.US_ASCII), 11, DirEntry.FT_DIR));
            int subdirs = 1 + children(src, "", 2, root);
            copier.finish();
            for (Punch p : copier.punches) {
                punch(p.copy, p.kept);
            }
            for (long[] link : links.values()) {
                if (link[1] > 1) {
                    itable.update(link[0], w -> w.linksCount((int) link[1]));
                }
            }
            byte[] raw = itable.read(2);
            long gen = Le.u32(raw, 0x64);
            InodeWriter w = new InodeWriter(sb, 2, raw);
            directory(w, 2, gen, 2, root, subdirs, l.rootBlock);
            w.mtime(now, 0).ctime(now, 0);
            itable.put(2, w.setChecksum().raw());
            itable.flush();
        } finally {
            copier.close();
        }
        l.recount();
    }

    /** Entries (names: files, directories, links...) and bytes of file contents put in. */
    long entries() {
        return entries;
    }

    long bytes() {
        return bytes;
    }

    /**
     * The extended attributes left for the file system's calls, set on the closed image {@code fs},
     * each inode's mode, owner and times set again after them.
     */
    void finishThrough(Ext4FileSystem fs) throws IOException {
        for (Map.Entry<String, Deferred> e : deferred.entrySet()) {
            Deferred d = e.getValue();
            Map<String, byte[]> x = new LinkedHashMap<>();
            for (String[] kv : d.xattrs) {
                x.put(kv[0], HexFormat.of().parseHex(kv[1]));
            }
            EntryImporter.setAttributes(fs, e.getKey(), d.symlink, x, d.mode, d.uid, d.gid, d.atime, d.mtime);
        }
    }

    boolean hasDeferred() {
        return !deferred.isEmpty();
    }

    // ---- the walk ------------------------------------------------------------------------------

    /** Puts the children of host directory {@code src} into directory {@code dirIno} (image path {@code path}); returns its subdirectories. */
    private int children(Path src, String path, long dirIno, List<Child> out) throws IOException {
        int subdirs = 0;
        for (Path c : HostTreeImporter.sortedChildren(src)) {
            String nameString = c.getFileName().toString();
            byte[] name = nameString.getBytes(StandardCharsets.UTF_8);
            if (name.length > NameTooLongException.NAME_MAX) {
                throw NameTooLongException.component(name);
            }
            String p = path + "/" + nameString;
            Map<String, Object> a = Files.readAttributes(c, HostFacts.LSTAT, LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) a.get("mode");
            int type = mode & InodeRecord.S_IFMT;
            if (dirIno == 2 && nameString.equals("lost+found")) {
                if (type == InodeRecord.S_IFDIR && HostTreeImporter.sortedChildren(c).isEmpty()) {
                    entries++;
                    continue; // the image has its own, as mke2fs makes it
                }
                throw new InvalidArgumentException(c + ": the source's lost+found is not an empty directory;"
                        + " the image's lost+found is made by mkfs");
            }
            if (type != InodeRecord.S_IFDIR && (Integer) a.get("nlink") > 1) {
                String key = a.get("dev") + ":" + a.get("ino");
                long[] seen = links.get(key);
                if (seen != null) {
                    seen[1]++;
                    out.add(new Child(name, seen[0], DirEntry.fileType(mode)));
                    entries++;
                    listener.copied(1, 0);
                    continue;
                }
            }
            long ino = l.newInode(type == InodeRecord.S_IFDIR);
            if (ino == 0) {
                throw new NoSpaceException(c + ": no inode left for it: the image has " + g.inodesCount
                        + " inodes (raise -N or lower -i) (ENOSPC)");
            }
            if (type != InodeRecord.S_IFDIR && (Integer) a.get("nlink") > 1) {
                links.put(a.get("dev") + ":" + a.get("ino"), new long[] {ino, 1});
            }
            long gen = deterministic ? 0 : generations.nextInt() & 0xFFFFFFFFL;
            long uid = asRoot ? Integer.toUnsignedLong((Integer) a.get("uid")) : ownUid;
            long gid = asRoot ? Integer.toUnsignedLong((Integer) a.get("gid")) : ownGid;
            Instant mtime = clamp(((FileTime) a.get("lastModifiedTime")).toInstant());
            // a reproducible build stores the clamped mtime as atime too: reading the source moves atimes
            Instant atime = clamp != null ? mtime : ((FileTime) a.get("lastAccessTime")).toInstant();
            byte[] raw = new byte[g.inodeSize];
            InodeWriter w = new InodeWriter(sb, ino, raw).extraIsize(extraIsize).mode(mode & 0xFFFF).uid(uid).gid(gid)
                    .generation(gen).linksCount(1);
            long size = ((Number) a.get("size")).longValue();
            switch (type) {
                case InodeRecord.S_IFDIR -> {
                    List<Child> list = new ArrayList<>();
                    int sub = children(c, p, ino, list);
                    directory(w, ino, gen, dirIno, list, sub, 0);
                    subdirs++;
                }
                case InodeRecord.S_IFREG -> {
                    regular(w, c, ino, gen, size, p);
                    bytes += size;
                }
                case InodeRecord.S_IFLNK -> symlink(w, c, ino, gen);
                case InodeRecord.S_IFCHR, InodeRecord.S_IFBLK, InodeRecord.S_IFIFO, InodeRecord.S_IFSOCK -> {
                    long rdev = ((Number) a.get("rdev")).longValue();
                    boolean device = type == InodeRecord.S_IFCHR || type == InodeRecord.S_IFBLK;
                    w.iBlock(InodeWriter.deviceBlock(device ? HostFacts.major(rdev) : 0, device ? HostFacts.minor(rdev) : 0));
                }
                default -> throw new IOException(c + ": unknown file type 0" + Integer.toOctalString(type));
            }
            // the source's creation time where its file system has one; a reproducible build's is the epoch
            Instant born = deterministic ? null : facts.birthTime(((Number) a.get("dev")).longValue(),
                    ((Number) a.get("ino")).longValue());
            w.atime(atime.getEpochSecond(), atime.getNano()).mtime(mtime.getEpochSecond(), mtime.getNano()).ctime(now, 0);
            if (born != null) {
                w.crtime(born.getEpochSecond(), born.getNano());
            } else {
                w.crtime(now, 0);
            }
            itable.put(ino, w.setChecksum().raw());
            if (type != InodeRecord.S_IFLNK) {
                List<String[]> x = facts.xattrs(c, type);
                if (!x.isEmpty()) {
                    deferred.put(p, new Deferred(false, mode & 07777, uid, gid, atime, mtime, x));
                }
            }
            out.add(new Child(name, ino, DirEntry.fileType(mode)));
            entries++;
            listener.copied(1, type == InodeRecord.S_IFREG ? size : 0);
        }
        return subdirs;
    }

    private Instant clamp(Instant t) {
        return clamp != null && t.isAfter(clamp) ? clamp : t;
    }

    private void regular(InodeWriter w, Path c, long ino, long gen, long size, String p) throws IOException {
        long blocks = (size + bs - 1) / bs;
        if (blocks - 1 > ExtentNodeWriter.MAX_LOGICAL_END) {
            throw new InvalidArgumentException(c + ": " + size + " bytes are more than a file of "
                    + bs + "-byte blocks holds (EFBIG)");
        }
        List<long[]> ext = new ArrayList<>();
        boolean sparse = size > 0 && facts.sparse(c, size);
        if (sparse) {
            copySparse(c, size, ext, p);
        } else if (size > 0) {
            allocate(0, blocks, ext, c);
        }
        List<Long> tree = new ArrayList<>();
        w.iBlock(extentTree(ino, gen, ext, tree)).flags(InodeRecord.FL_EXTENTS).size(size)
                .blocks512((mapped(ext) + tree.size()) * (bs / 512));
        if (!sparse && size > 0) {
            copier.submit(new Copy(c, size, ext.toArray(new long[0][]), p, ino, gen, tree));
        }
    }

    private static long mapped(List<long[]> ext) {
        long n = 0;
        for (long[] e : ext) {
            n += e[1];
        }
        return n;
    }

    /**
     * A copied file some of whose blocks were all zero: they become holes, as mke2fs {@code -d}
     * leaves them (its blocks, and the extent tree's, are given back and the tree made again from
     * the blocks that hold data).
     */
    private void punch(Copy c, List<long[]> kept) throws IOException {
        for (long[] r : c.runs) {
            l.used.clear((int) r[2], (int) (r[2] + r[1]));
        }
        for (long b : c.treeBlocks) {
            l.used.clear((int) b);
        }
        for (long[] e : kept) {
            l.used.set((int) e[2], (int) (e[2] + e[1]));
        }
        List<Long> tree = new ArrayList<>();
        byte[] iBlock = extentTree(c.ino, c.gen, kept, tree);
        long blocks512 = (mapped(kept) + tree.size()) * (bs / 512);
        itable.update(c.ino, w -> w.iBlock(iBlock).blocks512(blocks512));
    }

    private void symlink(InodeWriter w, Path c, long ino, long gen) throws IOException {
        byte[] target = Files.readSymbolicLink(c).toString().getBytes(StandardCharsets.UTF_8);
        if (target.length > 4095 || target.length >= bs) {
            throw NameTooLongException.symlinkTarget(target.length, Math.min(4095, bs - 1));
        }
        w.size(target.length);
        if (target.length < InodeRecord.I_BLOCK_SIZE) {
            w.iBlock(java.util.Arrays.copyOf(target, InodeRecord.I_BLOCK_SIZE)); // fast: in i_block, no extents
            return;
        }
        List<long[]> ext = new ArrayList<>();
        allocate(0, 1, ext, c);
        dev.write(ext.get(0)[2] * bs, ByteBuffer.wrap(java.util.Arrays.copyOf(target, bs)));
        w.iBlock(extentTree(ino, gen, ext, new ArrayList<>())).flags(InodeRecord.FL_EXTENTS).blocks512(bs / 512);
    }

    /** Takes {@code n} blocks for logical blocks from {@code logical}, as few runs as the free space allows, onto {@code ext}. */
    private void allocate(long logical, long n, List<long[]> ext, Path forWhat) throws IOException {
        long left = n;
        while (left > 0) {
            long[] run = l.allocateRun(cursor, Math.min(left, 32768));
            if (run == null) {
                throw new NoSpaceException((forWhat == null ? "a directory or extent block" : forWhat.toString())
                        + ": no space left in the image for it: " + g.blocksCount + " blocks of " + bs
                        + " bytes are too few for the tree (give a larger SIZE) (ENOSPC)");
            }
            append(ext, new long[] {logical, run[1], run[0]});
            logical += run[1];
            left -= run[1];
            cursor = run[0] + run[1];
        }
    }

    /** Adds extent {@code e} to {@code ext}, merged into the last one where it continues it (up to 32768 blocks). */
    private static void append(List<long[]> ext, long[] e) {
        long[] last = ext.isEmpty() ? null : ext.get(ext.size() - 1);
        if (last != null && last[2] + last[1] == e[2] && last[0] + last[1] == e[0] && last[1] + e[1] <= 32768) {
            last[1] += e[1];
        } else {
            ext.add(e);
        }
    }

    /**
     * A file with fewer blocks than its size: read here, its all-zero blocks left as holes, the
     * others written to blocks taken per run of data.
     */
    private void copySparse(Path c, long size, List<long[]> ext, String p) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(CHUNK);
        try (FileChannel in = FileChannel.open(c, StandardOpenOption.READ)) {
            long pos = 0;
            while (pos < size) {
                buf.clear();
                buf.limit((int) Math.min(CHUNK, size - pos));
                while (buf.hasRemaining()) {
                    if (in.read(buf, pos + buf.position()) < 0) {
                        throw shrank(c, p, size, pos + buf.position());
                    }
                }
                byte[] b = buf.array();
                int n = buf.position();
                int at = 0;
                while (at < n) {
                    int len = Math.min(bs, n - at);
                    if (allZero(b, at, len)) {
                        at += len;
                        continue;
                    }
                    int end = at + len;
                    while (end < n && !allZero(b, end, Math.min(bs, n - end))) {
                        end += Math.min(bs, n - end);
                    }
                    List<long[]> runs = new ArrayList<>();
                    allocate((pos + at) / bs, ((long) end - at + bs - 1) / bs, runs, c);
                    int off = at;
                    for (long[] e : runs) {
                        int len2 = (int) Math.min(e[1] * bs, end - off);
                        byte[] whole = java.util.Arrays.copyOf(java.util.Arrays.copyOfRange(b, off, off + len2),
                                (len2 + bs - 1) / bs * bs);
                        dev.write(e[2] * bs, ByteBuffer.wrap(whole));
                        off += len2;
                        append(ext, e);
                    }
                    at = end;
                }
                pos += n;
            }
        }
    }

    private static boolean allZero(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static IOException shrank(Path c, String p, long size, long at) {
        return new java.io.EOFException(c + ": the file ended after " + at + " bytes while " + p
                + " was copied into the image, short of the " + size + " it had when listed");
    }

    // ---- directories ---------------------------------------------------------------------------

    /**
     * Lays out directory {@code ino} with "." and ".." ({@code parent}) and {@code list}: one or two
     * blocks, or an htree past two where the image has dir_index (a linear list without), written to
     * blocks of its own ({@code firstBlock} as its first block when not 0), and sets the inode's
     * size, blocks, links, flags and i_block.
     */
    private void directory(InodeWriter w, long ino, long gen, long parent, List<Child> list, int subdirs, long firstBlock)
            throws IOException {
        int seed = InodeRecord.checksumSeed(sb, ino, gen);
        List<byte[]> blocks = pack(list, ino, parent, true);
        boolean indexed = false;
        // an index for two blocks would cost a third and save nothing: a lookup reads root and
        // leaf, two blocks, as a scan of the linear pair does
        if (blocks.size() > 2 && dirIndex) {
            blocks = htree(list, ino, parent, seed);
            indexed = true;
        } else if (csum) {
            for (byte[] b : blocks) {
                DirEntryWriter.setTailChecksum(b, bs, seed);
            }
        }
        List<long[]> ext = new ArrayList<>();
        if (firstBlock != 0) {
            ext.add(new long[] {0, 1, firstBlock});
        }
        if (blocks.size() > ext.size()) {
            allocate(ext.size(), blocks.size() - ext.size(), ext, null);
        }
        int i = 0;
        for (long[] e : ext) {
            for (int k = 0; k < e[1]; k++) {
                dev.write((e[2] + k) * bs, ByteBuffer.wrap(blocks.get(i++)));
            }
        }
        List<Long> treeBlocks = new ArrayList<>();
        long links = 2L + subdirs;
        if (links >= LINK_MAX) {
            if (!dirNlink) {
                throw new InvalidArgumentException("a directory with " + subdirs + " subdirectories needs dir_nlink (EMLINK)");
            }
            links = 1;
        }
        w.iBlock(extentTree(ino, gen, ext, treeBlocks)).size((long) blocks.size() * bs).linksCount((int) links)
                .flags(InodeRecord.FL_EXTENTS | (indexed ? InodeRecord.FL_INDEX : 0))
                .blocks512((blocks.size() + treeBlocks.size()) * (bs / 512));
    }

    /** The records of {@code list} (after "." and ".." when {@code dots}) packed into blocks in order, each block's last record spanning to its end (or tail). */
    private List<byte[]> pack(List<Child> list, long ino, long parent, boolean dots) {
        int usable = bs - (csum ? DirEntry.TAIL_SIZE : 0);
        List<byte[]> blocks = new ArrayList<>();
        byte[] b = new byte[bs];
        int off = 0;
        int last = -1;
        if (dots) {
            int dot = DirEntry.recLenFor(1);
            DirEntryWriter.put(b, 0, ino, dot, new byte[] {'.'}, DirEntry.FT_DIR, filetype, bs);
            DirEntryWriter.put(b, dot, parent, DirEntry.recLenFor(2), new byte[] {'.', '.'}, DirEntry.FT_DIR, filetype, bs);
            last = dot;
            off = dot + DirEntry.recLenFor(2);
        }
        for (Child c : list) {
            int rl = DirEntry.recLenFor(c.name.length);
            if (off + rl > usable) {
                close(b, last, usable);
                blocks.add(b);
                b = new byte[bs];
                off = 0;
            }
            DirEntryWriter.put(b, off, c.ino, rl, c.name, c.type, filetype, bs);
            last = off;
            off += rl;
        }
        if (last >= 0) {
            close(b, last, usable);
            blocks.add(b);
        }
        return blocks;
    }

    private void close(byte[] b, int last, int usable) {
        DirEntryWriter.setRecLen(b, last, usable - last, bs);
        if (csum) {
            DirEntryWriter.initTail(b, bs);
        }
    }

    /** An htree of {@code list}: the dx root, one level of index nodes when the root cannot point at every leaf, the leaves in hash order. */
    private List<byte[]> htree(List<Child> list, long ino, long parent, int seed) throws InvalidArgumentException {
        int version = sb.defHashVersion;
        int hashVersion = version <= DxHash.TEA && (sb.flags & Superblock.FLAGS_UNSIGNED_HASH) != 0 ? version + 3 : version;
        int n = list.size();
        long[] key = new long[n]; // (hash / 2) << 32 | index (the low bit of a hash is 0): sorted, the hash order
        for (int i = 0; i < n; i++) {
            byte[] name = list.get(i).name;
            long h = DxHash.hash(name, 0, name.length, hashVersion, sb.hashSeed).major() & 0xFFFFFFFFL;
            key[i] = (h >>> 1) << 32 | i;
        }
        java.util.Arrays.sort(key);
        int usable = bs - (csum ? DirEntry.TAIL_SIZE : 0);
        List<byte[]> leaves = new ArrayList<>();
        List<Long> leafHash = new ArrayList<>();
        byte[] b = null;
        int off = 0;
        int last = -1;
        long prevHash = -1;
        for (int k = 0; k < n; k++) {
            Child c = list.get((int) key[k]);
            long h = (key[k] >>> 32) << 1;
            int rl = DirEntry.recLenFor(c.name.length);
            if (b == null || off + rl > usable) {
                if (b != null) {
                    close(b, last, usable);
                }
                b = new byte[bs];
                leaves.add(b);
                leafHash.add(h == prevHash ? h | 1 : h); // a run of one hash going on into this leaf
                off = 0;
            }
            DirEntryWriter.put(b, off, c.ino, rl, c.name, c.type, filetype, bs);
            last = off;
            off += rl;
            prevHash = h;
        }
        close(b, last, usable);
        if (csum) {
            for (byte[] leaf : leaves) {
                DirEntryWriter.setTailChecksum(leaf, bs, seed);
            }
        }
        int rootLimit = DxNodeWriter.rootLimit(bs, csum);
        int nodeLimit = DxNodeWriter.nodeLimit(bs, csum);
        int leafCount = leaves.size();
        int nodes = leafCount <= rootLimit ? 0 : (leafCount + nodeLimit - 1) / nodeLimit;
        if (nodes > rootLimit) {
            throw new InvalidArgumentException("a directory of " + n + " names needs more than two htree levels"
                    + " (large_dir, which ext4j mkfs does not make)");
        }
        byte[] root = new byte[bs];
        DirEntryWriter.initDotBlock(root, bs, ino, parent, filetype, false, 0);
        DxNodeWriter.initRoot(root, bs, csum, version, 0);
        List<byte[]> out = new ArrayList<>();
        out.add(root);
        int firstLeaf = 1 + nodes;
        if (nodes == 0) {
            fill(root, DxNode.ROOT_ENTRIES_OFFSET, 0, leafCount, firstLeaf, leafHash);
        } else {
            DxNodeWriter.setIndirectLevels(root, 1);
            DxNodeWriter.setCount(root, DxNode.ROOT_ENTRIES_OFFSET, nodes);
            for (int k = 0; k < nodes; k++) {
                int from = k * nodeLimit;
                int to = Math.min(leafCount, from + nodeLimit);
                if (k > 0) {
                    DxNodeWriter.setHash(root, DxNode.ROOT_ENTRIES_OFFSET, k, leafHash.get(from));
                }
                DxNodeWriter.setBlock(root, DxNode.ROOT_ENTRIES_OFFSET, k, 1 + k);
                byte[] node = new byte[bs];
                DxNodeWriter.initNode(node, bs, csum);
                fill(node, DxNode.NODE_ENTRIES_OFFSET, from, to, firstLeaf, leafHash);
                if (csum) {
                    DxNodeWriter.setTail(node, DxNode.NODE_ENTRIES_OFFSET, seed);
                }
                out.add(node);
            }
        }
        if (csum) {
            DxNodeWriter.setTail(root, DxNode.ROOT_ENTRIES_OFFSET, seed);
        }
        out.addAll(leaves);
        return out;
    }

    /** Index entries for leaves [from, to) (logical block {@code firstLeaf} + leaf number) in the node at {@code entries}. */
    private static void fill(byte[] b, int entries, int from, int to, int firstLeaf, List<Long> leafHash) {
        DxNodeWriter.setCount(b, entries, to - from);
        for (int i = from; i < to; i++) {
            if (i > from) {
                DxNodeWriter.setHash(b, entries, i - from, leafHash.get(i));
            }
            DxNodeWriter.setBlock(b, entries, i - from, firstLeaf + i);
        }
    }

    // ---- extent trees --------------------------------------------------------------------------

    /**
     * i_block mapping {@code ext} ({logical, length, physical} in order): the extents in the inode
     * when four or fewer, else leaf blocks and as many index levels as needed, taken near the data
     * and written here, their numbers added to {@code treeBlocks}.
     */
    private byte[] extentTree(long ino, long gen, List<long[]> ext, List<Long> treeBlocks) throws IOException {
        byte[] iBlock = new byte[InodeRecord.I_BLOCK_SIZE];
        ExtentNodeWriter.initRoot(iBlock);
        List<long[]> level = ext;
        int depth = 0;
        int cap = ExtentNodeWriter.blockCapacity(bs);
        while (level.size() > ExtentNodeWriter.ROOT_CAPACITY) {
            List<long[]> up = new ArrayList<>();
            for (int i = 0; i < level.size(); i += cap) {
                int n = Math.min(cap, level.size() - i);
                List<long[]> one = new ArrayList<>();
                allocate(0, 1, one, null);
                long blk = one.get(0)[2];
                byte[] b = new byte[bs];
                ExtentNodeWriter.initHeader(b, 0, cap, depth);
                put(b, 0, level.subList(i, i + n), depth);
                if (csum) {
                    ExtentNodeWriter.setTail(b, InodeRecord.checksumSeed(sb, ino, gen));
                }
                dev.write(blk * bs, ByteBuffer.wrap(b));
                treeBlocks.add(blk);
                up.add(new long[] {level.get(i)[0], blk});
            }
            level = up;
            depth++;
        }
        ExtentNodeWriter.setDepth(iBlock, 0, depth);
        put(iBlock, 0, level, depth);
        return iBlock;
    }

    private static void put(byte[] b, int off, List<long[]> entries, int depth) {
        for (int i = 0; i < entries.size(); i++) {
            long[] e = entries.get(i);
            if (depth == 0) {
                ExtentNodeWriter.putExtent(b, off, i, e[0], (int) e[1], e[2], false);
            } else {
                ExtentNodeWriter.putIndex(b, off, i, e[0], e[1]);
            }
        }
        ExtentNodeWriter.setEntries(b, off, entries.size());
    }

    // ---- inode tables --------------------------------------------------------------------------

    /**
     * The inode tables, a group's at a time: inodes are handed out in order, so the walk fills one
     * group's table in memory and writes it when it moves on; an inode of an earlier group (a
     * directory finished after its contents) is written alone.
     */
    private final class InodeTables {
        private long group = -1;
        private byte[] table;
        /** Bytes of {@link #table} holding inodes put so far. */
        private int filled;

        void put(long ino, byte[] raw) throws IOException {
            long grp = (ino - 1) / g.inodesPerGroup;
            int off = (int) ((ino - 1) % g.inodesPerGroup) * g.inodeSize;
            if (grp == group) {
                System.arraycopy(raw, 0, table, off, raw.length);
                filled = Math.max(filled, off + raw.length);
                return;
            }
            if (grp < group) {
                dev.write(l.inodeTable[(int) grp] * bs + off, ByteBuffer.wrap(raw));
                return;
            }
            flush();
            group = grp;
            table = new byte[(int) g.inodesPerGroup * g.inodeSize];
            filled = 0;
            if (grp == 0) { // the reserved inodes, root and lost+found are there already
                int reserved = MkfsGeometry.FIRST_INO * g.inodeSize;
                dev.read(l.inodeTable[0] * bs, ByteBuffer.wrap(table, 0, reserved));
                filled = reserved;
            }
            put(ino, raw);
        }

        byte[] read(long ino) throws IOException {
            long grp = (ino - 1) / g.inodesPerGroup;
            int off = (int) ((ino - 1) % g.inodesPerGroup) * g.inodeSize;
            byte[] raw = new byte[g.inodeSize];
            if (grp == group) {
                System.arraycopy(table, off, raw, 0, raw.length);
            } else {
                dev.read(l.inodeTable[(int) grp] * bs + off, ByteBuffer.wrap(raw));
            }
            return raw;
        }

        void update(long ino, java.util.function.Consumer<InodeWriter> change) throws IOException {
            byte[] raw = read(ino);
            InodeWriter w = new InodeWriter(sb, ino, raw);
            change.accept(w);
            put(ino, w.setChecksum().raw());
        }

        void flush() throws IOException {
            if (table != null && filled > 0) {
                int len = (filled + bs - 1) / bs * bs;
                dev.write(l.inodeTable[(int) group] * bs, ByteBuffer.wrap(table, 0, len));
            }
        }
    }

    // ---- copying contents ----------------------------------------------------------------------

    /** Host file {@code src}'s first {@code size} bytes to the blocks of {@code runs} ({logical, length, physical}). */
    private record Copy(Path src, long size, long[][] runs, String imagePath, long ino, long gen, List<Long> treeBlocks) {
    }

    /** A copy that found all-zero blocks: the extents of the blocks that hold data. */
    private record Punch(Copy copy, List<long[]> kept) {
    }

    /**
     * {@link #COPIERS} threads copying file contents into their blocks (a direct buffer each, whole
     * blocks written, the last one's tail zeroed) while the walk goes on; the first failure is
     * rethrown to the walk at its next submit or at {@link #finish}.
     */
    private final class Copier implements AutoCloseable {
        private static final Copy END = new Copy(null, 0, null, null, 0, 0, null);
        /** Copies that found all-zero blocks, for {@link #punch} once every copy is done. */
        final java.util.Queue<Punch> punches = new java.util.concurrent.ConcurrentLinkedQueue<>();
        private final BlockingQueue<Copy> queue = new ArrayBlockingQueue<>(4096);
        private final AtomicReference<IOException> failure = new AtomicReference<>();
        private final List<Thread> threads = new ArrayList<>();
        private boolean finished;

        Copier() {
            for (int i = 0; i < COPIERS; i++) {
                Thread t = new Thread(this::run, "ext4j-mkfs-copy-" + i);
                t.setDaemon(true);
                t.start();
                threads.add(t);
            }
        }

        void submit(Copy c) throws IOException {
            rethrow();
            try {
                queue.put(c);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while copying " + c.src);
            }
        }

        private void rethrow() throws IOException {
            IOException e = failure.get();
            if (e != null) {
                throw e;
            }
        }

        /** Waits for every copy; rethrows the first failure. */
        void finish() throws IOException {
            stop();
            rethrow();
        }

        private void stop() {
            if (finished) {
                return;
            }
            finished = true;
            for (int i = 0; i < threads.size(); i++) {
                while (true) {
                    try {
                        queue.put(END);
                        break;
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
            for (Thread t : threads) {
                while (true) {
                    try {
                        t.join();
                        break;
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        }

        @Override
        public void close() {
            if (!finished) {
                failure.compareAndSet(null, new IOException("stopped"));
                queue.clear();
                stop();
            }
        }

        private void run() {
            ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
            ByteBuffer zero = ByteBuffer.allocateDirect(bs);
            while (true) {
                Copy c;
                try {
                    c = queue.take();
                } catch (InterruptedException e) {
                    return;
                }
                if (c == END) {
                    return;
                }
                if (failure.get() != null) {
                    continue; // drain: the build fails anyway
                }
                try {
                    copy(c, buf, zero);
                } catch (IOException e) {
                    failure.compareAndSet(null, e);
                } catch (RuntimeException e) {
                    failure.compareAndSet(null, new IOException(c.src + ": " + e, e));
                }
            }
        }

        private void copy(Copy c, ByteBuffer buf, ByteBuffer zero) throws IOException {
            List<long[]> kept = new ArrayList<>();
            boolean holes = false;
            try (FileChannel in = FileChannel.open(c.src, StandardOpenOption.READ)) {
                for (long[] run : c.runs) {
                    long pos = run[0] * bs;
                    long end = Math.min(c.size, (run[0] + run[1]) * bs);
                    while (pos < end) {
                        buf.clear();
                        buf.limit((int) Math.min(CHUNK, end - pos));
                        while (buf.hasRemaining()) {
                            int n = in.read(buf, pos + buf.position());
                            if (n < 0) {
                                throw shrank(c.src, c.imagePath, c.size, pos + buf.position());
                            }
                        }
                        int n = buf.position();
                        int whole = (n + bs - 1) / bs * bs;
                        buf.limit(whole);
                        while (buf.position() < whole) {
                            buf.put((byte) 0);
                        }
                        long logical = pos / bs;
                        long physical = run[2] + (logical - run[0]);
                        int blocks = whole / bs;
                        int from = -1; // first block of the pending run of blocks with data
                        for (int k = 0; k <= blocks; k++) {
                            boolean data = k < blocks && !isZero(buf, k * bs, zero);
                            if (data) {
                                if (from < 0) {
                                    from = k;
                                }
                                continue;
                            }
                            if (k < blocks) {
                                holes = true;
                            }
                            if (from >= 0) {
                                buf.limit(k * bs).position(from * bs);
                                dev.write((physical + from) * bs, buf);
                                append(kept, new long[] {logical + from, k - from, physical + from});
                                from = -1;
                            }
                        }
                        pos += n;
                    }
                }
            }
            if (holes) {
                punches.add(new Punch(c, kept));
            }
        }

        /** Whether the block at {@code off} of {@code buf} is all zero, compared with the zero block {@code zero}. */
        private boolean isZero(ByteBuffer buf, int off, ByteBuffer zero) {
            ByteBuffer b = buf.duplicate();
            b.limit(off + bs).position(off);
            return b.mismatch(zero.duplicate()) < 0;
        }
    }
}
