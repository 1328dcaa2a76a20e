package org.ext4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ext4j get} recreates symlink targets byte for byte, also those java.nio would normalise
 * ("a//b", a trailing '/'), which name different things to the kernel (a trailing slash requires a
 * directory). Found by the random-damage harness: a damaged target "se//seg" came out as "se/seg".
 */
class GetSymlinkTargetTest {
    @TempDir
    Path tmp;

    @Test
    void targetsKeepEverySlash() throws IOException {
        Tools.requireTools("ln", "readlink");
        Path src = Files.createDirectories(tmp.resolve("src"));
        List<String> targets = List.of("a//b", "dir/", "//abs///x", "plain/target", "./x/../y");
        for (int i = 0; i < targets.size(); i++) {
            // ln, not java.nio, so that the source holds the targets exactly
            Tools.run("ln", "-s", "--", targets.get(i), src.resolve("l" + i).toString()).ok();
        }
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 8 << 20, List.of(), src);
        Path out = tmp.resolve("out");
        Tools.ext4j("get", img.toString(), "/", out.toString()).ok();
        for (int i = 0; i < targets.size(); i++) {
            String got = Tools.run("readlink", out.resolve("l" + i).toString()).ok().stdout();
            assertEquals(targets.get(i) + "\n", got, "target of l" + i);
        }
    }
}
