package org.ext4j.namespace;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

import org.ext4j.testing.Tools;

/**
 * Names of raw bytes (held as ISO-8859-1 strings, one char per byte, as {@link DirFixture} keeps
 * them) created and looked up through a kernel mount. Java's own file API would encode the names
 * in the platform charset, so the bytes go through a NUL-separated list file to {@code xargs -0}.
 */
final class KernelNames {
    private KernelNames() {
    }

    /** Creates an empty file of each name in {@code dir} (a directory of a kernel mount), in order. */
    static void create(Path dir, Collection<String> names) throws IOException {
        Path list = list(names);
        try {
            Tools.run("sh", "-c", "cd \"$1\" && xargs -0 -a \"$2\" touch --", "sh", dir.toString(), list.toString())
                    .ok();
        } finally {
            Files.delete(list);
        }
    }

    /**
     * The kernel's lookup ({@code stat}, which goes through {@code ext4_lookup}) of each name in
     * {@code dir}: name to inode for the names it found.
     */
    static Map<String, Long> stat(Path dir, Collection<String> names) throws IOException {
        Path list = list(names);
        try {
            // a name not found makes stat fail for that name only: the others are still printed
            String out = Tools.run("sh", "-c", "cd \"$1\" && xargs -0 -a \"$2\" stat --printf '%i/%n\\0' --",
                    "sh", dir.toString(), list.toString()).stdout();
            Map<String, Long> found = new TreeMap<>();
            for (String rec : out.split("\0")) {
                if (!rec.isEmpty()) {
                    int slash = rec.indexOf('/');
                    found.put(rec.substring(slash + 1), Long.parseLong(rec.substring(0, slash)));
                }
            }
            return found;
        } finally {
            Files.delete(list);
        }
    }

    private static Path list(Collection<String> names) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (String n : names) {
            b.writeBytes(DirFixture.bytes(n));
            b.write(0);
        }
        Path list = Files.createTempFile("ext4j-names", ".lst");
        Files.write(list, b.toByteArray());
        return list;
    }
}
