package org.ext4j.namespace;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

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
 * ({@code fs/ext4/dir.c}, {@code namei.c}, {@code inline.c}). Listing walks every leaf block in
 * logical order (htree index blocks read as empty entries, as the format intends); lookup of a name
 * in an indexed directory hashes it and descends the index ({@code dx_probe}), falling back to a
 * linear scan when the index itself is malformed, exactly when the kernel does ({@code ERR_BAD_DX_DIR}).
 */
public final class Directory {
    private static final int INLINE_DOTDOT_SIZE = 4;

    private final Volume volume;
    private final Inode dir;
    private final Superblock sb;
    private final boolean fileType;
    private final boolean csum;
    private final int seed;

    public Directory(Volume volume, Inode dir) throws WrongTypeException {
        if (!dir.record().isDirectory()) {
            throw new WrongTypeException("inode " + dir.number() + " is not a directory");
        }
        this.volume = volume;
        this.dir = dir;
        this.sb = volume.superblock();
        this.fileType = sb.hasIncompat(Features.INCOMPAT_FILETYPE);
        this.csum = sb.hasMetadataCsum();
        this.seed = dir.record().checksumSeed(sb);
    }

    public Inode inode() {
        return dir;
    }

    /** Every live entry, "." and ".." included, in on-disk order. */
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
        if (dir.isInline()) {
            forEachInline(v);
            return;
        }
        int bs = volume.blockSize();
        long blocks = (dir.size() + bs - 1) / bs;
        long lblk = 0;
        boolean[] stop = {false};
        while (lblk < blocks && !stop[0]) {
            Mapping m = dir.map(lblk, blocks - lblk);
            if (m.state() != BlockMap.State.WRITTEN) {
                lblk += m.length(); // holes and unwritten blocks hold no entries
                continue;
            }
            for (long i = 0; i < m.length() && !stop[0]; i++) {
                long pblk = m.physical() + i;
                byte[] b = volume.readBlock(pblk, dir.number());
                walkBlock(b, pblk, lblk + i, e -> {
                    if (e.inode() != 0 && !v.visit(e)) {
                        stop[0] = true;
                        return false;
                    }
                    return true;
                });
            }
            lblk += m.length();
        }
    }

    /**
     * Walks one directory block. As the kernel's {@code __ext4_read_dirblock} decides, block 0 of an
     * indexed directory is the dx root, whatever its last 12 bytes look like (turning a directory
     * into an htree leaves a stale dirent tail there): only "." and ".." are entries in it, and the
     * ".." record spans the rest. Interior index blocks yield nothing. Leaf blocks have their
     * checksum tail verified.
     */
    private void walkBlock(byte[] b, long pblk, long lblk, DirEntry.Visitor v) throws IOException {
        int bs = volume.blockSize();
        boolean indexed = dir.record().hasFlag(InodeRecord.FL_INDEX);
        if (indexed && lblk == 0) {
            DirEntry.walk(b, 0, bs, bs, fileType, sb.inodesCount, dir.number(), pblk, v);
            return;
        }
        if (indexed && isDxNode(b)) {
            return; // an interior index block: no dirent tail, its own dx_tail
        }
        walkLeaf(b, pblk, v);
    }

    /** Walks a leaf block, verifying its checksum tail when it has one. */
    private void walkLeaf(byte[] b, long pblk, DirEntry.Visitor v) throws IOException {
        int bs = volume.blockSize();
        int end = bs;
        if (csum && DirEntry.hasTail(b, bs)) {
            DirEntry.verifyTail(b, bs, seed, dir.number(), pblk);
            end = bs - DirEntry.TAIL_SIZE;
        }
        DirEntry.walk(b, 0, end, bs, fileType, sb.inodesCount, dir.number(), pblk, v);
    }

    private boolean isDxNode(byte[] b) {
        int bs = volume.blockSize();
        return Le.u32(b, 0) == 0 && DirEntry.recLenFromDisk(Le.u16(b, 4), bs) == bs;
    }

    private void forEachInline(DirEntry.Visitor v) throws IOException {
        byte[] data = dir.inlineData();
        if (data.length < InodeRecord.I_BLOCK_SIZE) {
            throw CorruptionException.of(Kind.BAD_INLINE_DATA).inode(dir.number()).build("inline directory is too short");
        }
        long parent = Le.u32(data, 0);
        if (!v.visit(new DirEntry(dir.number(), 12, new byte[] {'.'}, DirEntry.FT_DIR, -1))) {
            return;
        }
        if (!v.visit(new DirEntry(parent, 12, new byte[] {'.', '.'}, DirEntry.FT_DIR, 0))) {
            return;
        }
        boolean[] stop = {false};
        DirEntry.Visitor live = e -> {
            if (e.inode() != 0 && !v.visit(e)) {
                stop[0] = true;
                return false;
            }
            return true;
        };
        int bs = volume.blockSize();
        DirEntry.walk(data, INLINE_DOTDOT_SIZE, InodeRecord.I_BLOCK_SIZE, bs, fileType, sb.inodesCount,
                dir.number(), -1, live);
        if (!stop[0] && data.length > InodeRecord.I_BLOCK_SIZE) {
            DirEntry.walk(data, InodeRecord.I_BLOCK_SIZE, data.length, bs, fileType, sb.inodesCount,
                    dir.number(), -1, live);
        }
    }

    /** Looks up one name; returns its entry or null. */
    public DirEntry lookup(byte[] name) throws IOException {
        if (!dir.isInline() && dir.record().hasFlag(InodeRecord.FL_INDEX)
                && sb.hasCompat(Features.COMPAT_DIR_INDEX)) {
            try {
                return dxLookup(name);
            } catch (CorruptionException e) {
                if (e.kind() != Kind.BAD_HTREE) {
                    throw e;
                }
                // a malformed index: the leaves are still valid directory blocks (ERR_BAD_DX_DIR)
            }
        }
        DirEntry[] found = {null};
        forEach(e -> {
            if (e.nameEquals(name)) {
                found[0] = e;
                return false;
            }
            return true;
        });
        return found[0];
    }

    /** {@code dx_probe} then a search of the leaf and of continuation leaves that share the hash. */
    private DirEntry dxLookup(byte[] name) throws IOException {
        int bs = volume.blockSize();
        byte[] root = readDirBlock(0);
        CorruptionException.Builder err = CorruptionException.of(Kind.BAD_HTREE).inode(dir.number());
        DxNode.RootInfo info = DxNode.rootInfo(root);
        int maxLevels = sb.hasIncompat(Features.INCOMPAT_LARGEDIR) ? DxNode.MAX_LEVELS_LARGEDIR : 2;
        if (Le.u32(root, DxNode.ROOT_INFO_OFFSET) != 0 || info.infoLength() != 8) {
            throw err.build("dx_root_info is malformed");
        }
        if (info.indirectLevels() >= maxLevels) {
            throw err.build("dx indirect_levels " + info.indirectLevels() + " exceeds " + (maxLevels - 1));
        }
        int version = info.hashVersion();
        if (version <= DxHash.TEA && (sb.flags & Superblock.FLAGS_UNSIGNED_HASH) != 0) {
            version += 3;
        }
        if (version > DxHash.TEA_UNSIGNED) {
            throw err.build("unsupported dx hash version " + info.hashVersion());
        }
        long hash = DxHash.hash(name, 0, name.length, version, sb.hashSeed).major() & 0xFFFFFFFFL;
        byte[] block = root;
        long lblk = 0;
        int entriesOffset = DxNode.ROOT_INFO_OFFSET + info.infoLength();
        DxNode node = null;
        int at = 0;
        for (int level = 0; level <= info.indirectLevels(); level++) {
            node = DxNode.decode(block, entriesOffset, bs, csum, dir.number(), lblk);
            if (csum) {
                node.verifyTail(block, seed, dir.number(), lblk);
            }
            at = node.find(hash);
            if (level < info.indirectLevels()) {
                lblk = node.block(at);
                block = readDirBlock(lblk);
                entriesOffset = DxNode.NODE_ENTRIES_OFFSET;
            }
        }
        for (int i = at; i < node.count(); i++) {
            if (i > at && (node.hash(i) & ~1L) != hash) {
                break; // the next leaf does not continue this hash: the name is not there
            }
            long leaf = node.block(i);
            DirEntry hit = searchLeaf(leaf, name);
            if (hit != null) {
                return hit;
            }
        }
        return null;
    }

    private DirEntry searchLeaf(long lblk, byte[] name) throws IOException {
        Mapping m = dir.map(lblk, 1);
        if (m.state() != BlockMap.State.WRITTEN) {
            throw CorruptionException.of(Kind.BAD_HTREE).inode(dir.number()).block(lblk)
                    .build("htree points at logical block " + lblk + ", which is not mapped");
        }
        byte[] b = volume.readBlock(m.physical(), dir.number());
        DirEntry[] found = {null};
        walkLeaf(b, m.physical(), e -> {
            if (e.inode() != 0 && e.nameEquals(name)) {
                found[0] = e;
                return false;
            }
            return true;
        });
        return found[0];
    }

    private byte[] readDirBlock(long lblk) throws IOException {
        int bs = volume.blockSize();
        if (lblk >= (dir.size() + bs - 1) / bs) {
            throw CorruptionException.of(Kind.BAD_HTREE).inode(dir.number())
                    .build("htree points at logical block " + lblk + ", past the directory's end");
        }
        Mapping m = dir.map(lblk, 1);
        if (m.state() != BlockMap.State.WRITTEN) {
            throw CorruptionException.of(Kind.BAD_HTREE).inode(dir.number())
                    .build("htree block " + lblk + " is not mapped");
        }
        return volume.readBlock(m.physical(), dir.number());
    }
}
