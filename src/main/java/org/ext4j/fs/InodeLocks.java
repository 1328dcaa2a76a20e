package org.ext4j.fs;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * One read-write lock per inode in use by an operation: the kernel's {@code i_rwsem} for the
 * namespace. A directory's lock is held shared while a name is looked up in it and exclusive while
 * its entries change; a non-directory's (or a directory's own, as a child) exclusive while its link
 * count, attributes or xattrs change, or while it is opened or evicted. Locks exist only while
 * held or waited for (counted, dropped at zero), so a tree of millions of inodes costs nothing.
 *
 * <p><b>Lock order</b> (docs/ARCHITECTURE.md, "Concurrency"): the rename lock
 * ({@link WriteSession#renameLock}, cross-directory renames only) first; then directories parent
 * before child, two unrelated ones (the two parents of a rename, under the rename lock) by inode
 * number; then the non-directory (or child directory) inodes an operation changes, by inode number.
 * No path is resolved while a directory lock is held: resolution takes each directory's lock
 * shared for the lookup in it and drops it before the next. Below all of these: the per-inode
 * update lock of {@link WriteSession#updateInode}, the orphan list's monitor, the allocators' group
 * locks, the buffer locks. File data takes none of them: its writer lock is the file's own.
 */
final class InodeLocks {
    private static final class Entry {
        final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
        int users; // guarded by the map's per-key atomicity (compute)
    }

    private final ConcurrentHashMap<Long, Entry> locks = new ConcurrentHashMap<>();

    /** A held lock; closing releases it. */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }

    private Entry acquire(long ino) {
        return locks.compute(ino, (k, e) -> {
            Entry x = e == null ? new Entry() : e;
            x.users++;
            return x;
        });
    }

    private void release(long ino) {
        locks.computeIfPresent(ino, (k, e) -> --e.users == 0 ? null : e);
    }

    /** Takes inode {@code ino}'s lock shared (a lookup in a directory). */
    Held shared(long ino) {
        Entry e = acquire(ino);
        e.lock.readLock().lock();
        return () -> {
            e.lock.readLock().unlock();
            release(ino);
        };
    }

    /** Takes inode {@code ino}'s lock exclusive. */
    Held exclusive(long ino) {
        Entry e = acquire(ino);
        e.lock.writeLock().lock();
        return () -> {
            e.lock.writeLock().unlock();
            release(ino);
        };
    }

    /** Takes the exclusive locks of {@code inos} in the order given, each once; closing releases them all. */
    Held exclusive(List<Long> inos) {
        List<Held> held = new ArrayList<>();
        List<Long> seen = new ArrayList<>();
        try {
            for (long ino : inos) {
                if (!seen.contains(ino)) {
                    seen.add(ino);
                    held.add(exclusive(ino));
                }
            }
        } catch (RuntimeException | Error e) {
            release(held);
            throw e;
        }
        return () -> release(held);
    }

    private static void release(List<Held> held) {
        for (int i = held.size() - 1; i >= 0; i--) {
            held.get(i).close();
        }
    }

    /** Whether the calling thread holds inode {@code ino}'s lock exclusive (for assertions). */
    boolean heldExclusive(long ino) {
        Entry e = locks.get(ino);
        return e != null && e.lock.isWriteLockedByCurrentThread();
    }
}
