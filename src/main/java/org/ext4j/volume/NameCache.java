package org.ext4j.volume;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Names already looked up, as the kernel's dcache keeps them: (directory inode, name) to the inode
 * the name points at, so that walking a path does not search a directory again for every call.
 * Only positive entries, never "." or "..". The directory writer forgets a name before it removes
 * or repoints it, under the directory's exclusive lock, so that a lookup (under the shared lock)
 * never sees a name that is gone; a write session clears everything when an abort throws dirty
 * directory blocks away. Bounded: past {@link #MAX} names the cache starts again empty.
 */
public final class NameCache {
    static final int MAX = 1 << 16;

    private record Key(long dir, byte[] name) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.dir == dir && Arrays.equals(k.name, name);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(dir) * 31 + Arrays.hashCode(name);
        }
    }

    private final ConcurrentHashMap<Key, Long> names = new ConcurrentHashMap<>();
    /** Bumped by every {@link #clear}: a lookup that began before a clear must not put what it found. */
    private final AtomicLong generation = new AtomicLong();

    /** Where a lookup starts: pass it to {@link #put} with what the lookup found. */
    public long generation() {
        return generation.get();
    }

    /** The inode {@code name} in directory {@code dir} points at, or -1 when not cached. */
    public long get(long dir, byte[] name) {
        Long ino = names.get(new Key(dir, name));
        return ino == null ? -1 : ino;
    }

    /** Remembers what a lookup begun at {@code generation} found, unless the cache was cleared since. */
    public void put(long generation, long dir, byte[] name, long ino) {
        if (isDot(name)) {
            return;
        }
        if (names.size() >= MAX) {
            names.clear();
        }
        Key k = new Key(dir, name.clone());
        Long v = ino;
        names.put(k, v);
        if (this.generation.get() != generation) {
            names.remove(k, v); // a clear raced with the lookup: what it read may be gone
        }
    }

    /** Forgets {@code name} in {@code dir}: called before the name is removed or repointed. */
    public void forget(long dir, byte[] name) {
        names.remove(new Key(dir, name));
    }

    /** Forgets everything (an abort took directory changes back). */
    public void clear() {
        generation.incrementAndGet();
        names.clear();
    }

    private static boolean isDot(byte[] name) {
        return name.length == 1 && name[0] == '.' || name.length == 2 && name[0] == '.' && name[1] == '.';
    }
}
