package org.ext4j.fuzz;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One {@code mkfs.ext4} configuration the random-damage harness damages images of. Every set makes a
 * 16 MiB image with at least four block groups (blocks per group forced down with {@code -g}) so that
 * descriptors, bitmaps and inode tables of more than one group can be hit.
 *
 * @param name      what replay lines and reports call it ({@code -Dext4j.fuzz.features=NAME})
 * @param options   mkfs.ext4 options besides the fixed UUID, hash seed and size
 * @param blockSize the block size the options give
 * @param eaInode   the image has ea_inode: the tree gets an xattr value larger than a block
 */
record FeatureSet(String name, List<String> options, int blockSize, boolean eaInode) {
    static final long IMAGE_BYTES = 16L << 20;

    static List<FeatureSet> all() {
        List<FeatureSet> s = new ArrayList<>();
        s.add(four("default"));
        s.add(four("no-metadata_csum", "-O", "^metadata_csum"));
        s.add(new FeatureSet("1k-blocks", List.of("-b", "1024", "-g", "4096"), 1024, false));
        s.add(new FeatureSet("2k-blocks", List.of("-b", "2048", "-g", "2048"), 2048, false));
        s.add(four("no-64bit", "-O", "^64bit"));
        s.add(four("no-flex_bg", "-O", "^flex_bg"));
        s.add(four("meta_bg", "-O", "meta_bg,^resize_inode"));
        s.add(four("inline_data", "-O", "inline_data"));
        // bigalloc: 4-block clusters (the default 16 leaves no room for the tree's directories in 16 MiB);
        // -g would set clusters per group, one group is what mkfs makes
        s.add(new FeatureSet("bigalloc", List.of("-b", "4096", "-O", "bigalloc", "-C", "16384"), 4096, false));
        s.add(four("no-journal", "-O", "^has_journal"));
        s.add(four("ext2", "-t", "ext2"));
        s.add(four("ext3", "-t", "ext3"));
        // ext4 with block maps: mkfs refuses ^extent together with 64bit
        s.add(four("no-extent", "-O", "^extent,^64bit"));
        s.add(four("sparse_super2", "-O", "sparse_super2"));
        s.add(new FeatureSet("ea_inode", List.of("-b", "4096", "-g", "1024", "-O", "ea_inode"), 4096, true));
        s.add(four("large-inodes", "-I", "1024"));
        s.add(four("128-byte-inodes", "-I", "128"));
        return s;
    }

    static FeatureSet byName(String name) {
        for (FeatureSet f : all()) {
            if (f.name.equals(name.toLowerCase(Locale.ROOT))) {
                return f;
            }
        }
        throw new IllegalArgumentException("no feature set " + name + "; known: "
                + all().stream().map(FeatureSet::name).toList());
    }

    private static FeatureSet four(String name, String... extra) {
        List<String> o = new ArrayList<>(List.of("-b", "4096", "-g", "1024"));
        o.addAll(List.of(extra));
        return new FeatureSet(name, List.copyOf(o), 4096, false);
    }

    @Override
    public String toString() {
        return name;
    }
}
