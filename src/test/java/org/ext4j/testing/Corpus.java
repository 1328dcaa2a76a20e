package org.ext4j.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The e2fsprogs image corpus: the {@code image.gz} files of e2fsprogs' {@code tests/f_*} and
 * {@code tests/j_*} folders, found beside this project's checkout ({@code ../shared/corpus/e2fsprogs})
 * or where {@code -Dext4j.corpus=DIR} names them.
 */
public final class Corpus {
    /** Where the copy of the corpus sits beside this project's checkout. */
    private static final String BESIDE = "../shared/corpus/e2fsprogs";
    /** {@code -Dext4j.corpus=DIR}: a folder of {@code f_*} and {@code j_*} folders, each with an image.gz. */
    public static final String PROPERTY = "ext4j.corpus";

    private Corpus() {
    }

    /** The corpus folder, named or beside the checkout. */
    public static Path location() {
        String named = System.getProperty(PROPERTY, "");
        return Path.of(named.isEmpty() ? BESIDE : named).toAbsolutePath().normalize();
    }

    /**
     * The image folders, sorted; empty when the corpus is not there, an error when it was named and
     * holds none (a mistyped {@code -D}).
     */
    public static List<Path> imageDirs() throws IOException {
        String named = System.getProperty(PROPERTY, "");
        Path corpus = location();
        List<Path> dirs = new ArrayList<>();
        if (Files.isDirectory(corpus)) {
            try (Stream<Path> s = Files.list(corpus)) {
                s.filter(d -> {
                    String name = d.getFileName().toString();
                    return (name.startsWith("f_") || name.startsWith("j_")) && Files.exists(d.resolve("image.gz"));
                }).sorted().forEach(dirs::add);
            }
        }
        if (!named.isEmpty() && dirs.isEmpty()) {
            throw new IOException("-D" + PROPERTY + "=" + named + ": no f_*/image.gz or j_*/image.gz in " + corpus);
        }
        return dirs;
    }

    /** Why a test of the corpus is skipped: where it was looked for, and how to name it. */
    public static String whyMissing(String whatIsLeftOut, String testClass) {
        return "the e2fsprogs image corpus is not at " + location() + ", so " + whatIsLeftOut + "."
                + " The corpus is the image.gz files of e2fsprogs' tests/f_* and tests/j_* folders: name their"
                + " folder with -D" + PROPERTY + "=DIR (an e2fsprogs source tree's tests folder will do), e.g."
                + " mvn -B test -Dtest=" + testClass + " -D" + PROPERTY + "=../e2fsprogs/tests";
    }
}
