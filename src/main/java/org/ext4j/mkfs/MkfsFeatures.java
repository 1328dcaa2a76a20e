package org.ext4j.mkfs;

import java.util.Locale;

import org.ext4j.error.InvalidArgumentException;
import org.ext4j.error.UnsupportedFeatureException;
import org.ext4j.format.Features;

/**
 * The feature set of a new file system: mke2fs's {@code base_features} and the {@code fs_types}
 * features of {@code /etc/mke2fs.conf} (ext2, ext3, ext4) edited by {@code -O} as e2p's
 * {@code e2p_edit_feature2} does ("name" sets, "^name" clears, comma or space separated), then the
 * consistency rules of mke2fs's {@code PRS}. Features ext4j cannot lay out are refused by name.
 */
final class MkfsFeatures {
    private MkfsFeatures() {
    }

    record Set(long compat, long incompat, long roCompat) {
    }

    static final long BASE_COMPAT = Features.COMPAT_EXT_ATTR | Features.COMPAT_RESIZE_INODE | Features.COMPAT_DIR_INDEX;
    static final long BASE_RO = Features.RO_COMPAT_SPARSE_SUPER | Features.RO_COMPAT_LARGE_FILE;
    static final long BASE_INCOMPAT = Features.INCOMPAT_FILETYPE;

    /** What ext4j mkfs can make. */
    static final long OK_COMPAT = BASE_COMPAT | Features.COMPAT_HAS_JOURNAL;
    static final long OK_RO = BASE_RO | Features.RO_COMPAT_HUGE_FILE | Features.RO_COMPAT_DIR_NLINK
            | Features.RO_COMPAT_EXTRA_ISIZE | Features.RO_COMPAT_METADATA_CSUM | Features.RO_COMPAT_GDT_CSUM;
    static final long OK_INCOMPAT = BASE_INCOMPAT | Features.INCOMPAT_EXTENTS | Features.INCOMPAT_64BIT
            | Features.INCOMPAT_FLEX_BG | Features.INCOMPAT_INLINE_DATA;

    static Set resolve(String type, String edits) throws InvalidArgumentException, UnsupportedFeatureException {
        long[] f = {BASE_COMPAT, BASE_INCOMPAT, BASE_RO};
        switch (type) {
            case "ext2" -> {
            }
            case "ext3" -> f[0] |= Features.COMPAT_HAS_JOURNAL;
            case "ext4" -> {
                f[0] |= Features.COMPAT_HAS_JOURNAL;
                f[1] |= Features.INCOMPAT_EXTENTS | Features.INCOMPAT_FLEX_BG | Features.INCOMPAT_64BIT;
                f[2] |= Features.RO_COMPAT_HUGE_FILE | Features.RO_COMPAT_METADATA_CSUM | Features.RO_COMPAT_DIR_NLINK
                        | Features.RO_COMPAT_EXTRA_ISIZE;
            }
            default -> throw new InvalidArgumentException("-t " + type + ": the type must be ext2, ext3 or ext4");
        }
        if (edits != null && !edits.isBlank()) {
            for (String word : edits.split("[,\\s]+")) {
                if (word.isEmpty()) {
                    continue;
                }
                boolean clear = word.startsWith("^") || word.startsWith("-");
                boolean set = word.startsWith("+");
                String name = clear || set ? word.substring(1) : word;
                int[] bit = lookup(name.toLowerCase(Locale.ROOT));
                if (bit == null) {
                    throw new InvalidArgumentException("-O " + word + ": unknown feature " + name);
                }
                if (clear) {
                    f[bit[0]] &= ~(1L << bit[1]);
                } else {
                    f[bit[0]] |= 1L << bit[1];
                }
            }
        }
        long compat = f[0];
        long incompat = f[1];
        long ro = f[2];
        // PRS: metadata_csum supersedes uninit_bg
        if ((ro & Features.RO_COMPAT_METADATA_CSUM) != 0) {
            ro &= ~Features.RO_COMPAT_GDT_CSUM;
        }
        if ((compat & Features.COMPAT_RESIZE_INODE) != 0 && (ro & Features.RO_COMPAT_SPARSE_SUPER) == 0) {
            throw new InvalidArgumentException("-O: reserving blocks for online resize (resize_inode) needs sparse_super");
        }
        if ((incompat & Features.INCOMPAT_META_BG) != 0 && (compat & Features.COMPAT_RESIZE_INODE) != 0) {
            throw new InvalidArgumentException("-O: the resize_inode and meta_bg features cannot both be enabled");
        }
        if ((incompat & Features.INCOMPAT_64BIT) != 0 && (incompat & Features.INCOMPAT_EXTENTS) == 0) {
            throw new InvalidArgumentException("-O: extents must be enabled for a 64-bit file system (-O extent)");
        }
        refuse(compat & ~OK_COMPAT, Features.compatNames(compat & ~OK_COMPAT));
        refuse(ro & ~OK_RO, Features.roCompatNames(ro & ~OK_RO));
        refuse(incompat & ~OK_INCOMPAT, Features.incompatNames(incompat & ~OK_INCOMPAT));
        return new Set(compat, incompat, ro);
    }

    private static void refuse(long bits, java.util.List<String> names) throws UnsupportedFeatureException {
        if (bits != 0) {
            throw new UnsupportedFeatureException(names.get(0), "ext4j mkfs cannot make a file system with it (-O ^"
                    + names.get(0) + " leaves it out)");
        }
    }

    /** {kind, bit} of a feature name as dumpe2fs prints it (plus mke2fs's spelling "extents"). */
    private static int[] lookup(String name) {
        if (name.equals("extents")) {
            name = "extent";
        }
        for (int i = 0; i < 32; i++) {
            if (Features.compatNames(1L << i).get(0).equals(name)) {
                return new int[] {0, i};
            }
            if (Features.incompatNames(1L << i).get(0).equals(name)) {
                return new int[] {1, i};
            }
            if (Features.roCompatNames(1L << i).get(0).equals(name)) {
                return new int[] {2, i};
            }
        }
        return null;
    }
}
