package org.ext4j.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.Ext4Exception;
import org.ext4j.error.UnsupportedFeatureException;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code ext4j} command line. Exit statuses are a contract with users' scripts:
 * 0 success; 1 a corrupt or unreadable image (or a path that is not there), one line on stderr
 * naming what and where; 2 a usage error; 3 an unsupported feature; anything else is a bug
 * (70, with a stack trace under {@code --debug}).
 */
@Command(name = "ext4j", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Read ext4 images without root or a kernel mount.",
        subcommands = {InfoCommand.class, LsCommand.class, StatCommand.class, CatCommand.class, GetCommand.class,
            IoCommand.class, RmCommand.class, RaceCommand.class})
public final class Main implements Runnable {
    public static final int EXIT_CORRUPT = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_UNSUPPORTED = 3;
    public static final int EXIT_BUG = 70;

    @Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT, description = "Print stack traces on errors.")
    boolean debug;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Raw standard output of this run: null for file descriptor 1. */
    private final OutputStream stdout;

    public Main() {
        this(null);
    }

    private Main(OutputStream stdout) {
        this.stdout = stdout;
    }

    /**
     * Where the verbs that print raw bytes ({@code ls}, {@code cat}) write: file descriptor 1, so that
     * names and file contents reach a pipe byte for byte (a {@code PrintWriter} would re-encode them),
     * or the stream given to {@link #run(OutputStream, OutputStream, String...)}. Never closed by the
     * verbs: closing file descriptor 1 would close it for the rest of the JVM.
     */
    OutputStream stdout() {
        return stdout != null ? stdout : new FileOutputStream(FileDescriptor.out);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing verb: one of info, ls, stat, cat, get");
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit status (tests call this directly). */
    public static int run(String... args) {
        CommandLine cl = commandLine();
        return cl.execute(args);
    }

    /**
     * Runs the CLI in this JVM with standard output and error going to the given streams (raw bytes of
     * {@code ls} and {@code cat}, text of everything else, UTF-8), and returns the exit status. What a
     * harness uses to run thousands of commands without a JVM each; the streams are flushed, not closed.
     */
    public static int run(OutputStream out, OutputStream err, String... args) {
        CommandLine cl = commandLine(new Main(out));
        PrintWriter outWriter = new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true);
        PrintWriter errWriter = new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true);
        cl.setOut(outWriter);
        cl.setErr(errWriter);
        try {
            return cl.execute(args);
        } finally {
            outWriter.flush();
            errWriter.flush();
        }
    }

    static CommandLine commandLine() {
        return commandLine(new Main());
    }

    private static CommandLine commandLine(Main main) {
        CommandLine cl = new CommandLine(main);
        cl.setExecutionExceptionHandler(Main::handle);
        return cl;
    }

    private static int handle(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        boolean debug = parsed.hasMatchedOption("--debug")
                || parsed.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--debug"));
        PrintWriter err = cl.getErr();
        String verb = cl.getCommandName();
        int code;
        if (e instanceof UnsupportedFeatureException) {
            code = EXIT_UNSUPPORTED;
        } else if (e instanceof Ext4Exception || e instanceof java.io.IOException) {
            code = EXIT_CORRUPT;
        } else {
            code = EXIT_BUG;
        }
        String kind = e instanceof CorruptionException ? "corrupt image: " : code == EXIT_BUG ? "internal error: " : "";
        err.println("ext4j " + verb + ": " + kind + describe(e));
        if (debug || code == EXIT_BUG && Boolean.getBoolean("ext4j.debug")) {
            e.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    /** One readable line for any failure; the JDK's file exceptions say only the path by themselves. */
    static String describe(Exception e) {
        if (e instanceof java.nio.file.FileSystemException f && !(e instanceof Ext4Exception)) {
            String reason = f.getReason();
            if (reason == null) {
                reason = switch (e.getClass().getSimpleName()) {
                    case "NoSuchFileException" -> "no such file or directory";
                    case "FileAlreadyExistsException" -> "already exists";
                    case "AccessDeniedException" -> "permission denied";
                    case "NotDirectoryException" -> "not a directory";
                    case "DirectoryNotEmptyException" -> "directory not empty";
                    default -> e.getClass().getSimpleName();
                };
            }
            return f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ": " + reason;
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"ext4j " + (v == null ? "dev" : v)};
        }
    }
}
