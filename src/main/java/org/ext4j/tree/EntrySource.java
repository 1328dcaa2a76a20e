package org.ext4j.tree;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;

/**
 * Entries to build a tree from, one at a time, parents before children where they are given at
 * all (a missing parent is made a directory 0755 root:root): a list a build tool made in memory, a
 * tar stream ({@link #tar}), a host directory. Once {@link #next} is called again, the previous
 * entry's contents may no longer be readable (a stream source hands each file's bytes out once, as
 * it reads them).
 */
public interface EntrySource extends Closeable {
    /** The next entry, or null when there are no more. */
    Entry next() throws IOException;

    @Override
    default void close() throws IOException {
    }

    /** The entries of {@code entries}, in its order. */
    static EntrySource of(Iterable<Entry> entries) {
        Iterator<Entry> it = entries.iterator();
        return () -> it.hasNext() ? it.next() : null;
    }

    /**
     * The members of a tar archive read from {@code in} as they come (ustar, pax, GNU long names);
     * {@code name} names the archive in messages. Closing the source closes {@code in}.
     */
    static EntrySource tar(InputStream in, String name) {
        return new TarEntrySource(in, name);
    }
}
