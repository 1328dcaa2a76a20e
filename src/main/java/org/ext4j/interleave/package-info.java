/**
 * Interleaving points and protection switches: the hooks that let the write path's races be
 * replayed and its protections be shown to matter. It depends on nothing, so every layer can mark
 * its points ({@code write.after_begin}, {@code writeback.before_convert}, {@code da.after_lookup1},
 * {@code evict.after}, ...).
 *
 * <p>A point is a call to {@link org.ext4j.interleave.Interleave#point} with a constant name. With
 * no hook installed it is one volatile read; started with {@code -Dext4j.interleave=off} it is dead
 * code, which is how the overhead benchmark measures it. A test (or {@code ext4j race}) installs a
 * hook that parks the calling thread until a scheduler lets it go: see {@code org.ext4j.race}.
 *
 * <p>{@link org.ext4j.interleave.Protections} names each protection of the write path (the
 * validity check, each delayed-allocation lookup handing out its sequence value, writeback's
 * revalidation, waiting for writeback before freeing blocks, ...) and lets a test switch one off to
 * show the corruption it prevents. No option of the file system or of a command other than
 * {@code race} reaches these switches.
 */
package org.ext4j.interleave;
