package org.ext4j.extents;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.ExtentNode;
import org.ext4j.format.ExtentNode.Extent;
import org.ext4j.format.ExtentNode.Index;
import org.ext4j.volume.Volume;

/**
 * Lookup in an inode's on-disk extent tree ({@code ext4_find_extent} and the read side of
 * {@code ext4_ext_map_blocks} in {@code fs/ext4/extents.c}). The root lives in i_block; interior
 * and leaf nodes are tree blocks with a crc32c tail. Descent is bounded by the depth in the root
 * (each child must be exactly one level lower), so a loop in the tree cannot make it spin.
 *
 * <p>Every node is checked whole when it is decoded, as {@code __ext4_ext_check} does through
 * {@code ext4_valid_extent_entries}: each index's child block and each extent's physical range must
 * lie inside the file system and outside the system zone ({@link Volume#checkFileBlocks}), so a tree
 * pointing into an inode table, a bitmap or the journal is refused before any block is read through
 * it, and a mapping handed out was checked where it was decoded.
 *
 * <p>Verified once ({@code buffer_verified}): the root is decoded and checked once per reader, and
 * the last node verified at each depth is kept with its bytes; a tree block read again with the same
 * bytes is not decoded, checksummed and checked again. Without that, reading a file of many small
 * extents in small pieces decodes and checks a whole leaf for every piece. Shared by reader threads:
 * the kept nodes are immutable and replaced whole.
 */
public final class ExtentTreeReader implements BlockMap {
    private final Volume volume;
    private final long inode;
    private final byte[] root;
    private final int checksumSeed;
    private final boolean verify;
    /** The root once decoded and checked; i_block is this reader's own copy, so it stays valid. */
    private volatile ExtentNode checkedRoot;
    /** By depth: the last tree block verified at that depth, with the bytes it was verified from. */
    private final AtomicReferenceArray<Verified> verified = new AtomicReferenceArray<>(ExtentNode.MAX_DEPTH + 1);

    private record Verified(long pblk, byte[] bytes, ExtentNode node) {
    }

    public ExtentTreeReader(Volume volume, long inode, byte[] iBlock, int checksumSeed) {
        this.volume = volume;
        this.inode = inode;
        this.root = iBlock.clone();
        this.checksumSeed = checksumSeed;
        this.verify = volume.superblock().hasMetadataCsum();
    }

    private ExtentNode rootNode() throws CorruptionException {
        ExtentNode node = checkedRoot;
        if (node == null) {
            node = ExtentNode.decode(root, 0, root.length, inode, -1, -1);
            checkEntries(node);
            checkedRoot = node;
        }
        return node;
    }

    /**
     * {@code ext4_ext_check_inode}, which the kernel runs when it loads the inode: the root in i_block
     * decodes and every block it names is valid. {@link org.ext4j.inode.Inode#load} calls it, so a bad
     * root fails {@code stat} as the kernel's {@code iget} does.
     */
    public void checkRoot() throws CorruptionException {
        rootNode();
    }

    /** {@code ext4_valid_extent} / {@code ext4_valid_extent_idx} for every entry of {@code node}. */
    private void checkEntries(ExtentNode node) throws CorruptionException {
        for (int i = 0; i < node.entries(); i++) {
            if (node.isLeaf()) {
                Extent e = node.extent(i);
                volume.checkFileBlocks(inode, e.logical(), e.physical(), e.length(), "file data");
            } else {
                Index ix = node.index(i);
                volume.checkFileBlocks(inode, ix.logical(), ix.child(), 1, "extent tree block");
            }
        }
    }

    /**
     * Reads the child at {@code pblk}; as {@code ext4_valid_extent_entries} requires, its first entry
     * must start exactly where the parent's index entry says the subtree starts.
     */
    private ExtentNode child(Index parent, int depth) throws IOException {
        long pblk = parent.child();
        byte[] b = volume.readBlock(pblk, inode);
        Verified known = depth >= 0 && depth < verified.length() ? verified.get(depth) : null;
        if (known != null && known.pblk() == pblk && Arrays.equals(known.bytes(), b)) {
            known.node().checkStartsAt(parent.logical(), inode, pblk); // depends on the parent, not the bytes
            return known.node();
        }
        ExtentNode node = ExtentNode.decode(b, 0, b.length, inode, pblk, depth);
        if (verify) {
            ExtentNode.verifyTail(b, checksumSeed, inode, pblk);
        }
        node.checkStartsAt(parent.logical(), inode, pblk);
        checkEntries(node);
        if (depth >= 0 && depth < verified.length()) {
            verified.set(depth, new Verified(pblk, b, node)); // b is this read's own copy
        }
        return node;
    }

    @Override
    public Mapping map(long lblk, long maxLen) throws IOException {
        ExtentNode node = rootNode();
        long nextStart = 1L << 32; // first logical block covered by anything to the right
        while (!node.isLeaf()) {
            int i = node.find(lblk);
            if (i < 0) {
                // before the first index: a hole up to where the first subtree starts
                return hole(lblk, node.index(0).logical(), maxLen);
            }
            if (i + 1 < node.entries()) {
                nextStart = Math.min(nextStart, node.index(i + 1).logical());
            }
            node = child(node.index(i), node.depth() - 1);
        }
        int i = node.find(lblk);
        if (i >= 0) {
            Extent e = node.extent(i);
            if (lblk < e.logicalEnd()) {
                long len = Math.min(e.logicalEnd() - lblk, maxLen);
                long pblk = e.physical() + (lblk - e.logical()); // checked with its node
                return new Mapping(lblk, len, pblk, e.unwritten() ? State.UNWRITTEN : State.WRITTEN);
            }
        }
        if (i + 1 < node.entries()) {
            nextStart = Math.min(nextStart, node.extent(i + 1).logical());
        }
        return hole(lblk, nextStart, maxLen);
    }

    private static Mapping hole(long lblk, long next, long maxLen) {
        long len = Math.max(1, Math.min(next - lblk, maxLen));
        return new Mapping(lblk, len, -1, State.HOLE);
    }

    /** Every extent in logical order, with the tree blocks that hold them: for {@code stat} output. */
    public List<Extent> allExtents(List<Long> treeBlocks) throws IOException {
        List<Extent> out = new ArrayList<>();
        walk(rootNode(), out, treeBlocks, new int[] {0});
        return out;
    }

    private void walk(ExtentNode node, List<Extent> out, List<Long> treeBlocks, int[] visited) throws IOException {
        for (int i = 0; i < node.entries(); i++) {
            if (node.isLeaf()) {
                out.add(node.extent(i));
                continue;
            }
            Index ix = node.index(i);
            if (++visited[0] > volume.superblock().blocksCount) {
                throw CorruptionException.of(Kind.LOOP).inode(inode).block(ix.child()).build("extent tree revisits blocks");
            }
            if (treeBlocks != null) {
                treeBlocks.add(ix.child());
            }
            walk(child(ix, node.depth() - 1), out, treeBlocks, visited);
        }
    }

    /** Depth of the tree as the root says. */
    public int depth() throws CorruptionException {
        return rootNode().depth();
    }
}
