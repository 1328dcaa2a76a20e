package org.ext4j.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DxHashTest {

    /** The non-default seed used below, as {@code debugfs -s} and {@code s_hash_seed} spell it. */
    private static final String CUSTOM_SEED = "a3f1c2d4-5b6e-4f70-8192-a3b4c5d6e7f8";

    /**
     * Expected values come from e2fsprogs 1.47.0 {@code debugfs}, one command per row:
     * {@code debugfs -R "dx_hash -h <version> [-s <seed>] <name>"} (numeric {@code -h} because
     * 1.47.0 parses only legacy/half_md4/tea by name; {@code -s} omitted for seed "-"; seed "custom"
     * is {@value #CUSTOM_SEED}, "zero" the all-zero UUID). Names: see {@link #name(String)}.
     */
    @ParameterizedTest(name = "{0} v{1} seed {2}")
    @CsvSource(delimiter = '|', textBlock = """
            # name           | version | seed | major | minor
            a                | 0 | -      | e74b53e2 | 00000000
            a                | 1 | -      | d5fa7d7a | acb48187
            a                | 2 | -      | 6d0ea4c0 | c18922df
            a                | 3 | -      | e74b53e2 | 00000000
            a                | 4 | -      | d5fa7d7a | acb48187
            a                | 5 | -      | 6d0ea4c0 | c18922df
            a                | 0 | custom | e74b53e2 | 00000000
            a                | 1 | custom | 76920ddc | ce17d3bd
            a                | 2 | custom | 828284c0 | aca05fa2
            a                | 3 | custom | e74b53e2 | 00000000
            a                | 4 | custom | 76920ddc | ce17d3bd
            a                | 5 | custom | 828284c0 | aca05fa2
            abc              | 0 | -      | 75afd992 | 00000000
            abc              | 1 | -      | d196a868 | c420eb28
            abc              | 2 | -      | b1435ec4 | 3f7eaa0e
            abc              | 3 | -      | 75afd992 | 00000000
            abc              | 4 | -      | d196a868 | c420eb28
            abc              | 5 | -      | b1435ec4 | 3f7eaa0e
            abc              | 0 | custom | 75afd992 | 00000000
            abc              | 1 | custom | b6283ab4 | cf86a17a
            abc              | 2 | custom | 2dffcae2 | 5c0bd852
            abc              | 3 | custom | 75afd992 | 00000000
            abc              | 4 | custom | b6283ab4 | cf86a17a
            abc              | 5 | custom | 2dffcae2 | 5c0bd852
            abc              | 0 | zero   | 75afd992 | 00000000
            abc              | 1 | zero   | d196a868 | c420eb28
            abc              | 2 | zero   | b1435ec4 | 3f7eaa0e
            abc              | 3 | zero   | 75afd992 | 00000000
            abc              | 4 | zero   | d196a868 | c420eb28
            abc              | 5 | zero   | b1435ec4 | 3f7eaa0e
            abcd             | 0 | -      | fafa23ca | 00000000
            abcd             | 1 | -      | ad7557a8 | b1da437c
            abcd             | 2 | -      | 5a24112e | 95442076
            abcd             | 3 | -      | fafa23ca | 00000000
            abcd             | 4 | -      | ad7557a8 | b1da437c
            abcd             | 5 | -      | 5a24112e | 95442076
            abcd             | 0 | custom | fafa23ca | 00000000
            abcd             | 1 | custom | 2ada99c2 | d76de307
            abcd             | 2 | custom | 63020d3e | 5cba18c1
            abcd             | 3 | custom | fafa23ca | 00000000
            abcd             | 4 | custom | 2ada99c2 | d76de307
            abcd             | 5 | custom | 63020d3e | 5cba18c1
            lost+found       | 0 | -      | 5e2aba24 | 00000000
            lost+found       | 1 | -      | 591de422 | 6ffc56e0
            lost+found       | 2 | -      | 2dbf9e80 | bfebee4f
            lost+found       | 3 | -      | 5e2aba24 | 00000000
            lost+found       | 4 | -      | 591de422 | 6ffc56e0
            lost+found       | 5 | -      | 2dbf9e80 | bfebee4f
            lost+found       | 0 | custom | 5e2aba24 | 00000000
            lost+found       | 1 | custom | a119da9c | 558ac0e9
            lost+found       | 2 | custom | 3adcb95a | 26d43fb0
            lost+found       | 3 | custom | 5e2aba24 | 00000000
            lost+found       | 4 | custom | a119da9c | 558ac0e9
            lost+found       | 5 | custom | 3adcb95a | 26d43fb0
            hex:ff           | 0 | -      | 49ba183e | 00000000
            hex:ff           | 1 | -      | 4421bc04 | 2974faeb
            hex:ff           | 2 | -      | b7e8b4ec | 98edfcfe
            hex:ff           | 3 | -      | 6b842a40 | 00000000
            hex:ff           | 4 | -      | d77d96d6 | cafda2d2
            hex:ff           | 5 | -      | c6854b30 | faee7448
            hex:ff           | 0 | custom | 49ba183e | 00000000
            hex:ff           | 1 | custom | 3336218a | 44d1ba72
            hex:ff           | 2 | custom | 93124fa2 | d77d0300
            hex:ff           | 3 | custom | 6b842a40 | 00000000
            hex:ff           | 4 | custom | b102d922 | 384ad28d
            hex:ff           | 5 | custom | 725d91a4 | 6fb2b26b
            hex:61e962       | 0 | -      | 4b4977c4 | 00000000
            hex:61e962       | 1 | -      | ba914c68 | b4d11bd8
            hex:61e962       | 2 | -      | a1e32ffa | 5e76b0ac
            hex:61e962       | 3 | -      | fbef81c8 | 00000000
            hex:61e962       | 4 | -      | 4027b2ba | fca6dab8
            hex:61e962       | 5 | -      | 2cec9d5a | 10bf2f31
            hex:61e962       | 0 | custom | 4b4977c4 | 00000000
            hex:61e962       | 1 | custom | c269a37a | a3175b4a
            hex:61e962       | 2 | custom | 72b5d67a | 1630c2fb
            hex:61e962       | 3 | custom | fbef81c8 | 00000000
            hex:61e962       | 4 | custom | f346388a | ca26e0e1
            hex:61e962       | 5 | custom | 6634a00e | 5cae04dc
            hex:8081feff     | 0 | -      | 8f29a76c | 00000000
            hex:8081feff     | 1 | -      | 6e8ff0d2 | 0ca705e9
            hex:8081feff     | 2 | -      | 991de032 | f07b5cfc
            hex:8081feff     | 3 | -      | 0748dd70 | 00000000
            hex:8081feff     | 4 | -      | 38356c86 | c401b341
            hex:8081feff     | 5 | -      | 857fb76e | 4954287f
            hex:8081feff     | 0 | custom | 8f29a76c | 00000000
            hex:8081feff     | 1 | custom | a8ae43ba | 08bf55d5
            hex:8081feff     | 2 | custom | 982031be | edd41121
            hex:8081feff     | 3 | custom | 0748dd70 | 00000000
            hex:8081feff     | 4 | custom | 23cc3958 | 637b224a
            hex:8081feff     | 5 | custom | 4715ae96 | ac105afd
            hex:e974e92e747874| 0 | -      | 246f15fc | 00000000
            hex:e974e92e747874| 1 | -      | e4829942 | 1cfe552f
            hex:e974e92e747874| 2 | -      | b55db856 | 1af1cada
            hex:e974e92e747874| 3 | -      | 919f51f8 | 00000000
            hex:e974e92e747874| 4 | -      | b470b040 | f4e7c19b
            hex:e974e92e747874| 5 | -      | 91b3872c | a593b653
            hex:e974e92e747874| 0 | custom | 246f15fc | 00000000
            hex:e974e92e747874| 1 | custom | ef6fd4b4 | 60f47401
            hex:e974e92e747874| 2 | custom | d645fd5c | c648d701
            hex:e974e92e747874| 3 | custom | 919f51f8 | 00000000
            hex:e974e92e747874| 4 | custom | ec424128 | d7d0c16b
            hex:e974e92e747874| 5 | custom | 6e51e6e8 | d778c58a
            mix:15           | 0 | -      | a605191e | 00000000
            mix:15           | 1 | -      | aa18ca00 | 02f1a39b
            mix:15           | 2 | -      | b3a80238 | c2c27483
            mix:15           | 3 | -      | 1c72cda6 | 00000000
            mix:15           | 4 | -      | 852f5236 | ebaa7585
            mix:15           | 5 | -      | 0907dca2 | 8b52cbd6
            mix:15           | 0 | custom | a605191e | 00000000
            mix:15           | 1 | custom | 71925ca4 | 85868a5e
            mix:15           | 2 | custom | 7235419c | db37e0f7
            mix:15           | 3 | custom | 1c72cda6 | 00000000
            mix:15           | 4 | custom | 89f8ac06 | 993cd28c
            mix:15           | 5 | custom | d04a5c26 | 6b5c4d63
            mix:16           | 0 | -      | ae4ead2e | 00000000
            mix:16           | 1 | -      | f41f4a76 | 19cf8910
            mix:16           | 2 | -      | 1d8c4508 | 100a5eed
            mix:16           | 3 | -      | 4c65f404 | 00000000
            mix:16           | 4 | -      | 64ae4e78 | be2aaaf4
            mix:16           | 5 | -      | 6d27682a | fd369fc2
            mix:16           | 0 | custom | ae4ead2e | 00000000
            mix:16           | 1 | custom | 6c64d57c | 50e8eb03
            mix:16           | 2 | custom | fd92ab64 | d97a95fb
            mix:16           | 3 | custom | 4c65f404 | 00000000
            mix:16           | 4 | custom | f0fdc2d2 | d58e349e
            mix:16           | 5 | custom | f73f7016 | 98553fb0
            mix:17           | 0 | -      | 1f61622c | 00000000
            mix:17           | 1 | -      | 7afdd29e | ead1e92c
            mix:17           | 2 | -      | 8b223c1e | 0e8fa3b7
            mix:17           | 3 | -      | 19b007cc | 00000000
            mix:17           | 4 | -      | db5e5bf8 | ec83c9cd
            mix:17           | 5 | -      | cd5fa9ce | 9ad9332c
            mix:17           | 0 | custom | 1f61622c | 00000000
            mix:17           | 1 | custom | 7704a034 | 117e8afc
            mix:17           | 2 | custom | eb186e4a | 13b4fc12
            mix:17           | 3 | custom | 19b007cc | 00000000
            mix:17           | 4 | custom | 42a3c262 | e5b65f39
            mix:17           | 5 | custom | bf1f2cca | b300281c
            mix:32           | 0 | -      | fa7cbb42 | 00000000
            mix:32           | 1 | -      | a751fc32 | db972065
            mix:32           | 2 | -      | e7e962ce | ecebed57
            mix:32           | 3 | -      | 2ad68164 | 00000000
            mix:32           | 4 | -      | 8a0d7184 | fdde1111
            mix:32           | 5 | -      | 045fa9f0 | d8221805
            mix:32           | 0 | custom | fa7cbb42 | 00000000
            mix:32           | 1 | custom | 134bd362 | bd382821
            mix:32           | 2 | custom | 74ea313a | 65d67731
            mix:32           | 3 | custom | 2ad68164 | 00000000
            mix:32           | 4 | custom | dc41af52 | 110ce330
            mix:32           | 5 | custom | 9b1f992e | 42ae426d
            mix:33           | 0 | -      | 0932fd70 | 00000000
            mix:33           | 1 | -      | 83f3c2a8 | 68cc4ead
            mix:33           | 2 | -      | f35db8ec | 9ffee9cc
            mix:33           | 3 | -      | c133302a | 00000000
            mix:33           | 4 | -      | 11c3ce0a | 27058428
            mix:33           | 5 | -      | dc58d518 | 6a88bfd3
            mix:33           | 0 | custom | 0932fd70 | 00000000
            mix:33           | 1 | custom | 7510edf0 | b2f4844a
            mix:33           | 2 | custom | 72f71282 | 9ed0b4ed
            mix:33           | 3 | custom | c133302a | 00000000
            mix:33           | 4 | custom | e8ab5b66 | 40aff789
            mix:33           | 5 | custom | 9b5143fa | e4f0b07f
            mix:33           | 0 | zero   | 0932fd70 | 00000000
            mix:33           | 1 | zero   | 83f3c2a8 | 68cc4ead
            mix:33           | 2 | zero   | f35db8ec | 9ffee9cc
            mix:33           | 3 | zero   | c133302a | 00000000
            mix:33           | 4 | zero   | 11c3ce0a | 27058428
            mix:33           | 5 | zero   | dc58d518 | 6a88bfd3
            mix:255          | 0 | -      | 693df50e | 00000000
            mix:255          | 1 | -      | 4bad48d6 | 28e01760
            mix:255          | 2 | -      | c87b8136 | 87b03cb6
            mix:255          | 3 | -      | b8e47292 | 00000000
            mix:255          | 4 | -      | 42c5c514 | 2fb0da37
            mix:255          | 5 | -      | 33362e9c | e692b9d8
            mix:255          | 0 | custom | 693df50e | 00000000
            mix:255          | 1 | custom | 411b43c4 | e41532e0
            mix:255          | 2 | custom | 571ea78a | 38b5b28a
            mix:255          | 3 | custom | b8e47292 | 00000000
            mix:255          | 4 | custom | d09a3f50 | 66952a7e
            mix:255          | 5 | custom | ad32c1d4 | 09f95433
            alpha:16         | 0 | -      | de5b93cc | 00000000
            alpha:16         | 1 | -      | e6ca6bce | 3ff14429
            alpha:16         | 2 | -      | 19c9456a | 112c17ce
            alpha:16         | 3 | -      | de5b93cc | 00000000
            alpha:16         | 4 | -      | e6ca6bce | 3ff14429
            alpha:16         | 5 | -      | 19c9456a | 112c17ce
            alpha:16         | 0 | custom | de5b93cc | 00000000
            alpha:16         | 1 | custom | f1fecbea | 9288cedf
            alpha:16         | 2 | custom | 1950e04e | fd192624
            alpha:16         | 3 | custom | de5b93cc | 00000000
            alpha:16         | 4 | custom | f1fecbea | 9288cedf
            alpha:16         | 5 | custom | 1950e04e | fd192624
            alpha:17         | 0 | -      | 68fcd52e | 00000000
            alpha:17         | 1 | -      | 7860b8a4 | fff43a3a
            alpha:17         | 2 | -      | d53f332a | fbc613ea
            alpha:17         | 3 | -      | 68fcd52e | 00000000
            alpha:17         | 4 | -      | 7860b8a4 | fff43a3a
            alpha:17         | 5 | -      | d53f332a | fbc613ea
            alpha:17         | 0 | custom | 68fcd52e | 00000000
            alpha:17         | 1 | custom | b340e278 | ed08c5af
            alpha:17         | 2 | custom | d04d91dc | e52cd73b
            alpha:17         | 3 | custom | 68fcd52e | 00000000
            alpha:17         | 4 | custom | b340e278 | ed08c5af
            alpha:17         | 5 | custom | d04d91dc | e52cd73b
            alpha:33         | 0 | -      | 9139662c | 00000000
            alpha:33         | 1 | -      | 0563fb2a | c01ea3ce
            alpha:33         | 2 | -      | ba9dafc6 | dedbccd2
            alpha:33         | 3 | -      | 9139662c | 00000000
            alpha:33         | 4 | -      | 0563fb2a | c01ea3ce
            alpha:33         | 5 | -      | ba9dafc6 | dedbccd2
            alpha:33         | 0 | custom | 9139662c | 00000000
            alpha:33         | 1 | custom | 9ff45972 | 88936054
            alpha:33         | 2 | custom | 109369da | 12d06a3d
            alpha:33         | 3 | custom | 9139662c | 00000000
            alpha:33         | 4 | custom | 9ff45972 | 88936054
            alpha:33         | 5 | custom | 109369da | 12d06a3d
            alpha:255        | 0 | -      | 325296da | 00000000
            alpha:255        | 1 | -      | fa1a2724 | 449ba2a7
            alpha:255        | 2 | -      | 7f545b4c | 33d4a8e4
            alpha:255        | 3 | -      | 325296da | 00000000
            alpha:255        | 4 | -      | fa1a2724 | 449ba2a7
            alpha:255        | 5 | -      | 7f545b4c | 33d4a8e4
            alpha:255        | 0 | custom | 325296da | 00000000
            alpha:255        | 1 | custom | 068ad188 | 6b70980b
            alpha:255        | 2 | custom | 7321d58a | 4e721709
            alpha:255        | 3 | custom | 325296da | 00000000
            alpha:255        | 4 | custom | 068ad188 | 6b70980b
            alpha:255        | 5 | custom | 7321d58a | 4e721709
            """)
    void matchesDebugfsDxHash(String name, int version, String seed, String major, String minor) {
        assertHash(name, version, seed, major, minor);
    }

    /**
     * A major hash of 0xFFFFFFFE is {@code EXT4_HTREE_EOF_32BIT << 1}, which the kernel moves to
     * 0xFFFFFFFC. e2fsprogs' {@code ext2fs_dirhash} skips that step ({@code debugfs -R "dx_hash -h 0
     * GHMaF2"} prints 0xfffffffe), so these values come from the kernel instead: the readdir
     * {@code d_off} of a loop-mounted ext4 with that hash algorithm, seed and signedness flag.
     */
    @ParameterizedTest(name = "{0} v{1}")
    @CsvSource(delimiter = '|', textBlock = """
            GHMaF2 | 0 | custom | fffffffc | 00000000
            GHMaF2 | 3 | custom | fffffffc | 00000000
            q7s0mH | 0 | custom | fffffffc | 00000000
            q7s0mH | 3 | custom | fffffffc | 00000000
            GHMaF2 | 1 | custom | bc0a227a | 55adeeb4
            GHMaF2 | 2 | custom | 8e8ed748 | 354fb536
            """)
    void avoidsTheEofHashLikeTheKernel(String name, int version, String seed, String major, String minor) {
        assertHash(name, version, seed, major, minor);
    }

    @Test
    void nullAndAllZeroSeedsMeanTheDefaultWords() {
        byte[] n = name("mix:33");
        int[] zero = new int[4];
        int[] md4Init = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476};
        for (int v : new int[] {DxHash.HALF_MD4, DxHash.TEA, DxHash.HALF_MD4_UNSIGNED, DxHash.TEA_UNSIGNED}) {
            DxHash.Hash expected = DxHash.hash(n, 0, n.length, v, null);
            assertEquals(expected, DxHash.hash(n, 0, n.length, v, zero));
            assertEquals(expected, DxHash.hash(n, 0, n.length, v, md4Init));
        }
    }

    @Test
    void doesNotModifyTheSeed() {
        int[] seed = seed(CUSTOM_SEED);
        int[] copy = seed.clone();
        DxHash.hash(name("mix:255"), 0, 255, DxHash.HALF_MD4, seed);
        assertArrayEquals(copy, seed);
    }

    @ParameterizedTest
    @ValueSource(ints = {DxHash.SIPHASH, 7, 255, -1, Integer.MIN_VALUE})
    void unknownVersionsThrow(int version) {
        byte[] n = name("abc");
        assertThrows(IllegalArgumentException.class, () -> DxHash.hash(n, 0, n.length, version, null));
    }

    @Test
    void seedMustHaveFourWords() {
        byte[] n = name("abc");
        assertThrows(IllegalArgumentException.class, () -> DxHash.hash(n, 0, 3, DxHash.TEA, new int[3]));
    }

    @Test
    void rejectsRangesOutsideTheArray() {
        byte[] n = name("abc");
        assertThrows(IndexOutOfBoundsException.class, () -> DxHash.hash(n, 1, 3, DxHash.TEA, null));
    }

    /** Hashes the name placed at a non-zero offset inside a larger array, to exercise off/len. */
    private static void assertHash(String name, int version, String seed, String major, String minor) {
        byte[] n = name(name);
        byte[] buf = new byte[n.length + 7];
        Arrays.fill(buf, (byte) 0xA5);
        System.arraycopy(n, 0, buf, 5, n.length);
        DxHash.Hash h = DxHash.hash(buf, 5, n.length, version, seed(seed));
        assertEquals(new DxHash.Hash(Integer.parseUnsignedInt(major, 16), Integer.parseUnsignedInt(minor, 16)), h,
                () -> String.format("got %08x/%08x", h.major(), h.minor()));
    }

    /**
     * "hex:..." is raw bytes; "mix:N" is N bytes cycling lowercase letter, byte 0x80..0xFF, digit
     * (so signedness matters); "alpha:N" is N upper-case letters; anything else is ASCII.
     */
    private static byte[] name(String spec) {
        if (spec.startsWith("hex:")) {
            return HexFormat.of().parseHex(spec.substring(4));
        }
        if (spec.startsWith("mix:") || spec.startsWith("alpha:")) {
            boolean mix = spec.startsWith("mix:");
            int n = Integer.parseInt(spec.substring(spec.indexOf(':') + 1));
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) {
                b[i] = (byte) (!mix ? 'A' + (i * 7) % 26
                        : i % 3 == 0 ? 'a' + i % 26
                        : i % 3 == 1 ? 0x80 + (i * 13) % 128
                        : '0' + i % 10);
            }
            return b;
        }
        return spec.getBytes(StandardCharsets.US_ASCII);
    }

    /** s_hash_seed words: the UUID's bytes in on-disk order, read as little-endian 32-bit words. */
    private static int[] seed(String spec) {
        return switch (spec) {
            case "-" -> null;
            case "zero" -> new int[4];
            default -> {
                byte[] b = HexFormat.of().parseHex((spec.equals("custom") ? CUSTOM_SEED : spec).replace("-", ""));
                int[] w = new int[4];
                for (int k = 0; k < 4; k++) {
                    w[k] = (b[4 * k] & 0xFF) | (b[4 * k + 1] & 0xFF) << 8 | (b[4 * k + 2] & 0xFF) << 16
                            | (b[4 * k + 3] & 0xFF) << 24;
                }
                yield w;
            }
        };
    }
}
