package org.ext4j.alloc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.BitSet;
import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link BitSearch} against {@link java.util.BitSet} as the model, at byte edges and on random bitmaps. */
class BitSearchTest {

    private static byte[] bytes(BitSet bits, int n) {
        byte[] b = new byte[n];
        byte[] src = bits.toByteArray(); // little-endian bit order, as ext4's bitmaps
        System.arraycopy(src, 0, b, 0, Math.min(src.length, n));
        return b;
    }

    @ParameterizedTest
    @CsvSource({
        // set bits (| separated), from, limit, next zero, next one
        "'',          0, 16,  0, 16",
        "'0|1|2|3|4|5|6|7', 0, 16, 8, 0",
        "'0|1|2|3|4|5|6|7', 3, 8, 8, 3",
        "'8',         0, 8,   0, 8",
        "'7',         7, 8,   8, 7",
        "'9|10',      9, 11, 11, 9",
        "'',          5, 5,   5, 5",
    })
    void edges(String set, int from, int limit, int zero, int one) {
        BitSet bs = new BitSet();
        for (String s : set.split("\\|")) {
            if (!s.isBlank()) {
                bs.set(Integer.parseInt(s.strip()));
            }
        }
        byte[] b = bytes(bs, 4);
        assertEquals(zero, BitSearch.nextZero(b, from, limit));
        assertEquals(one, BitSearch.nextOne(b, from, limit));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5})
    void randomBitmapsAgreeWithBitSet(int seed) {
        Random rnd = new Random(seed);
        int n = 64;
        for (int round = 0; round < 200; round++) {
            BitSet bs = new BitSet();
            double density = rnd.nextDouble();
            for (int i = 0; i < n * 8; i++) {
                if (rnd.nextDouble() < density) {
                    bs.set(i);
                }
            }
            byte[] b = bytes(bs, n);
            int from = rnd.nextInt(n * 8);
            int limit = from + rnd.nextInt(n * 8 - from + 1);
            int z = bs.nextClearBit(from);
            int o = bs.nextSetBit(from);
            assertEquals(Math.min(z, limit), BitSearch.nextZero(b, from, limit));
            assertEquals(o < 0 ? limit : Math.min(o, limit), BitSearch.nextOne(b, from, limit));
            assertEquals(limit - bs.get(0, limit).cardinality(), BitSearch.countZeros(b, limit));
        }
    }
}
