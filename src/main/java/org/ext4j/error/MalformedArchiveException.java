package org.ext4j.error;

/**
 * An archive a tree is built from that cannot be read as its format says (a tar member with a bad
 * header checksum, an archive cut short, a name escaping the root with "..", a name over 255
 * bytes, a member type that is not supported): the message names the archive, the member and the
 * byte offset of its header, as {@code tar} reports "Skipping to next header" at an offset.
 */
public final class MalformedArchiveException extends Ext4Exception {
    private final String entry;
    private final long offset;

    public MalformedArchiveException(String archive, String entry, long offset, String reason) {
        super(archive + ": " + (entry == null ? "" : "member \"" + entry + "\" ") + "at byte " + offset + ": " + reason);
        this.entry = entry;
        this.offset = offset;
    }

    /** The member's name, or null when the header could not be read far enough to tell it. */
    public String entry() {
        return entry;
    }

    /** The byte offset of the member's header in the archive. */
    public long offset() {
        return offset;
    }
}
