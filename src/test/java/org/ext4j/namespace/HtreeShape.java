package org.ext4j.namespace;

import java.io.IOException;
import java.nio.file.Path;

import org.ext4j.format.DxNode;
import org.ext4j.testing.DirDamage;

/**
 * The shape of an htree as its index blocks say, read straight from the image: how many leaves
 * continue a hash-collision run of the leaf before them (an index hash with the collision bit set,
 * as {@code do_split} writes it), and of those, how many start a new index node (the parent's entry
 * for a whole subtree carries the bit: {@code ext4_htree_next_block} must climb up and down again).
 */
record HtreeShape(int levels, int leaves, int continuedInNode, int continuedAcrossNodes) {

    static HtreeShape of(Path image, String dirPath) throws IOException {
        DirDamage dd = DirDamage.of(image, dirPath);
        byte[] root = dd.read(0);
        int levels = DxNode.rootInfo(root).indirectLevels();
        DxNode node = DxNode.readRoot(root, dd.blockSize, dd.csum, dd.seed, DxNode.MAX_LEVELS_LARGEDIR, dd.ino,
                dd.pblk(0));
        int[] counts = new int[3];
        walk(dd, node, 0, levels, counts);
        return new HtreeShape(levels, counts[0], counts[1], counts[2]);
    }

    private static void walk(DirDamage dd, DxNode node, int level, int levels, int[] counts) throws IOException {
        for (int i = 0; i < node.count(); i++) {
            boolean continued = i > 0 && (node.hash(i) & 1) != 0;
            if (level == levels) {
                counts[0]++;
                if (continued) {
                    counts[1]++;
                }
            } else {
                if (continued) {
                    counts[2]++;
                }
                long lblk = node.block(i);
                DxNode child = DxNode.readNode(dd.read(lblk), dd.blockSize, dd.csum, dd.seed, dd.ino, lblk,
                        dd.pblk(lblk));
                walk(dd, child, level + 1, levels, counts);
            }
        }
    }
}
