package org.ext4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import org.ext4j.error.NotFoundException;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.OpenOptions;

/** Opens the IMAGE argument of every verb read-only, printing the open-time warnings to stderr. */
final class ImageOpener {
    private ImageOpener() {
    }

    static Ext4FileSystem open(Path image, PrintWriter err) throws IOException {
        if (!Files.exists(image)) {
            throw new NotFoundException(image + ": no such image file");
        }
        return Ext4FileSystem.open(image, OpenOptions.readOnlyDefaults().withWarnings(w -> {
            err.println("ext4j: warning: " + w);
            err.flush();
        }));
    }
}
