package org.ext4j.inode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.CorruptionException.Kind;
import org.ext4j.format.InodeRecord;
import org.ext4j.format.Le;
import org.ext4j.format.XattrEntry;
import org.ext4j.volume.Volume;

/**
 * Reads an inode's extended attributes ({@code ext4_xattr_get}/{@code ext4_listxattr} in
 * {@code fs/ext4/xattr.c}): those in the inode body first, then those in the external block.
 * POSIX ACLs are stored in ext4's compact format and handed out in the VFS's
 * {@code posix_acl_xattr} format, as {@code getfattr} shows them ({@code ext4_acl_from_disk}).
 */
final class XattrReader {
    static final int INDEX_SYSTEM = 7;
    private static final int INDEX_ACL_ACCESS = 2;
    private static final int INDEX_ACL_DEFAULT = 3;
    /** What an inode's i_file_acl block is called in block validity errors. */
    static final String XATTR_BLOCK = "xattr block";

    private XattrReader() {
    }

    /** A decoded entry together with the bytes its value lives in. */
    record Located(XattrEntry entry, byte[] area, int valueBase) {
    }

    static List<Located> entries(Volume volume, InodeRecord rec) throws IOException {
        List<Located> out = new ArrayList<>();
        byte[] ibody = rec.inlineXattrArea();
        if (ibody.length >= XattrEntry.IBODY_HEADER_SIZE && Le.u32(ibody, 0) == XattrEntry.MAGIC) {
            for (XattrEntry e : XattrEntry.decodeEntries(ibody, XattrEntry.IBODY_HEADER_SIZE, ibody.length,
                    XattrEntry.IBODY_HEADER_SIZE, rec.number, -1)) {
                out.add(new Located(e, ibody, XattrEntry.IBODY_HEADER_SIZE));
            }
        }
        if (rec.fileAcl != 0) {
            // as iget does before anything reads it: inside the file system, outside the system zone
            volume.checkFileBlocks(rec.number, -1, rec.fileAcl, 1, XATTR_BLOCK);
            byte[] b = volume.readBlock(rec.fileAcl, rec.number);
            XattrEntry.checkBlockHeader(b, rec.number, rec.fileAcl);
            if (volume.superblock().hasMetadataCsum()) {
                XattrEntry.verifyBlock(volume.superblock(), b, rec.number, rec.fileAcl);
            }
            for (XattrEntry e : XattrEntry.decodeEntries(b, XattrEntry.BLOCK_HEADER_SIZE, b.length, 0, rec.number,
                    rec.fileAcl)) {
                out.add(new Located(e, b, 0));
            }
        }
        return out;
    }

