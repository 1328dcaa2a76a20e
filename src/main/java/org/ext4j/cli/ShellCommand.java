package org.ext4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.WriteOptions;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ext4j shell IMAGE [-f SCRIPT]}: opens the image read-write once and runs one command per
 * line from SCRIPT or standard input, as {@code debugfs -f}: the verbs that work on an image
 * ({@code mkdir}, {@code rm}, {@code rmdir}, {@code mv}, {@code ln}, {@code chmod}, {@code chown},
 * {@code touch}, {@code truncate}, {@code xattr}, {@code df}, {@code put}, {@code io}) with their
 * options and without the image argument, plus {@code sync} (everything so far made durable) and
 * {@code echo TEXT} (printed and flushed at once). Words are split as a POSIX shell splits them
 * (single and double quotes, backslash escapes); {@code #} starts a comment. The first command that
 * fails stops the script: its line number and message go to standard error, and the shell exits
 * with that command's status (the same as the verb's own); what earlier lines did stays.
 */
@Command(name = "shell", description = "Run ext4j verbs (without the image argument), one per line, on one read-write open of the image.")
final class ShellCommand implements Callable<Integer> {
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Option(names = "-f", paramLabel = "SCRIPT", description = "Read commands from SCRIPT instead of standard input.")
    Path script;

    @Option(names = "-o", paramLabel = "OPTIONS", split = ",", description = MountOptions.DESCRIPTION)
    List<String> mountOptions = new java.util.ArrayList<>();

    /** The verbs' command line, parsed again for every line. */
    private CommandLine verbs;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (script != null && !Files.isReadable(script)) {
            throw new java.nio.file.NoSuchFileException(script.toString(), null, "cannot read the script");
        }
        WriteOptions options = MountOptions.apply(spec.commandLine(), WriteOptions.defaults(), mountOptions);
        ImageOpener.checkImage(image, true);
        BufferedReader in = script != null ? Files.newBufferedReader(script, StandardCharsets.UTF_8)
                : new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (in; Ext4FileSystem fs = Ext4FileSystem.openReadWrite(image, options)) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                List<String> words;
                try {
                    words = words(line);
                } catch (IllegalArgumentException e) {
                    err.println(Main.oneLine("ext4j shell: line " + number + ": " + e.getMessage()));
                    err.flush();
                    return Main.EXIT_USAGE;
                }
                if (words.isEmpty()) {
                    continue;
                }
                int status = runLine(fs, words, out, err, number);
                out.flush();
                if (status != 0) {
                    return status;
                }
            }
        }
        return 0;
    }

    /** One command; its exit status, its failure reported on {@code err} with the line number. */
    private int runLine(Ext4FileSystem fs, List<String> words, PrintWriter out, PrintWriter err, int number) {
        String verb = words.get(0);
        try {
            switch (verb) {
                case "echo" -> {
                    out.println(String.join(" ", words.subList(1, words.size())));
                    return 0;
                }
                case "sync" -> {
                    fs.sync();
                    return 0;
                }
                default -> {
                    List<String> args = new ArrayList<>(words);
                    // the image goes where the verb takes it: after the verb (and xattr's sub-verb), before put's DEST
                    int at = verb.equals("put") ? Math.max(1, args.size() - 1) : verb.equals("xattr") ? Math.min(2, args.size()) : 1;
                    args.add(at, image.toString());
                    if (verbs == null) {
                        // built once: picocli resets every option and parameter before each parse
                        verbs = Main.commandLine();
                        verbs.setOut(out);
                        verbs.setErr(err);
                    }
                    CommandLine.ParseResult parsed = verbs.parseArgs(args.toArray(String[]::new));
                    while (parsed.subcommand() != null) {
                        parsed = parsed.subcommand();
                    }
                    Object verbObject = parsed.commandSpec().userObject();
                    if (!(verbObject instanceof FsVerb v) || verb.equals("shell")) {
                        throw new CommandLine.ParameterException(parsed.commandSpec().commandLine(),
                                "'" + verb + "' cannot run in the shell (verbs: mkdir, rm, rmdir, mv, ln, chmod, chown, touch, "
                                        + "truncate, xattr, df, put, io, sync, echo)");
                    }
                    if (parsed.isUsageHelpRequested()) {
                        parsed.commandSpec().commandLine().usage(out);
                        return 0;
                    }
                    v.check();
                    v.run(fs, out);
                    return 0;
                }
            }
        } catch (CommandLine.ParameterException e) {
            err.println(Main.oneLine("ext4j shell: line " + number + ": " + verb + ": " + e.getMessage()));
            err.flush();
            return Main.EXIT_USAGE;
        } catch (Exception e) {
            int code = Main.exitCode(e);
            err.println(Main.oneLine("ext4j shell: line " + number + ": " + verb + ": " + Main.describe(e)));
            err.flush();
            return code;
        }
    }

    /** Splits a line into words as a POSIX shell does: quotes, backslashes, and # comments at a word's start. */
    static List<String> words(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean inWord = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '#' && !inWord) {
                break;
            } else if (Character.isWhitespace(c)) {
                if (inWord) {
                    out.add(w.toString());
                    w.setLength(0);
                    inWord = false;
                }
            } else if (c == '\'') {
                int end = line.indexOf('\'', i + 1);
                if (end < 0) {
                    throw new IllegalArgumentException("unterminated ' quote");
                }
                w.append(line, i + 1, end);
                i = end;
                inWord = true;
            } else if (c == '"') {
                int j = i + 1;
                for (; j < line.length() && line.charAt(j) != '"'; j++) {
                    char d = line.charAt(j);
                    if (d == '\\' && j + 1 < line.length() && "\"\\$`".indexOf(line.charAt(j + 1)) >= 0) {
                        d = line.charAt(++j);
                    }
                    w.append(d);
                }
                if (j >= line.length()) {
                    throw new IllegalArgumentException("unterminated \" quote");
                }
                i = j;
                inWord = true;
            } else if (c == '\\') {
                if (i + 1 < line.length()) {
                    w.append(line.charAt(++i));
                }
                inWord = true;
            } else {
                w.append(c);
                inWord = true;
            }
        }
        if (inWord) {
            out.add(w.toString());
        }
        return out;
    }
}
