package org.ext4j.inode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.Le;
import org.ext4j.format.XattrEntry;

/**
 * One place attributes live, in a private copy of its bytes: the inode body after i_extra_isize
 * or an external block. Mirrors the kernel's {@code struct ext4_xattr_search} (base, first entry,
 * end, the entry found) and the functions working on it in {@code fs/ext4/xattr.c}:
 * {@link #check} is {@code check_xattrs}, {@link #find} is {@code xattr_find_entry} (sorted in a
 * block, in the body not), {@link #setEntry} is {@code ext4_xattr_set_entry}, byte for byte, so
 * that entries and values end up where the kernel would have put them: entries grow down from
 * {@code first}, values up from {@code end}, value offsets counted from {@code base}.
 */
final class XattrArea {
    /** {@code EXT4_XATTR_SIZE_MAX}: larger value sizes are corruption. */
    static final long SIZE_MAX = 1 << 24;

    final byte[] buf;
    final int base;
    final int first;
    final int end;
    final boolean isBlock;
    private final long inode;
    private final long block;

    /** The search result: the entry found, or where it would go; and whether it was found. */
    int here;
    boolean found;

    /**
     * What the last successful {@link #setEntry} took out: the value inode and value size of the
     * entry it replaced or removed when that value lived in an inode (0 when none), whose reference
     * the caller drops ({@code ext4_xattr_set_entry}'s {@code ext4_xattr_inode_dec_ref}).
     */
    long droppedInum;
    long droppedSize;

    XattrArea(byte[] buf, int base, int first, int end, boolean isBlock, long inode, long block) {
        this.buf = buf;
        this.base = base;
        this.first = first;
        this.end = end;
        this.isBlock = isBlock;
        this.inode = inode;
        this.block = block;
        this.here = first;
    }

    private CorruptionException.Builder err(int off) {
        return CorruptionException.of(Kind.BAD_XATTR).inode(inode).block(isBlock ? block : -1).offset(off);
    }

    /**
     * {@code check_xattrs}, and more: the entry list ends before {@code end}, names hold no NUL,
     * value inodes only with ea_inode, sizes bounded, every value inside the area after the entry
     * list (padding included), and, as e2fsck's region check, no two values overlap, so that moving
     * values about never spreads damage.
     */
    void check(boolean eaInodeFeature, long inodesCount) throws CorruptionException {
        int e = first;
        while (!isLast(e)) {
            int next = e + XattrEntry.entryLen(Le.u8(buf, e));
            if (next >= end) {
                throw err(e).build((isBlock ? "xattr block" : "in-inode xattr") + ": e_name out of bounds");
            }
            int nameLen = Le.u8(buf, e);
            for (int i = 0; i < nameLen; i++) {
                if (buf[e + XattrEntry.ENTRY_HEADER_SIZE + i] == 0) {
                    throw err(e).build("bad e_name length (a NUL inside the name)");
                }
            }
            e = next;
        }
        int listEnd = e + 4;
        List<long[]> values = new ArrayList<>();
        for (int x = first; !isLast(x); x = next(x)) {
            long size = Le.u32(buf, x + XattrEntry.E_VALUE_SIZE);
            long inum = Le.u32(buf, x + XattrEntry.E_VALUE_INUM);
            if (inum != 0 && !eaInodeFeature) {
                throw err(x).build("ea_inode specified without ea_inode feature enabled");
            }
            if (inum != 0 && (inum == 2 || inum > inodesCount)) {
                throw err(x).build("invalid ea_ino " + inum);
            }
            if (size > SIZE_MAX) {
                throw err(x).build("e_value size " + size + " too large");
            }
            if (size != 0 && inum == 0) {
                int offs = Le.u16(buf, x + XattrEntry.E_VALUE_OFFS);
                long value = (long) base + offs;
                if (offs > end - base || value < listEnd || size > end - value
                        || XattrEntry.valueLen((int) size) > end - value) {
                    throw err(x).build("value at " + offs + " of " + size + " bytes overlaps the entries or runs past the end");
                }
                values.add(new long[] {value, value + XattrEntry.valueLen((int) size)});
            }
        }
        values.sort((a, b) -> Long.compare(a[0], b[0]));
        for (int i = 1; i < values.size(); i++) {
            if (values.get(i)[0] < values.get(i - 1)[1]) {
                throw err((int) values.get(i)[0]).build("two values overlap");
            }
        }
    }

    boolean isLast(int e) {
        return Le.u32(buf, e) == 0;
    }

    int next(int e) {
        return e + XattrEntry.entryLen(Le.u8(buf, e));
    }