    /** The raw on-disk value of an entry; values in their own inode (ea_inode) are read from it. */
    static byte[] rawValue(Volume volume, InodeRecord owner, Located l, int depth) throws IOException {
        XattrEntry e = l.entry();
        if (e.valueInum() == 0) {
            if (e.valueSize() == 0) {
                return new byte[0]; // its offset is never checked (ext4_xattr_check_entries) nor used
            }
            int start = l.valueBase() + e.valueOffset();
            return Arrays.copyOfRange(l.area(), start, start + e.valueSize());
        }
        if (depth > 0) {
            throw CorruptionException.of(Kind.BAD_XATTR).inode(owner.number)
                    .build("xattr value inode " + e.valueInum() + " itself refers to a value inode");
        }
        if (e.valueInum() == owner.number) {
            throw CorruptionException.of(Kind.LOOP).inode(owner.number)
                    .build("xattr value inode refers to its own inode");
        }
        Inode valueInode = Inode.load(volume, e.valueInum());
        if (!valueInode.record().hasFlag(InodeRecord.FL_EA_INODE) || !valueInode.record().isRegular()) {
            throw CorruptionException.of(Kind.BAD_XATTR).inode(owner.number)
                    .build("xattr value inode " + e.valueInum() + " is not marked EA_INODE");
        }
        if (valueInode.size() != e.valueSize()) {
            throw CorruptionException.of(Kind.BAD_XATTR).inode(owner.number)
                    .build("xattr value inode " + e.valueInum() + " has size " + valueInode.size()
                            + " where the entry says " + e.valueSize());
        }
        byte[] v = new byte[e.valueSize()];
        int n = valueInode.read(0, v, 0, v.length, depth + 1);
        if (n != v.length) {
            throw CorruptionException.of(Kind.BAD_XATTR).inode(owner.number).build("short xattr value inode");
        }
        InodeRecord vr = valueInode.record();
        if (!XattrValueInode.isLustre(vr, owner)) {
            // ext4_xattr_inode_verify_hashes: the value's crc32c in i_atime, the entry's hash over it
            long hash = XattrValueInode.valueHash(volume.superblock(), v);
            if (hash != (vr.atime.seconds() & 0xFFFFFFFFL)) {
                throw CorruptionException.of(Kind.BAD_XATTR).inode(owner.number).build(String.format(
                        "xattr value inode %d: value hash 0x%08x, stored 0x%08x (EA inode hash validation failed)",
                        e.valueInum(), hash, vr.atime.seconds() & 0xFFFFFFFFL));
            }
            byte[] name = e.suffix();
            if (e.hash() != XattrValueInode.entryHash(name, 0, name.length, hash, false)
                    && e.hash() != XattrValueInode.entryHash(name, 0, name.length, hash, true)) {
                throw CorruptionException.of(Kind.BAD_XATTR).inode(owner.number).build(String.format(
                        "entry hash 0x%08x of the value in inode %d does not match its name and value",
                        e.hash(), e.valueInum()));
            }
        }
        return v;
    }

    /** The value as user space sees it: ACLs converted to the VFS format. */
    static byte[] userValue(XattrEntry e, byte[] raw, long inode) throws CorruptionException {
        if (e.nameIndex() == INDEX_ACL_ACCESS || e.nameIndex() == INDEX_ACL_DEFAULT) {
            return aclToXattr(raw, inode);
        }
        return raw;
    }

    /** Whether user space sees this attribute: the kernel lists only indexes it has a handler for. */
    static boolean visible(XattrEntry e) {
        return e.nameIndex() != INDEX_SYSTEM && e.fullName() != null;
    }

    private static final int ACL_USER = 0x02;
    private static final int ACL_GROUP = 0x08;

    /** ext4_acl_header (version 1) with short and long entries, to posix_acl_xattr (version 2). */
    static byte[] aclToXattr(byte[] raw, long inode) throws CorruptionException {
        CorruptionException.Builder err = CorruptionException.of(Kind.BAD_XATTR).inode(inode);
        if (raw.length < 4 || Le.u32(raw, 0) != 1) {
            throw err.build("POSIX ACL has no version-1 header");
        }
        List<long[]> entries = new ArrayList<>();
        int off = 4;
        while (off < raw.length) {
            if (off + 4 > raw.length) {
                throw err.offset(off).build("POSIX ACL entry is cut short");
            }
            int tag = Le.u16(raw, off);
            int perm = Le.u16(raw, off + 2);
            long id = 0xFFFFFFFFL;
            if (tag == ACL_USER || tag == ACL_GROUP) {
                if (off + 8 > raw.length) {
                    throw err.offset(off).build("POSIX ACL entry is cut short");
                }
                id = Le.u32(raw, off + 4);
                off += 8;
            } else {
                off += 4;
            }
            entries.add(new long[] {tag, perm, id});
        }
        byte[] out = new byte[4 + 8 * entries.size()];
        Le.put32(out, 0, 2);
        for (int i = 0; i < entries.size(); i++) {
            long[] x = entries.get(i);
            Le.put16(out, 4 + 8 * i, (int) x[0]);
            Le.put16(out, 6 + 8 * i, (int) x[1]);
            Le.put32(out, 8 + 8 * i, x[2]);
        }
        return out;
    }
}
