/**
 * The jbd2 journal as recovery reads it ({@code fs/jbd2/recovery.c}): {@link org.ext4j.journal.JournalLog}
 * scans the log from the journal superblock's start, transaction by transaction, with the tags,
 * revoke records and checksums v2/v3 the kernel checks. Replay and writing the journal build on it.
 */
package org.ext4j.journal;
