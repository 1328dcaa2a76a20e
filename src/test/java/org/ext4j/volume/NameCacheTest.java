package org.ext4j.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class NameCacheTest {
    private final NameCache names = new NameCache();

    @Test
    void namesAreKeptByContentAndForgotten() {
        names.put(names.generation(), 2, "a".getBytes(), 12);
        assertEquals(12, names.get(2, new byte[] {'a'}));
        assertEquals(-1, names.get(3, new byte[] {'a'}), "another directory");
        names.forget(2, "a".getBytes());
        assertEquals(-1, names.get(2, "a".getBytes()));
    }

    @Test
    void aLookupThatRacedWithAClearIsNotKept() {
        long before = names.generation();
        names.clear();
        names.put(before, 2, "a".getBytes(), 12);
        assertEquals(-1, names.get(2, "a".getBytes()));
    }

    @Test
    void dotAndDotDotAreNeverKept() {
        names.put(names.generation(), 2, ".".getBytes(), 2);
        names.put(names.generation(), 2, "..".getBytes(), 2);
        assertEquals(-1, names.get(2, ".".getBytes()));
        assertEquals(-1, names.get(2, "..".getBytes()));
    }

    @Test
    void theCallersNameCanChangeAfterwards() {
        byte[] name = "a".getBytes();
        names.put(names.generation(), 2, name, 12);
        name[0] = 'b';
        assertEquals(12, names.get(2, "a".getBytes()));
        assertEquals(-1, names.get(2, "b".getBytes()));
    }
}
