package org.ext4j.tree;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import org.ext4j.error.InvalidArgumentException;
import org.ext4j.error.NameTooLongException;
import org.ext4j.error.NotFoundException;
import org.ext4j.fs.Ext4File;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.FileStat;
import org.ext4j.fs.InodeAttributes;
import org.ext4j.namespace.EntryExistsException;

/**
 * Puts {@link Entry entries} into a directory of an open image through the file system's own calls,
 * as {@code tar -x --xattrs --same-owner} puts members through the kernel's: {@code createFile} and
 * {@code pwrite} for regular files (holes left where the entry says, or where blocks are all
 * zero), {@code mkdir}, {@code symlink}, {@code mknod}, {@code link}, {@code setXattr} and
 * {@code setAttributes}. A later entry for an existing non-directory replaces it (tar's default);
 * one for an existing directory sets its attributes. Missing parents are made 0755 root:root.
 *
 * <p>A directory is made 0700 and gets its xattrs, mode, owner and times only at {@link #finish},
 * once everything under it is in: adding names changes its mtime, and its set-group-ID bit or
 * default ACL would otherwise be inherited by entries that carry their own. The entry for the
 * destination itself ("." or "") is skipped: the root keeps what mkfs gave it.
 */
public final class EntryImporter {
    private static final int CHUNK = 1 << 20;

    private final Ext4FileSystem fs;
    private final String dest;
    private final byte[] buffer = new byte[CHUNK];
    /** Directories known to exist under dest (relative paths). */
    private final Set<String> dirs = new HashSet<>();
    /** Directory entries whose attributes wait for {@link #finish}, by relative path. */
    private final Map<String, Entry> pending = new LinkedHashMap<>();
    private long entries;
    private long bytes;

    /** An importer into the existing directory {@code dest} of {@code fs} ("/" for the root). */
    public EntryImporter(Ext4FileSystem fs, String dest) {
        this.fs = fs;
        this.dest = dest.endsWith("/") ? dest : dest + "/";
        dirs.add("");
    }

    /** Every entry of {@code source}, then {@link #finish}. Returns the number of entries put in. */
    public long importAll(EntrySource source) throws IOException {
        for (Entry e = source.next(); e != null; e = source.next()) {
            put(e);
        }
        finish();
        return entries;
    }

    /** Bytes of file data read from entries so far. */
    public long bytes() {
        return bytes;
    }

