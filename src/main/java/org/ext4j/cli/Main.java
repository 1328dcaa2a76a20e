package org.ext4j.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.ext4j.error.CorruptionException;
import org.ext4j.error.Ext4Exception;
import org.ext4j.error.FileTooLargeException;
import org.ext4j.error.InvalidArgumentException;
import org.ext4j.error.NameTooLongException;
import org.ext4j.error.UnsupportedFeatureException;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code ext4j} command line. Exit statuses are a contract with users' scripts, and every
 * failure is one line on stderr naming what and where (a stack trace only under {@code --debug}):
 * <ul>
 * <li>0 success;
 * <li>1 a corrupt or unreadable image, or a request the file system refuses, as coreutils exit 1:
 *     an IMAGE that is missing, a directory, empty, not a regular file or block device, or not
 *     readable; a path that is not there (an empty path included: ENOENT), that is not a directory
 *     where one is needed (ENOTDIR, a trailing '/' after a file) or is one where it must not be
 *     (EISDIR); a name that exists already (EEXIST); a write, truncate or fallocate past the
 *     largest file the file system allows ({@link FileTooLargeException}, EFBIG: it depends on the
 *     block size and features, so the command line itself was sound);
 * <li>2 a usage error: the command line is malformed whatever the image holds. Picocli's own
 *     errors (missing, extra or unknown arguments and options, values that do not convert), an
 *     {@code io -c} command that is unknown or has missing, extra, non-numeric, negative or
 *     overflowing arguments, and the library's argument errors: {@link InvalidArgumentException}
 *     (EINVAL: a NUL byte in a path, a zero-length fallocate, an offset plus length past 2^63 - 1)
 *     and {@link NameTooLongException} (ENAMETOOLONG: a name over 255 bytes, a path of 4096
 *     bytes or more: no ext4 file system can hold it);
 * <li>3 an unsupported feature, named;
 * <li>70 a bug: anything else (an unexpected runtime exception).
 * </ul>
 * Arguments are checked before the image is opened wherever they can be, so a refused command
 * leaves the image's bytes as they were.
 */
@Command(name = "ext4j", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Read ext4 images, and write files in them, without root or a kernel mount.",
            "ext4j VERB --help describes a verb."})
public final class Main implements Runnable {
    /**
     * The verbs, in the order help lists them. Registered with picocli per run ({@link #commandLine}):
     * all of them, or only the one the arguments name, since building a verb's model by reflection
     * costs about 10 ms and a command runs one verb.
     */
    static final List<Class<?>> VERBS = List.of(InfoCommand.class, LsCommand.class, StatCommand.class,
            CatCommand.class, GetCommand.class, IoCommand.class, RmCommand.class, MkdirCommand.class,
            RmdirCommand.class, MvCommand.class, LnCommand.class, ChmodCommand.class, ChownCommand.class,
            TouchCommand.class, TruncateCommand.class, XattrCommand.class, DfCommand.class, PutCommand.class,
            ShellCommand.class, RaceCommand.class, MkfsCommand.class, JournalCommand.class, RecoverCommand.class);

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


