package org.ext4j.corpus;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.ext4j.cli.CatCommand;
import org.ext4j.error.Ext4Exception;
import org.ext4j.format.DirEntry;
import org.ext4j.fs.Ext4FileSystem;

/**
 * Child-process entry point of the corpus walk: collects every name reachable from the root and
 * runs what {@code ext4j cat} runs on each regular file, in one JVM with a small heap (the test
 * starts it with -Xmx256m), so memory bounds are tested for real. A typed ext4j error is an
 * acceptable outcome; any other throwable is a bug: printed with its stack trace, exit status 70.
 */
public final class CorpusWalker {
    private CorpusWalker() {
    }

    public static void main(String[] args) {
        Path image = Path.of(args[0]);
        int files = 0;
        int failed = 0;
        try (Ext4FileSystem fs = Ext4FileSystem.open(image)) {
            List<String> paths = new ArrayList<>();
            try {
                collect(fs, Ext4FileSystem.ROOT_INO, "", paths, new HashSet<>(), 0);
            } catch (Ext4Exception e) {
                System.err.println("walk: " + e.getMessage()); // whatever was collected is still read
            }
            for (String p : paths) {
                files++;
                try {
                    CatCommand.copy(fs, p, OutputStream.nullOutputStream());
                } catch (Ext4Exception e) {
                    failed++;
                    System.err.println("cat " + p + ": " + e.getMessage());
                }
            }
        } catch (Ext4Exception e) {
            System.err.println("open: " + e.getMessage());
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(70);
        }
        System.err.println("files " + files + ", failed " + failed);
        System.exit(0);
    }

    private static void collect(Ext4FileSystem fs, long ino, String path, List<String> out, Set<Long> seen, int depth)
            throws Exception {
        if (!seen.add(ino) || depth > 64) {
            return;
        }
        for (DirEntry e : fs.readdir(ino)) {
            if (e.isDot() || e.isDotDot()) {
                continue;
            }
            String child = path + "/" + new String(e.name(), StandardCharsets.UTF_8);
            try {
                var inode = fs.child(ino, e);
                if (inode.record().isDirectory()) {
                    collect(fs, e.inode(), child, out, seen, depth + 1);
                } else if (inode.record().isRegular()) {
                    out.add(child);
                }
            } catch (Ext4Exception ex) {
                out.add(child); // cat must report this one cleanly too
            }
        }
    }
}