    boolean isEmpty() {
        return isLast(first);
    }

    /** {@code xattr_find_entry}: sets {@link #here} and {@link #found}. */
    void find(int index, byte[] name, boolean sorted) {
        int e = first;
        int cmp = 1;
        for (; !isLast(e); e = next(e)) {
            cmp = index - Le.u8(buf, e + 1);
            if (cmp == 0) {
                cmp = name.length - Le.u8(buf, e);
            }
            if (cmp == 0) {
                cmp = Arrays.compareUnsigned(name, 0, name.length, buf, e + XattrEntry.ENTRY_HEADER_SIZE,
                        e + XattrEntry.ENTRY_HEADER_SIZE + name.length);
            }
            if (cmp <= 0 && (sorted || cmp == 0)) {
                break;
            }
        }
        here = e;
        found = cmp == 0;
    }

    /** The entry found holds its value in a value inode (ea_inode). */
    boolean foundInValueInode() {
        return found && Le.u32(buf, here + XattrEntry.E_VALUE_INUM) != 0;
    }

    /** {@code ext4_xattr_value_same}. */
    boolean valueSame(byte[] value) {
        if (Le.u32(buf, here + XattrEntry.E_VALUE_INUM) != 0 || Le.u32(buf, here + XattrEntry.E_VALUE_SIZE) != value.length) {
            return false;
        }
        int v = base + Le.u16(buf, here + XattrEntry.E_VALUE_OFFS);
        return value.length == 0 || Arrays.equals(buf, v, v + value.length, value, 0, value.length);
    }

    /** Whether any entry holds its value in a value inode. */
    boolean anyValueInode() {
        for (int e = first; !isLast(e); e = next(e)) {
            if (Le.u32(buf, e + XattrEntry.E_VALUE_INUM) != 0) {
                return true;
            }
        }
        return false;
    }

    /** {@link #setEntry(int, byte[], byte[], int, long, long)} of a value kept in the area. */
    boolean setEntry(int index, byte[] name, byte[] value, int blockReserve) {
        return setEntry(index, name, value, blockReserve, 0, 0);
    }

