package org.ext4j.format;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** The kernel's {@code lib/crc16.c} (CRC-16/ARC polynomial) that gdt_csum descriptors use. */
class Crc16Test {

    @Test
    void arcCheckValue() {
        byte[] b = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xBB3D, Crc16.update(0, b, 0, b.length));
    }

    /** CRC-16/MODBUS is the same register with init 0xFFFF, which is how ext4 starts (crc16(~0, uuid)). */
    @Test
    void modbusCheckValue() {
        byte[] b = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0x4B37, Crc16.update(0xFFFF, b, 0, b.length));
    }

    /** Against a bit-at-a-time reference of the same reflected polynomial, on random data. */
    @Test
    void agreesWithBitwiseReference() {
        Random r = new Random(3);
        for (int round = 0; round < 100; round++) {
            byte[] b = new byte[r.nextInt(70)];
            r.nextBytes(b);
            int seed = r.nextInt(0x10000);
            int crc = seed;
            for (byte x : b) {
                crc ^= x & 0xFF;
                for (int k = 0; k < 8; k++) {
                    crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0xA001 : crc >>> 1;
                }
            }
            assertEquals(crc, Crc16.update(seed, b, 0, b.length));
            assertEquals(crc, Crc16.update(Crc16.update(seed, b, 0, b.length / 2), b, b.length / 2,
                    b.length - b.length / 2), "chained");
        }
    }

    @Test
    void respectsOffsetAndLength() {
        byte[] b = "xx123456789yy".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xBB3D, Crc16.update(0, b, 2, 9));
    }
}
