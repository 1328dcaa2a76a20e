/**
 * Transactions: every metadata change is made inside a {@link org.ext4j.txn.Handle}, with write
 * access taken before and the buffer marked dirty after, as {@code fs/ext4/ext4_jbd2.c} wraps jbd2.
 * {@link org.ext4j.txn.NoJournal} is the mode for file systems without a journal (and, until jbd2 is
 * built, the only one); the journal will implement the same interface so no caller changes.
 */
package org.ext4j.txn;
