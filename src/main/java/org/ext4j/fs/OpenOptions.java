package org.ext4j.fs;

import java.util.function.Consumer;

/**
 * How to open an image.
 *
 * @param readOnly open the device without write access (the only mode of the read path so far)
 * @param warnings receives each open-time warning as soon as it is found, so that a caller sees
 *     "the journal needs recovery" even when the open then fails on damage the journal would fix
 * @param noRecovery the kernel's {@code norecovery}: a journal that needs recovery is not replayed
 *     into memory, the file system is read as its blocks are (what {@code ext4j journal} and
 *     {@code ext4j recover} read the log from)
 */
public record OpenOptions(boolean readOnly, Consumer<String> warnings, boolean noRecovery) {
    public OpenOptions {
        if (warnings == null) {
            warnings = w -> { };
        }
    }

    public OpenOptions(boolean readOnly, Consumer<String> warnings) {
        this(readOnly, warnings, false);
    }

    public static OpenOptions readOnlyDefaults() {
        return new OpenOptions(true, null, false);
    }

    public OpenOptions withWarnings(Consumer<String> sink) {
        return new OpenOptions(readOnly, sink, noRecovery);
    }

    /** These options without the journal's replay into memory ({@code -o norecovery}). */
    public OpenOptions withoutRecovery() {
        return new OpenOptions(readOnly, warnings, true);
    }
}
