package org.ext4j.iomap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.ext4j.pagecache.AddressSpace;
import org.ext4j.pagecache.Folio;
import org.ext4j.pagecache.PageCacheLimits;
import org.junit.jupiter.api.Test;

/**
 * Writeback that saw an older, smaller end of file must leave the dirty blocks past it dirty: a
 * writer appending into the same large folio meanwhile would otherwise lose its data (found by the
 * background flusher running against appends on a nearly full file system).
 */
class WritebackSizeTest {
    private static final int B = 1024;

    @Test
    void blocksPastTheSizeWritebackSawStayDirty() throws Exception {
        MemoryMappingFs fs = new MemoryMappingFs(B, 64);
        AddressSpace space = new AddressSpace(B, 4 * B, new PageCacheLimits(1 << 20, 1 << 19, 1 << 19));
        BufferedIO io = new BufferedIO(space, fs);
        byte[] data = MemoryMappingFs.filled(4 * B, 'A');
        io.write(fs, 0, data, 0, data.length, () -> fs.size, n -> fs.size = n);

        io.writeback(fs, 0, Long.MAX_VALUE, 2 * B); // as if the size were still 2 blocks
        Folio f = space.find(0);
        assertFalse(f.isDirty(0) || f.isDirty(1), "written blocks are clean");
        assertTrue(f.isDirty(2) && f.isDirty(3), "blocks past the size it saw stay dirty");

        io.writeback(fs, 0, Long.MAX_VALUE, fs.size);
        assertFalse(f.isDirty(), "the next round writes them");
        assertArrayEquals(data, fs.diskView(fs.size));
    }
}
