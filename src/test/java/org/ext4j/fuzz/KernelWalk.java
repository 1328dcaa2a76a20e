package org.ext4j.fuzz;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ext4j.testing.Tools;

/**
 * What the kernel shows of an image: attached read-only to a loop device, mounted {@code ro,noload}
 * (never replaying a journal, never writing), walked by one python3 process that lists every
 * directory with {@code scandir} (so names are raw bytes and a listing that fails part way keeps what
 * it listed), {@code lstat}s every entry, reads every regular file (CRC-32 of the first
 * {@link #READ_CAP} bytes) and every symlink target, recording the errno of whatever fails (EIO,
 * EUCLEAN "Structure needs cleaning", ENOENT, ...). Always unmounted and detached, lazily as a last
 * resort. Directory loops are walked once.
 */
final class KernelWalk {
    static final long READ_CAP = 64L << 20;

    /** One entry as the kernel shows it; {@code path} is raw bytes kept as ISO-8859-1 chars. */
    record Entry(String path, char type, long size, int statErrno, int readErrno, long crc, long length, String target) {
    }

    /**
     * The walk of one mount, or why there is none.
     *
     * @param mounted     the kernel mounted the image
     * @param refusal     why not (mount's message and the kernel log's lines for the loop device)
     * @param entries     every entry by path
     * @param listErrors  errno of each directory whose listing failed
     * @param probes      the paths asked for, looked up directly and followed as {@code cat} does
     */
    record View(boolean mounted, String refusal, Map<String, Entry> entries, Map<String, Integer> listErrors,
            Map<String, Entry> probes) {
    }

    private static final String WALK = """
            import os, sys, zlib, stat
            root = os.fsencode(sys.argv[1]); cap = int(sys.argv[2])
            out = []
            seen = set()
            done = {}
            def read_crc(path):
                # (errno or 0, crc32, bytes read) of the first cap bytes of a regular file
                err = 0; crc = 0; ln = 0
                try:
                    with open(path, 'rb') as f:
                        while ln < cap:
                            b = f.read(min(1 << 20, cap - ln))
                            if not b:
                                break
                            crc = zlib.crc32(b, crc); ln += len(b)
                except OSError as e:
                    err = e.errno or -1
                return err, crc, ln
            def walk(rel, depth):
                names = []
                err = 0
                try:
                    with os.scandir(root + rel if rel else root) as it:
                        for e in it:
                            names.append(e.name)
                except OSError as e:
                    err = e.errno or -1
                if err:
                    out.append('D %s %d' % (rel.hex() or '-', err))
                for name in sorted(names):
                    p = rel + b'/' + name
                    full = root + p
                    try:
                        st = os.lstat(full)
                    except OSError as e:
                        out.append('E %s ? 0 %d 0 0 0 -' % (p.hex(), e.errno or -1)); continue
                    m = st.st_mode
                    t = ('d' if stat.S_ISDIR(m) else 'f' if stat.S_ISREG(m) else 'l' if stat.S_ISLNK(m) else
                         'c' if stat.S_ISCHR(m) else 'b' if stat.S_ISBLK(m) else 'p' if stat.S_ISFIFO(m) else
                         's' if stat.S_ISSOCK(m) else '?')
                    rerr = 0; crc = 0; ln = 0; tgt = '-'
                    if t == 'f' and (st.st_dev, st.st_ino) in done:
                        rerr, crc, ln = done[(st.st_dev, st.st_ino)]
                    elif t == 'f' and st.st_size == 0:
                        pass
                    elif t == 'f':
                        rerr, crc, ln = read_crc(full)
                        done[(st.st_dev, st.st_ino)] = (rerr, crc, ln)
                    elif t == 'l':
                        try:
                            tgt = os.readlink(full).hex() or '-'
                        except OSError as e:
                            rerr = e.errno or -1
                    out.append('E %s %s %d 0 %d %d %d %s' % (p.hex(), t, st.st_size, rerr, crc, ln, tgt))
                    if t == 'd' and depth < 64 and (st.st_dev, st.st_ino) not in seen:
                        seen.add((st.st_dev, st.st_ino))
                        walk(p, depth + 1)
            walk(b'', 0)
            for line in open(sys.argv[3], 'rb').read().split(b'\\n'):
                if not line:
                    continue
                p = bytes.fromhex(line.decode())
                serr = 0; rerr = 0; crc = 0; ln = 0; size = 0; t = '?'
                try:
                    st = os.stat(root + p)
                    size = st.st_size
                    t = 'd' if stat.S_ISDIR(st.st_mode) else 'f' if stat.S_ISREG(st.st_mode) else 'o'
                except OSError as e:
                    serr = e.errno or -1
                if t == 'f':
                    rerr, crc, ln = read_crc(root + p)
                out.append('P %s %s %d %d %d %d %d -' % (p.hex(), t, size, serr, rerr, crc, ln))
            sys.stdout.write('\\n'.join(out) + '\\n')
            """;

