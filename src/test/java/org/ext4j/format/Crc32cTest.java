package org.ext4j.format;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The raw, seedable crc32c against the standard check values and {@link CRC32C}. */
class Crc32cTest {

    private static int standard(byte[] b, int off, int len) {
        return ~Crc32c.update(~0, b, off, len);
    }

    @Test
    void checkValueOf123456789() {
        assertEquals(0xE3069283, standard("123456789".getBytes(StandardCharsets.US_ASCII), 0, 9));
    }

    /** Check values of the iSCSI crc32c (RFC 3720, B.4), exercising both the 8-byte and 1-byte loops. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "32 zero bytes, 00, 8a9136aa",
        "32 0xff bytes, ff, 62a8ab43",
    })
    void rfc3720Vectors(String name, String fill, String expected) {
        byte[] b = new byte[32];
        java.util.Arrays.fill(b, (byte) Integer.parseInt(fill, 16));
        assertEquals((int) Long.parseLong(expected, 16), standard(b, 0, 32));
    }

    @Test
    void rfc3720IncrementingAndDecrementing() {
        byte[] inc = new byte[32];
        byte[] dec = new byte[32];
        for (int i = 0; i < 32; i++) {
            inc[i] = (byte) i;
            dec[i] = (byte) (31 - i);
        }
        assertEquals(0x46dd794e, standard(inc, 0, 32));
        assertEquals(0x113fdb5c, standard(dec, 0, 32));
    }

    @Test
    void emptyInputLeavesTheSeedAlone() {
        assertEquals(0x12345678, Crc32c.update(0x12345678, new byte[0], 0, 0));
        assertEquals(0x12345678, Crc32c.updateZeros(0x12345678, 0));
    }

    /** Every length 0..300 at every alignment 0..7, so each tail of the slicing-by-8 loop is covered. */
    @Test
    void agreesWithJdkCrc32cOnRandomData() {
        Random r = new Random(42);
        byte[] data = new byte[320];
        r.nextBytes(data);
        for (int off = 0; off < 8; off++) {
            for (int len = 0; len <= 300; len++) {
                CRC32C jdk = new CRC32C();
                jdk.update(data, off, len);
                assertEquals((int) jdk.getValue(), standard(data, off, len), "off " + off + " len " + len);
            }
        }
    }

    /** The JDK path (seeded through four preset bytes) and the table agree for any seed, length, offset. */
    @Test
    void jdkPathAgreesWithTheTableForAnySeed() {
        Random r = new Random(11);
        byte[] data = new byte[5000];
        r.nextBytes(data);
        int[] lengths = {Crc32c.JDK_MIN - 1, Crc32c.JDK_MIN, Crc32c.JDK_MIN + 1, 100, 1000, 4092, 4096, 4999};
        for (int round = 0; round < 300; round++) {
            int seed = round < 4 ? new int[] {0, ~0, 0x80000000, 1}[round] : r.nextInt();
            int len = lengths[round % lengths.length];
            int off = r.nextInt(data.length - len + 1);
            assertEquals(Crc32c.updateTable(seed, data, off, len), Crc32c.update(seed, data, off, len),
                    "seed " + seed + " off " + off + " len " + len);
        }
    }

    @Test
    void presetDrivesTheRegisterToTheSeed() {
        Random r = new Random(5);
        for (int round = 0; round < 1000; round++) {
            int seed = r.nextInt();
            assertEquals(seed, Crc32c.updateTable(~0, Crc32c.preset(seed), 0, 4));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4, 7, 8, 9, 16, 255, 1024, 4096})
    void updateZerosEqualsUpdatingWithZeroArray(int n) {
        for (int seed : new int[] {0, ~0, 0x9ab02404, 0x80000001}) {
            assertEquals(Crc32c.update(seed, new byte[n], 0, n), Crc32c.updateZeros(seed, n), "seed " + seed);
        }
    }

    /** crc(a ++ b) == crc(crc(a), b) for raw values: how ext4 chains seed, number, generation, body. */
    @Test
    void chainsAcrossPieces() {
        Random r = new Random(7);
        for (int round = 0; round < 200; round++) {
            byte[] b = new byte[r.nextInt(100)];
            r.nextBytes(b);
            int split = b.length == 0 ? 0 : r.nextInt(b.length + 1);
            int seed = r.nextInt();
            int whole = Crc32c.update(seed, b, 0, b.length);
            int chained = Crc32c.update(Crc32c.update(seed, b, 0, split), b, split, b.length - split);
            assertEquals(whole, chained);
        }
    }

    @Test
    void littleEndianHelpersFeedTheSameBytes() {
        byte[] le32 = {0x78, 0x56, 0x34, 0x12};
        byte[] le64 = {(byte) 0xEF, (byte) 0xCD, (byte) 0xAB, (byte) 0x89, 0x67, 0x45, 0x23, 0x01};
        assertEquals(Crc32c.update(~0, le32), Crc32c.updateLe32(~0, 0x12345678L));
        assertEquals(Crc32c.update(~0, le64), Crc32c.updateLe64(~0, 0x0123456789ABCDEFL));
    }

    /** update() passes the register through raw: the standard value is its complement. */
    @Test
    void rawUpdateIsNotInverted() {
        byte[] b = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(~0xE3069283, Crc32c.update(~0, b, 0, b.length));
    }
}
