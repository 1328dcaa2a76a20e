package org.ext4j.buffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.ext4j.blockdev.MemoryBlockDevice;
import org.junit.jupiter.api.Test;

/** {@link MetaBuffer#verified}: a check's result holds only while the bytes are unchanged. */
class VerifiedStampTest {
    private final BufferCache cache = new BufferCache(new MemoryBlockDevice(new byte[64 * 1024], false), 1024, 1 << 20);

    @Test
    void aStampHoldsUntilTheBufferIsDirtied() throws Exception {
        MetaBuffer b = cache.get(3);
        long v = b.version();
        b.setVerified("leaf", v, 42);
        assertEquals(42, b.verified("leaf"));
        assertNull(b.verified("node"), "another check's key does not match");
        cache.markDirty(b);
        assertNull(b.verified("leaf"), "changed bytes must be checked again");
    }

    @Test
    void aCheckOfBytesThatChangedMeanwhileIsNotRecorded() throws Exception {
        MetaBuffer b = cache.get(3);
        long v = b.version();
        cache.markDirty(b); // a writer between the reader's snapshot and its stamp
        b.setVerified("leaf", v, 42);
        assertNull(b.verified("leaf"));
    }

    @Test
    void zeroingABlockForgetsItsCheck() throws Exception {
        MetaBuffer b = cache.get(5);
        b.setVerified("leaf", b.version(), 1);
        cache.getZeroed(5); // freed and allocated again: the same buffer, new bytes
        assertNull(b.verified("leaf"));
    }
}
