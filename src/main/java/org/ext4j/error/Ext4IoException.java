package org.ext4j.error;

import java.io.IOException;

/** The device underneath failed; wraps the JDK's exception with where it happened. */
public final class Ext4IoException extends Ext4Exception {
    public Ext4IoException(String message, IOException cause) {
        super(message + ": " + cause.getMessage(), cause);
    }
}
