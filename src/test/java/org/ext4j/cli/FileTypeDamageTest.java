package org.ext4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.testing.SkippedChecks;
import org.ext4j.testing.Tools;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A regular file whose i_mode was changed (its checksum recomputed, as {@code debugfs sif} does) while
 * its directory entry still says "regular file". Found by the random-damage harness, where
 * {@code ext4j cat} printed the file's old bytes with exit 0:
 * <ul>
 * <li>a valid other type (a device, fifo or socket): the kernel's open reaches the device or pipe,
 *     never the inode's blocks; {@code cat} refuses it as not a regular file;
 * <li>no valid type: the kernel's {@code __ext4_iget} refuses the inode ("bogus i_mode",
 *     EUCLEAN); so do {@code cat} and {@code stat}.
 * </ul>
 */
@ExtendWith(SkippedChecks.class)
class FileTypeDamageTest {
    @TempDir
    Path tmp;

    /** An image holding /file, then {@code debugfs -w -R "sif /file FIELD VALUE"} (which recomputes the checksum). */
    private Path imageWithDamagedFile(String fieldAndValue) throws java.io.IOException {
        Tools.requireTools("mkfs.ext4", "debugfs");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("file"), "the bytes of a regular file\n");
        Path img = tmp.resolve("fs.img");
        Tools.mkfs(img, 8 << 20, List.of(), src);
        Tools.run("debugfs", "-w", "-R", "sif /file " + fieldAndValue, img.toString()).ok();
        return img;
    }

    @ParameterizedTest
    @CsvSource({
        "020644, 'is a character special, not a regular file', 0",
        "060644, 'is a block special, not a regular file', 0",
        "010644, 'is a FIFO, not a regular file', 0",
        "0140644, 'is a socket, not a regular file', 0",
        "030644, 'bogus i_mode (030644)', 1",
        "0644, 'bogus i_mode (0644)', 1",
        "0170644, 'bogus i_mode (0170644)', 1"})
    void aFileWhoseModeChangedTypeIsNotReadAsItsOldBytes(String mode, String expect, int statExit) throws Exception {
        Path img = imageWithDamagedFile("mode " + mode);
        byte[] before = Files.readAllBytes(img);

        Tools.Result cat = Tools.ext4j("cat", img.toString(), "/file");
        assertEquals(1, cat.exit(), cat.stderr() + cat.stdout());
        assertEquals("", cat.stdout(), "no bytes of the file");
        assertTrue(cat.stderr().contains(expect), "\"" + expect + "\" in: " + cat.stderr());
        Tools.Result stat = Tools.ext4j("stat", img.toString(), "/file");
        assertEquals(statExit, stat.exit(), stat.stderr() + stat.stdout());
        if (statExit != 0) {
            assertTrue(stat.stderr().contains(expect), "\"" + expect + "\" in: " + stat.stderr());
        }
        assertArrayEquals(before, Files.readAllBytes(img), "reads change nothing");

        kernelCatFails(img, statExit != 0 ? "Structure needs cleaning" : null);
    }

    /**
     * A regular file given the EA_INODE flag: the kernel's {@code __ext4_iget} of a name refuses it
     * ("unexpected EA_INODE flag", EUCLEAN), since an xattr value's inode is never named by a
     * directory; ext4j's lookups refuse it the same way (random damage: cat printed its bytes).
     */
    @org.junit.jupiter.api.Test
    void aNamedInodeMarkedAsAnXattrValueIsRefused() throws Exception {
        Path img = imageWithDamagedFile("flags 0x280000"); // EXTENTS | EA_INODE
        for (String verb : List.of("cat", "stat")) {
            Tools.Result r = Tools.ext4j(verb, img.toString(), "/file");
            assertEquals(1, r.exit(), verb + ": " + r.stderr() + r.stdout());
            assertTrue(r.stderr().contains("unexpected EA_INODE flag"), verb + ": " + r.stderr());
        }
        kernelCatFails(img, "Structure needs cleaning");
    }

    /**
     * A regular file given the VERITY flag: its bytes are only what the kernel hands out after checking
     * them against a Merkle tree, which ext4j does not verify, so cat refuses it as an unsupported
     * feature (exit 3) while stat still works; the kernel's open fails too (random damage: a flipped
     * bit made cat print 8 MiB past the file's real end).
     */
    @org.junit.jupiter.api.Test
    void theContentsOfAVerityFileAreRefused() throws Exception {
        Path img = imageWithDamagedFile("flags 0x180000"); // EXTENTS | VERITY
        Tools.Result cat = Tools.ext4j("cat", img.toString(), "/file");
        assertEquals(3, cat.exit(), cat.stderr() + cat.stdout());
        assertTrue(cat.stderr().contains("fs-verity"), cat.stderr());
        assertEquals("", cat.stdout());
        Tools.Result stat = Tools.ext4j("stat", img.toString(), "/file");
        assertEquals(0, stat.exit(), stat.stderr());
        kernelCatFails(img, null);
    }

    /** The kernel's cat of /file (a read-only mount) fails, with {@code error} on stderr where given. */
    private static void kernelCatFails(Path img, String error) throws Exception {
        Tools.kernelCheck("the kernel's cat of /file", () -> {
            try (Tools.Mount m = Tools.Mount.of(img, true)) {
                // timeout: a fifo's open would wait for a writer
                Tools.Result k = Tools.run("timeout", "10", "cat", m.dir().resolve("file").toString());
                assertNotEquals(0, k.exit(), "the kernel's cat succeeded: " + k.stdout());
                if (error != null) {
                    assertTrue(k.stderr().contains(error), k.stderr());
                }
            }
        });
    }
}
