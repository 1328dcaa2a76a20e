package org.ext4j.fuzz;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.ext4j.format.DirEntry;
import org.ext4j.format.DxNode;
import org.ext4j.format.ExtentNode;
import org.ext4j.format.GroupDescriptor;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Superblock;
import org.ext4j.format.XattrEntry;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.FileStat;
import org.ext4j.fs.OpenOptions;
import org.ext4j.fuzz.DecoderSeeds.Flavour;
import org.ext4j.fuzz.MetadataMap.Kind;
import org.ext4j.fuzz.MetadataMap.Region;
import org.ext4j.volume.Volume;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzz targets of the on-disk decoders (Jazzer): the superblock (decode, then
 * {@link Volume#readSuperblock} and {@link Volume#open} on an image with it), a descriptor block, an
 * inode, an extent tree block, a directory leaf, an htree root or node, an xattr block, and any
 * structure of a whole image opened and walked through {@link Ext4FileSystem}. Each target first runs
 * the codec on the bytes, then puts the bytes in place in a small real image ({@link OverlayDevice})
 * and reads what depends on them. The only thing asserted is what must always hold: nothing but an
 * {@link IOException} (every ext4j error is one) comes out, within the time limit; anything else
 * (an IndexOutOfBounds, an OutOfMemoryError, a hang) is a finding.
 *
 * <p>In {@code mvn test} (a surefire execution of its own, so Jazzer's agent stays out of the main
 * test JVM) each target runs in regression mode over its seed corpus, generated at test time by
 * {@link DecoderSeeds} into {@code DecoderFuzzTestInputs/<target>/} of the test classes, plus any
 * finding saved under {@code src/test/resources/org/ext4j/fuzz/DecoderFuzzTestInputs/<target>/}.
 * Real fuzzing, one target per run:
 * {@code JAZZER_FUZZ=1 mvn -o test -Pfuzz -Dtest='DecoderFuzzTest#inode' -Dsurefire.failIfNoSpecifiedTests=false}.
 * The first byte of every input picks the image flavour (4 KiB or 1 KiB blocks with metadata_csum,
 * or crc16 descriptors without it).
 */
@Tag("jazzer")
class DecoderFuzzTest {
    private static final int MAX_ENTRIES = 3000;

    @BeforeAll
    static void seedCorpus() throws IOException, URISyntaxException {
        URL here = DecoderFuzzTest.class.getResource("");
        if (here == null || !"file".equals(here.getProtocol()) || !org.ext4j.testing.Tools.onPath("mkfs.ext4")) {
            System.out.println("SKIP: no generated seed corpus (needs mkfs.ext4 and test classes in a directory):"
                    + " the targets run on the empty input and committed findings only");
            return;
        }
        Path inputs = Path.of(here.toURI()).resolve("DecoderFuzzTestInputs");
        Map<String, List<byte[]>> seeds = Map.of(
                "superblock", DecoderSeeds.seeds(Kind.SUPERBLOCK),
                "descriptors", DecoderSeeds.seeds(Kind.DESCRIPTOR),
                "inode", inodeSeeds(),
                "extentNode", DecoderSeeds.seeds(Kind.EXTENT_BLOCK),
                "dirBlock", DecoderSeeds.seeds(Kind.DIR_BLOCK),
                "dxNode", DecoderSeeds.seeds(Kind.DX_ROOT),
                "xattrBlock", DecoderSeeds.seeds(Kind.XATTR_BLOCK),
                "image", DecoderSeeds.imageSeeds());
        for (Map.Entry<String, List<byte[]>> e : seeds.entrySet()) {
            Path dir = inputs.resolve(e.getKey());
            Files.createDirectories(dir);
            for (int i = 0; i < e.getValue().size(); i++) {
                Files.write(dir.resolve(String.format("generated-%02d", i)), e.getValue().get(i));
            }
        }
    }

    /** Inode seeds carry the index of their slot after the flavour byte, so they land where they came from. */
    private static List<byte[]> inodeSeeds() throws IOException {
        List<byte[]> out = new java.util.ArrayList<>();
        List<Flavour> fl = DecoderSeeds.flavours();
        for (int k = 0; k < fl.size(); k++) {
            Flavour f = fl.get(k);
            List<Region> slots = f.map().of(Kind.INODE);
            int files = 0;
            for (int i = 0; i < slots.size() && i < 256; i++) {
                Region r = slots.get(i);
                if (r.owner() == 2 || r.owner() >= 12 && files++ < 5) {
                    byte[] b = new byte[2 + r.length()];
                    b[0] = (byte) k;
                    b[1] = (byte) i;
                    System.arraycopy(f.image(), (int) r.pos(), b, 2, r.length());
                    out.add(b);
                }
            }
        }
        return out;
    }

    @FuzzTest(maxDuration = "10m")
    @Timeout(10)
    void superblock(byte[] data) throws IOException {
        Flavour f = DecoderSeeds.pick(data);
        byte[] raw = body(data, 1, Superblock.SIZE);
        try {
            Superblock.decode(raw);
        } catch (IOException expected) {
            // a typed refusal is the right answer to garbage
        }
        OverlayDevice dev = new OverlayDevice(f.image(), Superblock.OFFSET, raw);
        try {
            Volume.open(dev, Volume.readSuperblock(dev));
        } catch (IOException expected) {
            // likewise
        }
        walk(dev);
    }

    @FuzzTest(maxDuration = "10m")
    @Timeout(10)
    void descriptors(byte[] data) throws IOException {
        Flavour f = DecoderSeeds.pick(data);
        Superblock sb = f.sb();
        byte[] b = body(data, 1, sb.blockSize);
        for (int g = 0; g < Math.min(sb.groupCount, sb.descriptorsPerBlock); g++) {
            int off = g * sb.descriptorSize;
            try {
                GroupDescriptor.verify(sb, b, off, sb.descriptorSize, g, 1);
            } catch (IOException expected) {
                // a checksum mismatch
            }
            GroupDescriptor.decode(b, off, sb.descriptorSize, g);
        }
        walk(new OverlayDevice(f.image(), f.map().of(Kind.DESCRIPTOR).get(0).block() * sb.blockSize, b));
    }

    @FuzzTest(maxDuration = "10m")
    @Timeout(10)
    void inode(byte[] data) throws IOException {
        Flavour f = DecoderSeeds.pick(data);
        Superblock sb = f.sb();
        List<Region> slots = f.map().of(Kind.INODE);
        Region slot = slots.get(data.length < 2 ? 0 : (data[1] & 0xFF) % slots.size());
        byte[] raw = body(data, 2, sb.inodeSize);
        try {
            InodeRecord rec = InodeRecord.decode(sb, slot.owner(), raw, slot.block(), 0);
            rec.blocks512(sb);
            rec.inlineXattrArea();
            if (rec.hasFlag(InodeRecord.FL_EXTENTS)) {
                ExtentNode.decode(rec.iBlock(), 0, InodeRecord.I_BLOCK_SIZE, slot.owner(), -1, -1);
            }
        } catch (IOException expected) {
            // a typed refusal
        }
        walk(new OverlayDevice(f.image(), slot.pos(), raw));
    }

    @FuzzTest(maxDuration = "10m")
    @Timeout(10)
    void extentNode(byte[] data) throws IOException {
        Flavour f = DecoderSeeds.pick(data);
        int bs = f.sb().blockSize;
        byte[] b = body(data, 1, bs);
        try {
            ExtentNode n = ExtentNode.decode(b, 0, bs, 12, 100, (data.length == 0 ? 0 : (data[0] & 0xFF) >> 4) % 3 - 1);
            for (int i = 0; i < n.entries(); i++) {
                if (n.isLeaf()) {
                    n.extent(i);
                } else {
                    n.index(i);
                }
            }
            n.find(data.length > 2 ? data[2] & 0xFF : 0);
            ExtentNode.verifyTail(b, 0, 12, 100);
        } catch (IOException expected) {
            // a typed refusal
        }
        walk(overlay(f, Kind.EXTENT_BLOCK, b));
    }

    @FuzzTest(maxDuration = "10m")
    @Timeout(10)
    void dirBlock(byte[] data) throws IOException {
        Flavour f = DecoderSeeds.pick(data);
        Superblock sb = f.sb();
        int bs = sb.blockSize;
        byte[] b = body(data, 1, bs);
        try {
            DirEntry.walk(b, 0, bs, bs, true, sb.inodesCount, 2, 100, e -> true);
            if (DirEntry.hasTail(b, bs)) {
                DirEntry.verifyTail(b, bs, 0, 2, 100);
            }
        } catch (IOException expected) {
            // a typed refusal
        }
        walk(overlay(f, Kind.DIR_BLOCK, b));
    }

    @FuzzTest(maxDuration = "10m")
    @Timeout(10)
    void dxNode(byte[] data) throws IOException {
        Flavour f = DecoderSeeds.pick(data);
        int bs = f.sb().blockSize;
        byte[] b = body(data, 1, bs);
        DxNode.rootInfo(b);
        for (int at : new int[] {DxNode.ROOT_ENTRIES_OFFSET, DxNode.NODE_ENTRIES_OFFSET}) {
            try {
                DxNode n = DxNode.decode(b, at, bs, f.sb().hasMetadataCsum(), 2, 100);
                for (int i = 0; i < n.count(); i++) {
                    n.find(n.hash(i));
                    n.block(i);
                }
                if (f.sb().hasMetadataCsum()) { // the tail exists only with metadata_csum
                    n.verifyTail(b, 0, 2, 100);
                }
            } catch (IOException expected) {
                // a typed refusal
            }
        }
        walk(overlay(f, Kind.DX_ROOT, b));
    }

    @FuzzTest(maxDuration = "10m")
    @Timeout(10)
    void xattrBlock(byte[] data) throws IOException {
        Flavour f = DecoderSeeds.pick(data);
        int bs = f.sb().blockSize;
        byte[] b = body(data, 1, bs);
        try {
            XattrEntry.checkBlockHeader(b, 12, 100);
            for (XattrEntry e : XattrEntry.decodeEntries(b, XattrEntry.BLOCK_HEADER_SIZE, bs, 0, 12, 100)) {
                e.fullName();
            }
            XattrEntry.verifyBlock(f.sb(), b, 12, 100);
        } catch (IOException expected) {
            // a typed refusal
        }
        walk(overlay(f, Kind.XATTR_BLOCK, b));
    }

    /** Any structure of the image: flavour byte, two bytes choosing the structure, then its new bytes. */
    @FuzzTest(maxDuration = "10m")
    @Timeout(10)
    void image(byte[] data) throws IOException {
        Flavour f = DecoderSeeds.pick(data);
        int idx = data.length < 3 ? 0 : ((data[1] & 0xFF) << 8 | (data[2] & 0xFF)) % f.regions().size();
        Region r = f.regions().get(idx);
        walk(new OverlayDevice(f.image(), r.pos(), body(data, 3, r.length())));
    }

    /** The input from {@code from} on, cut or zero-padded to {@code size} bytes. */
    private static byte[] body(byte[] data, int from, int size) {
        byte[] b = new byte[size];
        if (data.length > from) {
            System.arraycopy(data, from, b, 0, Math.min(size, data.length - from));
        }
        return b;
    }

    private static OverlayDevice overlay(Flavour f, Kind kind, byte[] b) {
        List<Region> rs = f.map().of(kind);
        long at = rs.isEmpty() ? 0 : rs.get(0).pos();
        return new OverlayDevice(f.image(), at, rs.isEmpty() ? new byte[0] : Arrays.copyOf(b, rs.get(0).length()));
    }

    /**
     * Opens the image read-only and visits everything, bounded: every directory (lookups of each name
     * too), the stat, first bytes, symlink target and xattrs of every entry. Each step may fail with an
     * IOException, and the walk goes on with the next.
     */
    static void walk(OverlayDevice dev) {
        Ext4FileSystem fs;
        try {
            fs = Ext4FileSystem.open(dev, OpenOptions.readOnlyDefaults());
        } catch (IOException expected) {
            return;
        }
        try (fs) {
            Deque<String> dirs = new ArrayDeque<>(List.of("/"));
            int seen = 0;
            byte[] buf = new byte[8192];
            while (!dirs.isEmpty() && seen < MAX_ENTRIES) {
                String d = dirs.poll();
                List<DirEntry> entries;
                try {
                    entries = fs.readdir(d);
                } catch (IOException expected) {
                    continue;
                }
                for (DirEntry e : entries) {
                    if (e.isDot() || e.isDotDot() || ++seen > MAX_ENTRIES) {
                        continue;
                    }
                    String p = (d.equals("/") ? "" : d) + "/" + new String(e.name(), java.nio.charset.StandardCharsets.ISO_8859_1);
                    try {
                        long ino = fs.lookup(p);
                        FileStat st = fs.stat(ino);
                        fs.inode(ino).xattrs();
                        if (st.isDirectory() && p.chars().filter(c -> c == '/').count() < 8) {
                            dirs.add(p);
                        } else if (st.isRegularFile()) {
                            fs.read(ino, 0, buf, 0, buf.length);
                        } else if (st.isSymlink()) {
                            fs.readlink(p);
                        }
                    } catch (IOException expected) {
                        // damage reported: on to the next entry
                    }
                }
            }
        } catch (IOException expected) {
            // closing a read-only file system
        }
    }
}
