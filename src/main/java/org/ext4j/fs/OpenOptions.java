package org.ext4j.fs;

import java.util.function.Consumer;

/**
 * How to open an image.
 *
 * @param readOnly open the device without write access (the only mode of the read path so far)
 * @param warnings receives each open-time warning as soon as it is found, so that a caller sees
 *     "the journal needs recovery" even when the open then fails on damage the journal would fix
 */
public record OpenOptions(boolean readOnly, Consumer<String> warnings) {
    public OpenOptions {
        if (warnings == null) {
            warnings = w -> { };
        }
    }

    public static OpenOptions readOnlyDefaults() {
        return new OpenOptions(true, null);
    }

    public OpenOptions withWarnings(Consumer<String> sink) {
        return new OpenOptions(readOnly, sink);
    }
}
