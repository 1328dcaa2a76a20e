package org.ext4j.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.ext4j.interleave.Protections.Protection;
import org.ext4j.race.RaceImage;
import org.ext4j.race.RaceRun;
import org.ext4j.race.Scenarios;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ext4j race SCENARIO}: replays one race of docs/RACES.md step by step on a scratch image (made
 * with {@code mkfs.ext4}, kept in memory) and prints each step and the verdict. With
 * {@code --without-validity-check} (or {@code --without} another protection the scenario covers)
 * the same interleaving runs with that protection switched off, and the verdict names the bytes
 * that were lost. Exit status 0 when the outcome is the one expected for the mode (preserved with
 * every protection, corrupted without one), 1 when it is not, 2 for a usage error.
 */
@Command(name = "race", description = {"Replay a race of the write path on a scratch image, step by step.",
    "Exit 0 when the outcome is the expected one: the data preserved with every",
    "protection in force, the corruption shown with one switched off.",
    "The races, their protections and tests: docs/RACES.md in ext4j's sources."})
final class RaceCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "SCENARIO", description = "R1, R1b, R2, ... (see --list)")
    String scenario;

    @Option(names = "--without-validity-check", description = "Skip the buffered write's iomap_valid check.")
    boolean withoutValidityCheck;

    @Option(names = "--without", paramLabel = "PROTECTION",
            description = "Switch another protection off (names: see --list).")
    List<String> without = new ArrayList<>();

    @Option(names = {"-b", "--block-size"}, defaultValue = "1024", description = "Block size of the scratch image (default 1024).")
    int blockSize;

    @Option(names = "--list", description = "List the scenarios and the protections each covers.")
    boolean list;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (list || scenario == null) {
            for (Scenarios.Scenario s : Scenarios.all()) {
                List<String> names = new ArrayList<>();
                for (Protection p : s.covers()) {
                    names.add("--without " + Scenarios.optionName(p));
                }
                out.printf("%-4s %s%n     covers: %s%n", s.id(), s.title(), String.join(", ", names));
            }
            out.flush();
            if (scenario == null && !list) {
                throw new CommandLine.ParameterException(spec.commandLine(), "name a scenario: " + Scenarios.ids());
            }
            return 0;
        }
        Scenarios.Scenario s = Scenarios.byId(scenario);
        if (s == null) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "no scenario " + scenario + "; there are " + Scenarios.ids());
        }
        if (blockSize != 1024 && blockSize != 2048 && blockSize != 4096) {
            throw new CommandLine.ParameterException(spec.commandLine(), "block size must be 1024, 2048 or 4096");
        }
        List<Protection> off = new ArrayList<>();
        if (withoutValidityCheck) {
            off.add(Protection.VALIDITY_CHECK);
        }
        for (String name : without) {
            Protection found = null;
            for (Protection p : Protection.values()) {
                if (Scenarios.optionName(p).equalsIgnoreCase(name) || p.name().equalsIgnoreCase(name)) {
                    found = p;
                }
            }
            if (found == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "no protection " + name);
            }
            off.add(found);
        }
        for (Protection p : off) {
            if (!s.covers().contains(p)) {
                List<String> names = new ArrayList<>();
                for (Protection c : s.covers()) {
                    names.add(Scenarios.optionName(c));
                }
                throw new CommandLine.ParameterException(spec.commandLine(), s.id() + " does not show what "
                        + Scenarios.optionName(p) + " prevents; it covers " + String.join(", ", names));
            }
        }

        out.printf("%s: %s%n", s.id(), s.title());
        out.printf("scratch image: mkfs.ext4 -b %d, 8 MiB, in memory; protections off: %s%n%n", blockSize,
                off.isEmpty() ? "none" : off.stream().map(Scenarios::optionName).toList());
        out.flush();
        RaceImage image = RaceImage.create(blockSize);
        RaceRun.Verdict v = s.replay(image, off, line -> {
            out.println(line);
            out.flush();
        });
        out.println();
        if (v.preserved()) {
            out.printf("verdict: data preserved: the file holds exactly the model's %d bytes, in the page cache"
                    + " and on disk after close%n", v.expected().length);
        } else {
            boolean bytesLost = v.problems().stream().anyMatch(p -> p.contains("bytes ["));
            out.println(bytesLost ? "verdict: CORRUPTED:" : "verdict: FAILED:");
            for (String p : v.problems()) {
                out.println("  " + p);
            }
        }
        boolean expected = off.isEmpty() == v.preserved();
        out.println(expected ? (off.isEmpty() ? "as expected with every protection in force"
                : "as expected without " + off.stream().map(Scenarios::optionName).toList()
                        + ": this is the corruption the protection prevents")
                : "NOT the expected outcome for this mode");
        out.flush();
        return expected ? 0 : 1;
    }
}
