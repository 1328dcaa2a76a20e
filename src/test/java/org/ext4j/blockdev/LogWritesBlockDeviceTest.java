package org.ext4j.blockdev;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.List;

import org.ext4j.blockdev.LogWritesBlockDevice.Write;
import org.junit.jupiter.api.Test;

/** The recording device: pass-through, the log's epochs, and the crash states rebuilt from it. */
class LogWritesBlockDeviceTest {

    private static byte[] filled(int len, int value) {
        byte[] b = new byte[len];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }

    private static void write(BlockDevice d, long offset, byte[] b) throws IOException {
        d.write(offset, ByteBuffer.wrap(b));
    }

    /** Base of 8 KiB of 0x11; epoch 0: A at 0; epoch 1: B at 1024, C at 0 (over A); epoch 2: D at 4096. */
    private static LogWritesBlockDevice logged(byte[] disk) throws IOException {
        LogWritesBlockDevice d = new LogWritesBlockDevice(new MemoryBlockDevice(disk, false));
        write(d, 0, filled(1024, 0xA));
        d.flush();
        write(d, 1024, filled(1024, 0xB));
        write(d, 0, filled(512, 0xC));
        d.flush();
        write(d, 4096, filled(2048, 0xD));
        return d;
    }

    @Test
    void passesEverythingThroughAndLogsInOrder() throws IOException {
        byte[] disk = filled(8192, 0x11);
        LogWritesBlockDevice d = logged(disk);
        assertEquals(0xC, disk[0]);
        assertEquals(0xA, disk[512]);
        assertEquals(0xB, disk[1024]);
        assertEquals(0xD, disk[4096]);
        byte[] back = new byte[4];
        d.read(1024, ByteBuffer.wrap(back));
        assertArrayEquals(filled(4, 0xB), back);

        assertEquals(2, d.flushCount());
        assertEquals(3, d.epochCount());
        assertEquals(4, d.writes().size());
        assertEquals(List.of(0L), d.epoch(0).stream().map(Write::offset).toList());
        assertEquals(List.of(1024L, 0L), d.epoch(1).stream().map(Write::offset).toList());
        assertEquals(List.of(4096L), d.epoch(2).stream().map(Write::offset).toList());
        assertEquals(1, d.epoch(1).get(1).epoch());
        assertThrows(IndexOutOfBoundsException.class, () -> d.epoch(3));
    }

    @Test
    void theLoggedBytesAreACopyOfWhatWasWritten() throws IOException {
        LogWritesBlockDevice d = new LogWritesBlockDevice(new MemoryBlockDevice(new byte[4096], false));
        byte[] b = filled(100, 7);
        ByteBuffer src = ByteBuffer.wrap(b);
        d.write(10, src);
        assertEquals(0, src.remaining(), "the write consumed its buffer as the inner device does");
        b[0] = 9;
        assertEquals(7, d.writes().get(0).data()[0]);
    }

    @Test
    void aCrashStateHasEveryEarlierEpochAndTheChosenWritesOfItsOwn() throws IOException {
        LogWritesBlockDevice d = logged(filled(8192, 0x11));

        byte[] none = filled(8192, 0x11);
        d.replay(new MemoryBlockDevice(none, false), 1, List.of());
        assertEquals(0xA, none[0], "epoch 0 is durable in a crash during epoch 1");
        assertEquals(0x11, none[1024]);

        BitSet onlySecond = new BitSet();
        onlySecond.set(1);
        byte[] second = filled(8192, 0x11);
        assertEquals(2, d.replay(new MemoryBlockDevice(second, false), 1, LogWritesBlockDevice.subset(d.epoch(1), onlySecond)));
        assertEquals(0xC, second[0], "the disk kept the later write and not the earlier one");
        assertEquals(0xA, second[512]);
        assertEquals(0x11, second[1024]);

        byte[] all = filled(8192, 0x11);
        d.replay(new MemoryBlockDevice(all, false), 2, d.epoch(2));
        byte[] live = filled(8192, 0x11);
        logged(live);
        assertArrayEquals(live, all, "the last epoch with every write is the device as the workload left it");

        byte[] start = filled(8192, 0x11);
        assertEquals(0, d.replay(new MemoryBlockDevice(start, false), 0, List.of()));
        assertArrayEquals(filled(8192, 0x11), start);
    }

    @Test
    void sectorsSplitWritesAtSectorBoundaries() throws IOException {
        byte[] data = new byte[1500];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        List<Write> parts = LogWritesBlockDevice.sectors(List.of(new Write(300, data, 4)), 512);
        assertEquals(List.of(300L, 512L, 1024L, 1536L), parts.stream().map(Write::offset).toList());
        assertEquals(List.of(212, 512, 512, 264), parts.stream().map(w -> w.data().length).toList());
        assertEquals((byte) 212, parts.get(1).data()[0]);
        assertEquals(4, parts.get(3).epoch());

        byte[] torn = new byte[4096];
        BitSet firstAndLast = new BitSet();
        firstAndLast.set(0);
        firstAndLast.set(3);
        LogWritesBlockDevice.apply(new MemoryBlockDevice(torn, false), LogWritesBlockDevice.subset(parts, firstAndLast));
        assertEquals((byte) 0, torn[300 + 212]);
        assertEquals((byte) (1599 - 300), torn[1599]);
        assertThrows(IllegalArgumentException.class, () -> LogWritesBlockDevice.sectors(List.of(), 500));
    }

    @Test
    void stoppedRecordingStillWrites() throws IOException {
        byte[] disk = new byte[4096];
        LogWritesBlockDevice d = new LogWritesBlockDevice(new MemoryBlockDevice(disk, false));
        write(d, 0, filled(10, 1));
        d.stopRecording();
        write(d, 100, filled(10, 2));
        d.flush();
        assertEquals(2, disk[100]);
        assertEquals(1, d.writes().size());
        assertEquals(0, d.flushCount());
    }
}
