#!/usr/bin/env python3
"""Runs namespace operations on a kernel mount, or dumps the tree under a mount, for ext4j's tests.

  nsops.py run ROOT < OPS     one operation per line (see NamespaceOps.java); prints "ok" or the
                              errno name of each, one per line
  nsops.py dump ROOT          every name under ROOT, sorted, with type, mode, owner, links, size,
                              device, contents hash, symlink target, xattrs and hard-link group
"""
import ctypes, errno, hashlib, os, sys

libc = ctypes.CDLL(None, use_errno=True)
RENAME = {"replace": 0, "noreplace": 1, "exchange": 2}


def renameat2(old, new, flags):
    if libc.renameat2(-100, old.encode(), -100, new.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def run(root, line):
    f = line.split(" ")
    op, p = f[0], lambda s: os.path.join(root, s)
    if op == "create":
        os.close(os.open(p(f[1]), os.O_CREAT | os.O_EXCL | os.O_WRONLY, int(f[2], 8)))
    elif op == "mkdir":
        os.mkdir(p(f[1]), int(f[2], 8))
    elif op == "mknod":
        kinds = {"c": 0o020000, "b": 0o060000, "p": 0o010000, "s": 0o140000}
        os.mknod(p(f[1]), kinds[f[2]] | int(f[3], 8), os.makedev(int(f[4]), int(f[5])))
    elif op == "symlink":
        os.symlink(f[1], p(f[2]))
    elif op == "link":
        os.link(p(f[1]), p(f[2]), follow_symlinks=False)
    elif op == "unlink":
        os.unlink(p(f[1]))
    elif op == "rmdir":
        os.rmdir(p(f[1]))
    elif op == "rename":
        renameat2(p(f[1]), p(f[2]), RENAME[f[3]])
    elif op == "chmod":
        os.chmod(p(f[1]), int(f[2], 8))
    elif op == "chown":
        os.chown(p(f[1]), int(f[2]), int(f[3]))
    elif op == "utimens":
        os.utime(p(f[1]), ns=(int(f[2]), int(f[3])), follow_symlinks=False)
    elif op == "write":
        # never open a device, fifo or socket of the image on the host: answered without opening
        st = os.stat(p(f[1]))
        if st.st_mode & 0o170000 not in (0o100000, 0o040000):
            return "ENOTREG"
        fd = os.open(p(f[1]), os.O_WRONLY)
        try:
            os.pwrite(fd, bytes.fromhex(f[3]), int(f[2]))
        finally:
            os.close(fd)
    elif op == "setxattr":
        flags = {"either": 0, "create": os.XATTR_CREATE, "replace": os.XATTR_REPLACE}[f[4]]
        os.setxattr(p(f[1]), f[2], bytes.fromhex(f[3]), flags, follow_symlinks=False)
    elif op == "rmxattr":
        os.removexattr(p(f[1]), f[2], follow_symlinks=False)
    elif op == "truncate":
        os.truncate(p(f[1]), int(f[2]))
    else:
        raise SystemExit("unknown op " + op)


def dump(root, times=False):
    out, groups = [], {}
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for n in sorted(dirs + files):
            full = os.path.join(d, n)
            rel = os.path.relpath(full, root)
            if rel == "lost+found":
                continue
            st = os.lstat(full)
            t = st.st_mode & 0o170000
            line = [rel, "%o" % st.st_mode, "%d:%d" % (st.st_uid, st.st_gid), "n%d" % st.st_nlink]
            if times:
                line.append("m%d" % st.st_mtime_ns)
            if t == 0o100000:
                with open(full, "rb") as fh:
                    line += ["s%d" % st.st_size, hashlib.sha256(fh.read()).hexdigest()[:16]]
                key = st.st_ino
                groups.setdefault(key, rel)
                line.append("g=" + groups[key])
            elif t == 0o120000:
                line += ["->" + os.readlink(full)]
            elif t in (0o020000, 0o060000):
                line += ["dev%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))]
            elif t == 0o040000:
                line += ["s%d" % st.st_size] if False else []
            if t != 0o120000:
                try:
                    for x in sorted(os.listxattr(full, follow_symlinks=False)):
                        line.append("%s=%s" % (x, os.getxattr(full, x, follow_symlinks=False).hex()))
                except OSError:
                    pass
            out.append(" ".join(line))
    print("\n".join(out))


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(sys.argv[2], len(sys.argv) > 3 and sys.argv[3] == "times")
    else:
        os.umask(0)
        root = sys.argv[2]
        for line in sys.stdin.read().splitlines():
            if not line.strip():
                continue
            try:
                print(run(root, line) or "ok")
            except OSError as e:
                print(errno.errorcode.get(e.errno, str(e.errno)))
