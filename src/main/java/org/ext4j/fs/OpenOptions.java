package org.ext4j.fs;

/**
 * How to open an image. Read-only is the only mode of the read path; the write path adds more.
 *
 * @param readOnly open the device without write access
 */
public record OpenOptions(boolean readOnly) {
    public static OpenOptions readOnlyDefaults() {
        return new OpenOptions(true);
    }
}
