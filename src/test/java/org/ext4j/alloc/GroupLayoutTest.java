package org.ext4j.alloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.TreeSet;

import org.ext4j.alloc.AllocImages.Variant;
import org.ext4j.blockdev.FileBlockDevice;
import org.ext4j.format.Bitmaps;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.Superblock;
import org.ext4j.volume.Volume;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link GroupLayout} against e2fsprogs: the bitmap it builds for a never-used group must free
 * exactly what dumpe2fs lists free for that BLOCK_UNINIT group (libext2fs computes it on its own),
 * and on every group, initialised or not, the system zone must be in use in the on-disk view.
 */
class GroupLayoutTest {

    @ParameterizedTest
    @EnumSource(Variant.class)
    void uninitialisedBitmapFreesWhatDumpe2fsListsFree(Variant variant, @TempDir Path tmp) throws Exception {
        Path img = variant.make(tmp);
        DumpE2fs dump = DumpE2fs.of(img);
        try (FileBlockDevice dev = FileBlockDevice.openReadOnly(img)) {
            Superblock sb = Volume.readSuperblock(dev);
            Volume v = Volume.open(dev, sb);
            GroupLayout layout = new GroupLayout(sb, v.systemZone());
            int uninit = 0;
            for (long g = 0; g < v.groupCount(); g++) {
                GroupDescriptor d = v.group(g);
                DumpE2fs.Group dg = dump.group(g);
                byte[] bits = new byte[sb.blockSize];
                layout.initBlockBitmap(g, bits);
                long first = sb.groupFirstBlock(g);
                TreeSet<Long> free = new TreeSet<>();
                for (int b = 0; b < sb.blockSize * 8; b++) {
                    if (!Bitmaps.test(bits, b)) {
                        assertTrue(b < sb.blocksInGroup(g), "padding bit " + b + " of group " + g + " is clear");
                        free.add(first + b);
                    }
                }
                if ((d.flags() & GroupDescriptor.BG_BLOCK_UNINIT) != 0) {
                    uninit++;
                    assertEquals(dg.freeBlockSet(), free, "free blocks of BLOCK_UNINIT group " + g);
                    assertEquals(d.freeBlocksCount(), free.size(), "descriptor count of group " + g);
                } else {
                    // an initialised group holds data too: what we call free must include all it calls free
                    assertTrue(free.containsAll(dg.freeBlockSet()), "group " + g + ": init marks a free block used");
                }
                TreeSet<Long> zone = new TreeSet<>();
                layout.forEachZoneExtent(first, first + sb.blocksInGroup(g), (s, e) -> {
                    for (long x = s; x < e; x++) {
                        zone.add(x);
                    }
                });
                for (long x = first; x < first + layout.baseMetaBlocks(g); x++) {
                    assertTrue(zone.contains(x), "base metadata block " + x + " missing from the zone");
                }
                zone.retainAll(dg.freeBlockSet());
                assertTrue(zone.isEmpty(), "group " + g + ": metadata blocks dumpe2fs lists free: " + zone);
            }
            boolean csum = sb.hasMetadataCsum() || sb.hasGdtCsum();
            if (!csum) {
                assertEquals(0, uninit, "BLOCK_UNINIT without group checksums");
            } else if (variant != Variant.DEFAULT_4K_BIG_GROUPS) {
                assertTrue(uninit > 0, "the image has BLOCK_UNINIT groups to compare");
            }
            assertFalse(layout.overlapsMetadata(dump.allFreeBlocks().first(), 1));
            assertTrue(layout.overlapsMetadata(v.group(0).inodeTable() - 3, 4));
        }
    }
}
