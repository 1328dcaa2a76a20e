package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

import org.ext4j.error.NotFoundException;
import org.ext4j.fs.Ext4FileSystem;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ext4j truncate [-c] -s SIZE IMAGE PATH...}: sets the size of regular files, creating
 * missing ones unless -c, as truncate(1); SIZE in bytes or with K, M, G, T (powers of 1024).
 */
@Command(name = "truncate", description = "Set the size of files in the image (read-write).")
final class TruncateCommand extends FsVerb {
    @Option(names = "-s", required = true, paramLabel = "SIZE", description = "Bytes, or with a K, M, G or T suffix (1024s).")
    String sizeText;

    @Option(names = "-c", description = "Do not create missing files.")
    boolean noCreate;

    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "PATH")
    List<String> paths;

    private long size;

    @Override
    Path image() {
        return image;
    }

    @Override
    void check() {
        size = parseSize(spec.commandLine(), sizeText);
    }

    static long parseSize(CommandLine cl, String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,19})([KMGT]?)(i?B)?").matcher(text);
        if (!m.matches()) {
            throw new CommandLine.ParameterException(cl, "invalid size: '" + text + "' (bytes, or with K, M, G, T)");
        }
        int shift = switch (m.group(2)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        try {
            long v = Long.parseLong(m.group(1));
            if (v > Long.MAX_VALUE >> shift) {
                throw new NumberFormatException();
            }
            return v << shift;
        } catch (NumberFormatException e) {
            throw new CommandLine.ParameterException(cl, "invalid size: '" + text + "' (over 2^63 - 1)");
        }
    }

    @Override
    void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
        for (String p : paths) {
            try {
                fs.lookupFollow(p);
            } catch (NotFoundException e) {
                if (noCreate) {
                    continue;
                }
                fs.createFile(p, 0644).close();
            }
            fs.truncate(p, size);
        }
    }
}
