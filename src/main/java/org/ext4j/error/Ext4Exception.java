package org.ext4j.error;

import java.io.IOException;

/**
 * Root of ext4j's typed failures. Three kinds are kept apart, as the kernel and ext4-view do:
 * {@link CorruptionException} (the image is damaged), {@link UnsupportedFeatureException} (the
 * image is fine but uses something ext4j does not implement), and {@link Ext4IoException} (the
 * device failed underneath us).
 */
public abstract class Ext4Exception extends IOException {
    protected Ext4Exception(String message) {
        super(message);
    }

    protected Ext4Exception(String message, Throwable cause) {
        super(message, cause);
    }
}