    /**
     * {@code path} relative to the root, '/'-separated: leading '/' and "." components dropped,
     * ".." refused, each name at most 255 bytes. Empty for the root itself.
     */
    public static String normalize(String path) throws InvalidArgumentException, NameTooLongException {
        StringBuilder out = new StringBuilder();
        for (String c : path.split("/")) {
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                throw new InvalidArgumentException(path + ": a \"..\" component would leave the image's root");
            }
            if (c.indexOf('\0') >= 0) {
                throw new InvalidArgumentException(path + ": a name holds a NUL byte");
            }
            byte[] b = c.getBytes(StandardCharsets.UTF_8);
            if (b.length > NameTooLongException.NAME_MAX) {
                throw NameTooLongException.component(b);
            }
            if (out.length() > 0) {
                out.append('/');
            }
            out.append(c);
        }
        return out.toString();
    }

    /** Puts one entry in; a directory's attributes wait for {@link #finish}. */
    public void put(Entry e) throws IOException {
        String rel = normalize(e.path());
        if (rel.isEmpty()) {
            return;
        }
        int slash = rel.lastIndexOf('/');
        if (slash > 0) {
            parents(rel.substring(0, slash));
        }
        String p = dest + rel;
        entries++;
        if (e.type() == Entry.Type.DIRECTORY) {
            if (!dirs.contains(rel)) {
                try {
                    create(e, p); // 0700: its own mode once its contents are in
                } catch (EntryExistsException exists) {
                    FileStat st = fs.stat(p);
                    if ((st.mode() & 0170000) != 0040000) {
                        fs.unlink(p); // a directory member replaces an earlier non-directory
                        create(e, p);
                    }
                }
                dirs.add(rel);
            }
            pending.put(rel, e);
            return;
        }
        if (dirs.contains(rel)) {
            throw new InvalidArgumentException(e.path() + ": a " + e.type() + " entry names an existing directory");
        }
        if (e.type() == Entry.Type.HARD_LINK) {
            String existing = normalize(e.linkTarget());
            if (existing.isEmpty() || statOrNull(dest + existing) == null) {
                throw new NotFoundException(e.path() + ": a hard link to \"" + e.linkTarget()
                        + "\", which no earlier entry made");
            }
        }
        try {
            create(e, p);
        } catch (EntryExistsException exists) {
            fs.unlink(p); // a later member replaces an earlier one, as tar extracts
            create(e, p);
        }
        if (e.type() != Entry.Type.HARD_LINK) {
            attributes(e, p); // a hard link's inode keeps the attributes its first name gave it
        }
    }

    /**
     * Makes what {@code e} is at the absolute path {@code p} (EEXIST when the name exists); a
     * directory is made 0700 and a hard link resolves {@link Entry#linkTarget} as an absolute path
     * when {@code e} comes from the host tree ({@link HostTreeImporter} shares this step).
     */
    void create(Entry e, String p) throws IOException {
        if (e.type() == Entry.Type.DIRECTORY) {
            fs.mkdir(p, 0700);
            return;
        }
        switch (e.type()) {
            case REGULAR -> writeFile(e, p);
            case SYMLINK -> fs.symlink(e.symlinkTarget(), p);
            case CHAR_DEVICE, BLOCK_DEVICE, FIFO, SOCKET -> fs.mknod(p, e.type().ifmt | e.mode(), e.major(), e.minor());
            case HARD_LINK -> fs.link(dest + normalize(e.linkTarget()), p);
            default -> throw new IllegalStateException(e.type().toString());
        }
    }

    /** Sets the attributes of every directory entry put in, now that their contents are in. */
    public void finish() throws IOException {
        for (Map.Entry<String, Entry> d : pending.entrySet()) {
            attributes(d.getValue(), dest + d.getKey());
        }
        pending.clear();
    }

    /** Sets {@code e}'s xattrs, then its mode, owner and times (a symlink's mode stays), on the inode at {@code p}. */
    void attributes(Entry e, String p) throws IOException {
        setAttributes(fs, p, e.type() == Entry.Type.SYMLINK, e.xattrs(), e.mode(), e.uid(), e.gid(), e.atime(), e.mtime());
    }

    /**
     * Sets {@code xattrs} on the inode at {@code p} of {@code fs}, then its mode (not a symlink's),
     * owner (a negative id keeps the inode's) and times: the attribute step of every import, also
     * mkfs's bulk build's for the inodes it leaves xattrs to.
     */
    public static void setAttributes(Ext4FileSystem fs, String p, boolean symlink, Map<String, byte[]> xattrs, int mode,
            long uid, long gid, java.time.Instant atime, java.time.Instant mtime) throws IOException {
        for (Map.Entry<String, byte[]> x : xattrs.entrySet()) {
            fs.setXattr(p, x.getKey(), x.getValue(), Ext4FileSystem.XattrMode.EITHER);
        }
        fs.setAttributes(p, new InodeAttributes(symlink ? null : mode, uid < 0 ? null : uid, gid < 0 ? null : gid,
                atime, mtime), false);
    }

    /** Makes the missing directories of {@code rel} 0755 root:root, as tar makes a member's missing parents. */
    private void parents(String rel) throws IOException {
        if (dirs.contains(rel)) {
            return;
        }
        int slash = rel.lastIndexOf('/');
        if (slash > 0) {
            parents(rel.substring(0, slash));
        }
        String p = dest + rel;
        FileStat st = statOrNull(p);
        if (st == null) {
            fs.mkdir(p, 0755);
            fs.setAttributes(p, new InodeAttributes(0755, 0L, 0L, null, null), false);
        } else if ((st.mode() & 0170000) != 0040000) {
            throw new InvalidArgumentException(rel + ": not a directory, yet an entry names something under it");
        }
        dirs.add(rel);
    }

    private FileStat statOrNull(String p) throws IOException {
        try {
            return fs.stat(p);
        } catch (NotFoundException e) {
            return null;
        }
    }

    private void writeFile(Entry e, String p) throws IOException {
        Entry.Contents c = e.contents();
        try (Ext4File f = fs.createFile(p, 0600); InputStream in = c.open()) {
            int bs = f.blockSize();
            for (Entry.Contents.DataRange r : c.dataRanges()) {
                long pos = r.offset();
                long left = r.length();
                while (left > 0) {
                    int want = (int) Math.min(buffer.length, left);
                    int n = in.readNBytes(buffer, 0, want);
                    if (n < want) {
                        throw new java.io.EOFException(p + ": the contents ended " + (left - n)
                                + " bytes short of the " + c.streamLength() + " the entry announced");
                    }
                    writeData(f, pos, buffer, n, c.detectHoles(), bs);
                    pos += n;
                    left -= n;
                    bytes += n;
                }
            }
            if (f.size() != c.size()) {
                f.truncate(c.size()); // a hole at the end
            }
        }
    }

    /**
     * Writes {@code n} bytes of {@code b} at {@code pos}; with {@code sparse}, the pieces that fall
     * in one block of the file and are all zero are left unwritten (they read as zeros: a hole, or
     * the zeroed rest of a newly written block). The host-tree copy writes through here too.
     */
    static void writeData(Ext4File f, long pos, byte[] b, int n, boolean sparse, int bs) throws IOException {
        if (!sparse) {
            f.pwrite(pos, b, 0, n);
            return;
        }
        int off = 0;
        int run = -1; // start of the pending run of blocks with data
        while (off < n) {
            long at = pos + off;
            int len = (int) Math.min(n - off, bs - Math.floorMod(at, (long) bs));
            boolean zero = allZero(b, off, len);
            if (!zero && run < 0) {
                run = off;
            } else if (zero && run >= 0) {
                f.pwrite(pos + run, b, run, off - run);
                run = -1;
            }
            off += len;
        }
        if (run >= 0) {
            f.pwrite(pos + run, b, run, n - run);
        }
    }

    private static boolean allZero(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }
}
