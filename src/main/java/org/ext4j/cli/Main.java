package org.ext4j.cli;

import java.io.PrintWriter;

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
        description = {"Read ext4 images, and write files in them, without root or a kernel mount.",
            "ext4j VERB --help describes a verb."},
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
        CommandLine cl = commandLine();
        return cl.execute(args);
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        for (CommandLine verb : cl.getSubcommands().values()) {
            // --help on every verb; not the standard mixin, whose -h is info's --header-only
            CommandLine.Model.CommandSpec s = verb.getCommandSpec();
            if (!s.optionsMap().containsKey("--help")) {
                s.addOption(CommandLine.Model.OptionSpec.builder("--help").usageHelp(true)
                        .description("Show this help message and exit.").build());
            }
        }
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