    /** No verb given: name them all, from the registered subcommands so that the list cannot go stale. */
    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "missing verb: one of " + String.join(", ", spec.subcommands().keySet()));
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit status (tests call this directly). */
    public static int run(String... args) {
        CommandLine cl = commandLine(new Main(), args);
        return cl.execute(args);
    }

    /**
     * Runs the CLI in this JVM with standard output and error going to the given streams (raw bytes of
     * {@code ls} and {@code cat}, text of everything else, UTF-8), and returns the exit status. What a
     * harness uses to run thousands of commands without a JVM each; the streams are flushed, not closed.
     */
    public static int run(OutputStream out, OutputStream err, String... args) {
        CommandLine cl = commandLine(new Main(out), args);
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

    /** The command line with every verb. */
    static CommandLine commandLine() {
        return commandLine(new Main(), new String[0]);
    }

    /**
     * The command line for {@code args}: with only the verb they name when their first word that is
     * not an option names one (the top level's options take no values), else with every verb (for
     * help, and for the message naming them).
     */
    private static CommandLine commandLine(Main main, String[] args) {
        CommandLine cl = new CommandLine(main);
        String named = null;
        for (String a : args) {
            if (!a.startsWith("-")) {
                named = a;
                break;
            }
        }
        boolean added = false;
        for (Class<?> c : VERBS) {
            if (named != null && c.getAnnotation(Command.class).name().equals(named)) {
                cl.addSubcommand(c);
                added = true;
            }
        }
        if (!added) {
            for (Class<?> c : VERBS) {
                cl.addSubcommand(c);
            }
        }
        java.util.ArrayDeque<CommandLine> verbs = new java.util.ArrayDeque<>(cl.getSubcommands().values());
        while (!verbs.isEmpty()) {
            CommandLine verb = verbs.pop();
            verbs.addAll(verb.getSubcommands().values()); // xattr's get, set, list, rm too
            // --help on every verb; not the standard mixin, whose -h is info's --header-only
            CommandLine.Model.CommandSpec s = verb.getCommandSpec();
            if (!s.optionsMap().containsKey("--help")) {
                s.addOption(CommandLine.Model.OptionSpec.builder("--help").usageHelp(true)
                        .description("Show this help message and exit.").build());
            }
        }
        cl.setExecutionExceptionHandler(Main::handle);
        CommandLine.IParameterExceptionHandler picocliDefault = cl.getParameterExceptionHandler();
        cl.setParameterExceptionHandler((e, given) -> given.length == 0 ? picocliDefault.handleParseException(e, given)
                : usage(e, given));
        return cl;
    }

    /**
     * A usage error: one line naming the bad argument and where help is, exit 2. With no arguments
     * at all, picocli's own answer (the message and the usage text), which is what a newcomer needs.
     */
    private static int usage(CommandLine.ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        PrintWriter err = cl.getErr();
        String name = cl.getCommandSpec().qualifiedName(" ");
        String msg = e.getMessage() == null ? e.toString() : e.getMessage().strip();
        err.println(oneLine(name + ": " + msg + " (see '" + name + " --help')"));
        boolean debug = java.util.Arrays.asList(args).contains("--debug");
        if (debug) {
            e.printStackTrace(err);
        }
        err.flush();
        return EXIT_USAGE;
    }

    private static int handle(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        boolean debug = parsed.hasMatchedOption("--debug")
                || parsed.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--debug"));
        PrintWriter err = cl.getErr();
        String verb = cl.getCommandName();
        int code = exitCode(e);
        String kind = e instanceof CorruptionException ? "corrupt image: " : code == EXIT_BUG ? "internal error: " : "";
        err.println(oneLine("ext4j " + verb + ": " + kind + describe(e)));
        if (debug || code == EXIT_BUG && Boolean.getBoolean("ext4j.debug")) {
            e.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    /** The exit status of a failure (see the class comment). */
    static int exitCode(Exception e) {
        if (e instanceof UnsupportedFeatureException) {
            return EXIT_UNSUPPORTED;
        } else if (e instanceof InvalidArgumentException || e instanceof NameTooLongException) {
            return EXIT_USAGE; // the arguments are wrong whatever the image holds
        } else if (e instanceof Ext4Exception || e instanceof java.io.IOException
                || e instanceof java.nio.file.ReadOnlyFileSystemException) {
            return EXIT_CORRUPT;
        }
        return EXIT_BUG;
    }

    /**
     * The message as one line whatever the arguments held: control characters (a newline or a NUL
     * in a path) are shown as {@code \xNN}, so scripts can rely on one line per failure.
     */
    static String oneLine(String s) {
        return org.ext4j.fs.PathNames.printable(s);
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
