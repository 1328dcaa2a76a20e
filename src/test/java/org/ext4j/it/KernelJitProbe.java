package org.ext4j.it;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.ext4j.extents.BlockMap;
import org.ext4j.extents.IndirectBlockMap;
import org.ext4j.format.DirEntry;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.inode.Inode;

/**
 * Run in its own JVM by {@link KernelKnownBugsTest}: loads every inode of an extent-mapped image
 * many times, so that C2 compiles {@code Inode.load} on the extent path, then loads the inodes of a
 * block-mapped (ext3) image and compares {@code Inode.map} with an {@link IndirectBlockMap} built
 * from the same i_block bytes in interpreted code. Exits 1 on any difference.
 */
public final class KernelJitProbe {
    private KernelJitProbe() {
    }

    public static void main(String[] args) throws Exception {
        Ext4FileSystem warm = Ext4FileSystem.open(Path.of(args[0]));
        List<Long> warmInodes = new ArrayList<>();
        collect(warm, Ext4FileSystem.ROOT_INO, warmInodes);
        for (int round = 0; round < Integer.parseInt(args[2]); round++) {
            for (long ino : warmInodes) {
                Inode in = warm.inode(ino);
                in.map(0, 1);
            }
        }
        Ext4FileSystem fs = Ext4FileSystem.open(Path.of(args[1]));
        List<Long> inodes = new ArrayList<>();
        collect(fs, Ext4FileSystem.ROOT_INO, inodes);
        long bad = 0;
        long checked = 0;
        for (int round = 0; round < 100; round++) {
            for (long ino : inodes) {
                Inode in = fs.inode(ino);
                if (in.blockMap() == null) {
                    continue;
                }
                BlockMap.Mapping got = in.map(0, 1);
                BlockMap.Mapping want = new IndirectBlockMap(fs.volume(), ino, in.record().iBlock()).map(0, 1);
                checked++;
                if (!got.equals(want) && bad++ < 3) {
                    System.out.println("round " + round + " inode " + ino + ": Inode.map " + got + ", fresh map " + want);
                }
            }
        }
        System.out.println("differences " + bad + " of " + checked);
        warm.close();
        fs.close();
        System.exit(bad == 0 && checked > 0 ? 0 : 1);
    }

    private static void collect(Ext4FileSystem fs, long dir, List<Long> out) throws Exception {
        for (DirEntry e : fs.readdir(dir)) {
            if (e.isDot() || e.isDotDot()) {
                continue;
            }
            out.add(e.inode());
            if (e.fileType() == DirEntry.FT_DIR) {
                collect(fs, e.inode(), out);
            }
        }
    }
}
