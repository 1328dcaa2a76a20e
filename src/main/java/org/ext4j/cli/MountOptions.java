package org.ext4j.cli;

import java.util.List;

import org.ext4j.fs.WriteOptions;

import picocli.CommandLine;

/**
 * The {@code -o} options of the writing verbs, named as the kernel's ext4 mount options:
 * {@code data=ordered|writeback} and {@code commit=SECONDS} (the journal's commit interval; 0 means
 * the default, 5, as the kernel takes it). Anything else is a usage error (exit 2), checked
 * before the image is opened.
 */
final class MountOptions {
    static final String DESCRIPTION = "Mount options, comma-separated: data=ordered|writeback (how file data is"
            + " ordered against journal commits; ordered by default), commit=SECONDS (journal commit interval, default 5).";

    private MountOptions() {
    }

    static WriteOptions apply(CommandLine cmd, WriteOptions base, List<String> options) {
        WriteOptions o = base;
        for (String opt : options) {
            if (opt.isEmpty()) {
                continue;
            }
            int eq = opt.indexOf('=');
            String key = eq < 0 ? opt : opt.substring(0, eq);
            String value = eq < 0 ? null : opt.substring(eq + 1);
            switch (key) {
                case "data" -> {
                    if ("ordered".equals(value)) {
                        o = o.withDataMode(WriteOptions.DataMode.ORDERED);
                    } else if ("writeback".equals(value)) {
                        o = o.withDataMode(WriteOptions.DataMode.WRITEBACK);
                    } else {
                        throw new CommandLine.ParameterException(cmd, "-o data=" + value
                                + ": ext4j journals data=ordered or data=writeback (data=journal is not supported)");
                    }
                }
                case "commit" -> {
                    long seconds;
                    try {
                        seconds = value == null ? -1 : Long.parseLong(value);
                    } catch (NumberFormatException e) {
                        seconds = -1;
                    }
                    if (seconds < 0 || seconds > 1_000_000) {
                        throw new CommandLine.ParameterException(cmd, "-o commit=" + value
                                + ": the commit interval is a number of seconds (0 for the default, 5)");
                    }
                    o = o.withCommitMillis(seconds == 0 ? WriteOptions.DEFAULT_COMMIT_MILLIS : seconds * 1000);
                }
                default -> throw new CommandLine.ParameterException(cmd, "-o " + opt
                        + ": unknown mount option (ext4j knows data=ordered|writeback and commit=SECONDS)");
            }
        }
        return o;
    }
}
