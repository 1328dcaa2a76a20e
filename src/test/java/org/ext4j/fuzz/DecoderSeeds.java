package org.ext4j.fuzz;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.ext4j.format.Superblock;
import org.ext4j.fuzz.MetadataMap.Kind;
import org.ext4j.fuzz.MetadataMap.Region;
import org.ext4j.testing.Tools;

/**
 * The images and seed inputs of {@link DecoderFuzzTest}, made at test time: three small images
 * ({@code mkfs.ext4 -d} of a tree with a 400-name directory that {@code e2fsck -D} indexes, a file of
 * twelve extents, a slow symlink and an xattr block) in three flavours (4 KiB blocks with
 * metadata_csum, 1 KiB blocks with metadata_csum, 4 KiB blocks with crc16 descriptor checksums and
 * no other checksums), and from them one seed per structure and flavour, each input's first byte
 * choosing the flavour. No binary is committed.
 */
final class DecoderSeeds {
    /** One flavour: its image, superblock and metadata map. */
    record Flavour(String name, byte[] image, Superblock sb, MetadataMap map, List<Region> regions) {
    }

    private static List<Flavour> flavours;

    private DecoderSeeds() {
    }

    static synchronized List<Flavour> flavours() throws IOException {
        if (flavours == null) {
            Tools.requireTools("mkfs.ext4", "e2fsck");
            Path dir = BaseImage.runDir().resolve("decoder-seeds");
            Files.createDirectories(dir);
            Path tree = dir.resolve("tree");
            makeTree(tree);
            List<Flavour> f = new ArrayList<>();
            f.add(flavour(dir, tree, "4k-csum", List.of("-b", "4096", "-g", "1024")));
            f.add(flavour(dir, tree, "1k-csum", List.of("-b", "1024", "-g", "2048")));
            f.add(flavour(dir, tree, "4k-crc16", List.of("-b", "4096", "-g", "1024", "-O", "^metadata_csum")));
            flavours = List.copyOf(f);
        }
        return flavours;
    }

    static Flavour pick(byte[] data) throws IOException {
        List<Flavour> f = flavours();
        return f.get(data.length == 0 ? 0 : (data[0] & 0xFF) % f.size());
    }

    private static void makeTree(Path t) throws IOException {
        Random rnd = new Random(7);
        Files.createDirectories(t.resolve("dir"));
        Files.writeString(t.resolve("hello"), "hello\n");
        for (int i = 0; i < 400; i++) {
            StringBuilder n = new StringBuilder(String.format("name-%04d-", i));
            while (n.length() < 40) {
                n.append((char) ('a' + rnd.nextInt(26)));
            }
            Files.createFile(t.resolve("dir").resolve(n.toString()));
        }
        try (RandomAccessFile f = new RandomAccessFile(t.resolve("sparse").toFile(), "rw")) {
            for (int i = 0; i < 12; i++) {
                f.seek(i * 65536L);
                f.write(new byte[100]);
            }
        }
        byte[] big = new byte[20_000];
        rnd.nextBytes(big);
        Files.write(t.resolve("data"), big);
        Files.createSymbolicLink(t.resolve("slow-link"), Path.of("x/".repeat(60)));
        Files.createSymbolicLink(t.resolve("fast-link"), Path.of("hello"));
        Path x = t.resolve("xattr");
        Files.write(x, new byte[10]);
        byte[] v = new byte[700];
        rnd.nextBytes(v);
        Files.getFileAttributeView(x, UserDefinedFileAttributeView.class).write("big", ByteBuffer.wrap(v));
    }

    private static Flavour flavour(Path dir, Path tree, String name, List<String> options) throws IOException {
        Path img = dir.resolve(name + ".img");
        List<String> cmd = new ArrayList<>(List.of("env", "E2FSPROGS_FAKE_TIME=" + BaseImage.FAKE_TIME, "mkfs.ext4", "-q",
                "-F", "-U", BaseImage.UUID, "-E", "hash_seed=" + BaseImage.HASH_SEED, "-O", "^has_journal"));
        cmd.addAll(options);
        cmd.addAll(List.of("-d", tree.toString(), img.toString(), "8M"));
        Tools.Result r = Tools.run(cmd, 60);
        if (r.exit() != 0) {
            throw new IOException("mkfs.ext4 " + options + ": " + r.stderr());
        }
        r = Tools.run(List.of("env", "E2FSPROGS_FAKE_TIME=" + BaseImage.FAKE_TIME, "e2fsck", "-fyD", img.toString()), 60);
        if (r.exit() > 1) {
            throw new IOException("e2fsck -fyD: " + r.stdout());
        }
        MetadataMap map = MetadataMap.locate(img);
        List<Region> regions = new ArrayList<>();
        map.regions.values().forEach(regions::addAll);
        return new Flavour(name, Files.readAllBytes(img), map.sb, map, List.copyOf(regions));
    }

    /** Seeds of one target: each flavour's structures of {@code kinds}, behind the flavour byte. */
    static List<byte[]> seeds(Kind... kinds) throws IOException {
        List<byte[]> out = new ArrayList<>();
        List<Flavour> fl = flavours();
        for (int k = 0; k < fl.size(); k++) {
            Flavour f = fl.get(k);
            for (Kind kind : kinds) {
                List<Region> rs = f.map.of(kind);
                for (int i = 0; i < Math.min(3, rs.size()); i++) {
                    Region r = rs.get(i * rs.size() / Math.min(3, rs.size()));
                    out.add(prefixed(new byte[] {(byte) k}, f.image, r));
                }
            }
        }
        return out;
    }

    /** Seeds of the whole-image target: flavour byte, region index (two bytes), the region's bytes. */
    static List<byte[]> imageSeeds() throws IOException {
        List<byte[]> out = new ArrayList<>();
        List<Flavour> fl = flavours();
        for (int k = 0; k < fl.size(); k++) {
            Flavour f = fl.get(k);
            for (Kind kind : new Kind[] {Kind.SUPERBLOCK, Kind.DESCRIPTOR, Kind.INODE, Kind.DIR_BLOCK, Kind.DX_ROOT,
                Kind.EXTENT_BLOCK, Kind.XATTR_BLOCK, Kind.SYMLINK_BLOCK}) {
                List<Region> rs = f.map.of(kind);
                if (rs.isEmpty()) {
                    continue;
                }
                Region r = rs.get(0);
                int idx = f.regions.indexOf(r);
                out.add(prefixed(new byte[] {(byte) k, (byte) (idx >>> 8), (byte) idx}, f.image, r));
            }
        }
        return out;
    }

    private static byte[] prefixed(byte[] prefix, byte[] image, Region r) {
        byte[] b = Arrays.copyOf(prefix, prefix.length + r.length());
        System.arraycopy(image, (int) r.pos(), b, prefix.length, r.length());
        return b;
    }
}