    /**
     * {@code ext4_xattr_set_entry}: sets (value not null) or removes (null) the entry {@link #find}
     * found or placed, with name {@code index}/{@code name}. Returns false, changing nothing, when
     * it does not fit (ENOSPC). With ea_inode, a block keeps {@code blockReserve} bytes for names,
     * as the kernel does. A {@code valueInum} other than 0 puts the value in that inode instead
     * (the entry takes only its name's room; its hash is the name's with the value's hash
     * {@code valueHash} as the one value word, in the body as in a block); the caller may change the
     * number later ({@link #setValueInum}). The entry set is at {@link #here} afterwards.
     */
    boolean setEntry(int index, byte[] name, byte[] value, int blockReserve, long valueInum, long valueHash) {
        boolean inInode = value != null && valueInum != 0;
        droppedInum = 0;
        droppedSize = 0;
        int oldSize = found && Le.u32(buf, here + XattrEntry.E_VALUE_INUM) == 0
                ? XattrEntry.valueLen((int) Le.u32(buf, here + XattrEntry.E_VALUE_SIZE)) : 0;
        int newSize = value != null && !inInode ? XattrEntry.valueLen(value.length) : 0;
        if (newSize != 0 && newSize == oldSize) {
            int val = base + Le.u16(buf, here + XattrEntry.E_VALUE_OFFS);
            Le.put32(buf, here + XattrEntry.E_VALUE_SIZE, value.length);
            System.arraycopy(value, 0, buf, val, value.length);
            Arrays.fill(buf, val + value.length, val + newSize, (byte) 0);
            updateHash(value);
            rehash();
            return true;
        }
        int minOffs = end - base;
        int last = first;
        for (; !isLast(last); last = next(last)) {
            if (Le.u32(buf, last + XattrEntry.E_VALUE_INUM) == 0 && Le.u32(buf, last + XattrEntry.E_VALUE_SIZE) != 0) {
                minOffs = Math.min(minOffs, Le.u16(buf, last + XattrEntry.E_VALUE_OFFS));
            }
        }
        int entryLen = XattrEntry.entryLen(name.length);
        if (value != null) {
            long free = minOffs - (last - base) - 4L;
            if (found) {
                free += entryLen + oldSize;
            }
            if (free < entryLen + newSize) {
                return false;
            }
            if (blockReserve > 0 && newSize != 0 && isBlock && minOffs + oldSize - newSize < blockReserve) {
                return false;
            }
        }
        // no failure past this point
        droppedInum = found ? Le.u32(buf, here + XattrEntry.E_VALUE_INUM) : 0;
        droppedSize = droppedInum != 0 ? Le.u32(buf, here + XattrEntry.E_VALUE_SIZE) : 0;
        if (found && Le.u32(buf, here + XattrEntry.E_VALUE_SIZE) != 0 && Le.u32(buf, here + XattrEntry.E_VALUE_INUM) == 0) {
            // remove the old value: the values below it move up by its size
            int firstVal = base + minOffs;
            int offs = Le.u16(buf, here + XattrEntry.E_VALUE_OFFS);
            int val = base + offs;
            System.arraycopy(buf, firstVal, buf, firstVal + oldSize, val - firstVal);
            Arrays.fill(buf, firstVal, firstVal + oldSize, (byte) 0);
            minOffs += oldSize;
            for (int e = first; !isLast(e); e = next(e)) {
                int o = Le.u16(buf, e + XattrEntry.E_VALUE_OFFS);
                if (Le.u32(buf, e + XattrEntry.E_VALUE_INUM) == 0 && Le.u32(buf, e + XattrEntry.E_VALUE_SIZE) != 0 && o < offs) {
                    Le.put16(buf, e + XattrEntry.E_VALUE_OFFS, o + oldSize);
                }
            }
        }
        if (value == null) {
            int size = entryLen;
            last -= size;
            System.arraycopy(buf, here + size, buf, here, last - here + 4);
            Arrays.fill(buf, last, last + size, (byte) 0);
        } else if (!found) {
            int rest = last - here + 4;
            System.arraycopy(buf, here, buf, here + entryLen, rest);
            Arrays.fill(buf, here, here + entryLen, (byte) 0);
            buf[here] = (byte) name.length;
            buf[here + 1] = (byte) index;
            System.arraycopy(name, 0, buf, here + XattrEntry.ENTRY_HEADER_SIZE, name.length);
        } else {
            Le.put16(buf, here + XattrEntry.E_VALUE_OFFS, 0);
            Le.put32(buf, here + XattrEntry.E_VALUE_INUM, 0);
            Le.put32(buf, here + XattrEntry.E_VALUE_SIZE, 0);
        }
        if (value != null) {
            if (inInode) {
                Le.put32(buf, here + XattrEntry.E_VALUE_INUM, valueInum);
            } else if (value.length > 0) {
                int val = base + minOffs - newSize;
                Le.put16(buf, here + XattrEntry.E_VALUE_OFFS, minOffs - newSize);
                System.arraycopy(value, 0, buf, val, value.length);
                Arrays.fill(buf, val + value.length, val + newSize, (byte) 0);
            }
            Le.put32(buf, here + XattrEntry.E_VALUE_SIZE, value.length);
            if (inInode) {
                Le.put32(buf, here + XattrEntry.E_HASH, XattrValueInode.entryHash(buf, here + XattrEntry.ENTRY_HEADER_SIZE,
                        Le.u8(buf, here), valueHash, false));
            } else {
                updateHash(value);
            }
        }
        rehash();
        found = value != null;
        return true;
    }

    /** Sets the value inode of the entry at {@code entry} (set by {@link #setEntry} with a stand-in number). */
    void setValueInum(int entry, long inum) {
        Le.put32(buf, entry + XattrEntry.E_VALUE_INUM, inum);
    }

    /** The value inodes the entries refer to, entry {@code except} (an offset, or -1) left out. */
    List<Long> valueInodes(int except) {
        List<Long> out = new ArrayList<>();
        for (int e = first; !isLast(e); e = next(e)) {
            long inum = Le.u32(buf, e + XattrEntry.E_VALUE_INUM);
            if (inum != 0 && e != except) {
                out.add(inum);
            }
        }
        return out;
    }

    /** {@code ext4_xattr_rehash} of a block. */
    private void rehash() {
        if (isBlock) {
            Le.put32(buf, XattrEntry.HASH_OFFSET, XattrEntry.blockHash(buf));
        }
    }

    /** The entry hash: over name and padded value in a block, 0 in the inode body. */
    private void updateHash(byte[] value) {
        long hash = 0;
        if (isBlock) {
            int val = base + Le.u16(buf, here + XattrEntry.E_VALUE_OFFS);
            hash = XattrEntry.hashEntry(buf, here + XattrEntry.ENTRY_HEADER_SIZE, Le.u8(buf, here), buf, val,
                    XattrEntry.valueLen(value.length) >> 2, false);
        }
        Le.put32(buf, here + XattrEntry.E_HASH, hash);
    }
}
