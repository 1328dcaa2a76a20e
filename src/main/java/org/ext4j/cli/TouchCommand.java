package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;

import org.ext4j.error.NotFoundException;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.InodeAttributes;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ext4j touch [-c] [-d TIME] IMAGE PATH...}: sets access and modification times to TIME
 * (nanoseconds kept) or now, creating missing regular files (0644) unless -c. TIME is
 * {@code @SECONDS[.FRACTION]}, an ISO-8601 instant ({@code 2024-05-06T07:08:09.123456789Z}) or a
 * UTC date and time ({@code 2024-05-06 07:08:09[.FRACTION]}).
 */
@Command(name = "touch", description = "Set times of names in the image, creating missing files (read-write).")
final class TouchCommand extends FsVerb {
    @Option(names = "-d", paramLabel = "TIME", description = "@SECONDS[.NS], an ISO-8601 instant, or 'YYYY-MM-DD HH:MM:SS[.NS]' (UTC).")
    String time;

    @Option(names = "-c", description = "Do not create missing files.")
    boolean noCreate;

    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "PATH")
    List<String> paths;

    private Instant when = InodeAttributes.NOW;

    @Override
    Path image() {
        return image;
    }

    @Override
    void check() {
        when = time == null ? InodeAttributes.NOW : parse(spec.commandLine(), time);
    }

    static Instant parse(CommandLine cl, String t) {
        try {
            if (t.startsWith("@")) {
                java.math.BigDecimal s = new java.math.BigDecimal(t.substring(1));
                long sec = s.setScale(0, java.math.RoundingMode.FLOOR).longValueExact();
                long ns = s.subtract(java.math.BigDecimal.valueOf(sec)).movePointRight(9).setScale(0, java.math.RoundingMode.FLOOR)
                        .longValueExact();
                return Instant.ofEpochSecond(sec, ns);
            }
            if (t.endsWith("Z") || t.matches(".*[+-]\\d\\d:\\d\\d$")) {
                return java.time.OffsetDateTime.parse(t).toInstant();
            }
            return LocalDateTime.parse(t.replace(' ', 'T')).toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException | NumberFormatException | ArithmeticException e) {
            throw new CommandLine.ParameterException(cl, "invalid time: '" + t
                    + "' (@SECONDS[.NS], 2024-05-06T07:08:09Z or '2024-05-06 07:08:09')");
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
            fs.utimens(p, when, when, true);
        }
    }
}
