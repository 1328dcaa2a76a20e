package org.ext4j.error;

/** The image uses a feature that ext4j does not implement; the message names the feature. */
public final class UnsupportedFeatureException extends Ext4Exception {
    private final String feature;

    public UnsupportedFeatureException(String feature, String detail) {
        super("unsupported feature " + feature + (detail == null ? "" : ": " + detail));
        this.feature = feature;
    }

    public String feature() {
        return feature;
    }
}