    private KernelWalk() {
    }

    static boolean available() {
        return Tools.isRoot() && Tools.onPath("losetup") && Tools.onPath("mount") && Tools.onPath("python3");
    }

    /**
     * Mounts, walks and unmounts; {@code probes} are raw paths (ISO-8859-1 chars) to look up directly.
     * Without {@code walk} only whether the kernel mounts the image is found out.
     */
    static View walk(Path image, List<String> probes, boolean walk) throws IOException {
        Tools.Result lo = Tools.run(List.of("losetup", "-f", "--show", "-r", image.toString()), 30);
        if (lo.exit() != 0) {
            throw new IOException("losetup failed: " + lo.stderr());
        }
        String dev = lo.stdout().strip();
        Path dir = Files.createTempDirectory("ext4j-fuzz-mnt");
        Path probeFile = Files.createTempFile("ext4j-fuzz-probes", ".txt");
        boolean mounted = false;
        try {
            Tools.Result m = Tools.run(List.of("mount", "-t", "ext4", "-o", "ro,noload", dev, dir.toString()), 60);
            if (m.exit() != 0) {
                return new View(false, m.stderr().strip() + kernelLog(dev), Map.of(), Map.of(), Map.of());
            }
            mounted = true;
            if (!walk) {
                return new View(true, null, Map.of(), Map.of(), Map.of());
            }
            StringBuilder list = new StringBuilder();
            for (String p : probes) {
                list.append(HexFormat.of().formatHex(p.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1))).append('\n');
            }
            Files.writeString(probeFile, list);
            Tools.Result w = Tools.run(List.of("python3", "-c", WALK, dir.toString(), Long.toString(READ_CAP),
                    probeFile.toString()), 120);
            if (w.exit() != 0) {
                throw new IOException("kernel walk failed: " + w.stderr());
            }
            return parse(w.stdout());
        } finally {
            Files.deleteIfExists(probeFile);
            if (mounted) {
                Tools.Result u = Tools.run(List.of("umount", dir.toString()), 60);
                if (u.exit() != 0) {
                    Tools.run(List.of("umount", "-l", dir.toString()), 60);
                }
            }
            Tools.run(List.of("losetup", "-d", dev), 30);
            Files.deleteIfExists(dir);
        }
    }

    /** The kernel's last words on the device, for the reason of a refused mount. */
    private static String kernelLog(String dev) throws IOException {
        String name = Path.of(dev).getFileName().toString();
        Tools.Result d = Tools.run(List.of("dmesg"), 30);
        if (d.exit() != 0) {
            return "";
        }
        String[] lines = d.stdout().split("\n");
        StringBuilder s = new StringBuilder();
        int found = 0;
        for (int i = lines.length - 1; i >= 0 && found < 3; i--) {
            if (lines[i].contains("(" + name + ")")) {
                String l = lines[i].replaceFirst("^\\[[^]]*\\]\\s*", "");
                s.insert(0, " | " + l);
                found++;
            }
        }
        return s.toString();
    }

    private static View parse(String out) {
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, Integer> listErrors = new LinkedHashMap<>();
        Map<String, Entry> probes = new LinkedHashMap<>();
        HexFormat hex = HexFormat.of();
        for (String line : out.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split(" ");
            if (f[0].equals("D")) {
                String p = f[1].equals("-") ? "" : latin1(hex.parseHex(f[1]));
                listErrors.put(p, Integer.parseInt(f[2]));
            } else {
                String p = latin1(hex.parseHex(f[1]));
                String target = f[8].equals("-") ? null : latin1(hex.parseHex(f[8]));
                (f[0].equals("P") ? probes : entries).put(p, new Entry(p, f[2].charAt(0), Long.parseLong(f[3]), Integer.parseInt(f[4]),
                        Integer.parseInt(f[5]), Long.parseLong(f[6]), Long.parseLong(f[7]), target));
            }
        }
        return new View(true, null, entries, listErrors, probes);
    }

    static String latin1(byte[] b) {
        return new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
    }
}
