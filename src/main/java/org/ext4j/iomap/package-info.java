/**
 * The iomap layer ({@code fs/iomap/}): buffered write, buffered read and writeback over the page
 * cache, driven by a file system's {@link org.ext4j.iomap.IomapOps} and
 * {@link org.ext4j.iomap.WritebackOps}. It knows nothing of ext4.
 *
 * <p>The write path's central protocol lives here: a mapping carries the validity cookie it was
 * computed under, and a buffered write re-validates it with the folio locked before acting on the
 * mapping's type (see {@link org.ext4j.iomap.BufferedIO}); a stale mapping is mapped again with the
 * folio still locked, so every remap makes progress. Named {@link org.ext4j.interleave.Interleave}
 * points let tests stop a thread at each step of write and writeback to replay the races of docs/RACES.md.
 *
 * <p>Writeback copies a folio's dirty blocks under its lock into a direct staging buffer (the
 * snapshot; writers may dirty the folio again at once) and writes each run of contiguous device
 * addresses, across folios, with one positioned write, always before the completion that converts
 * its blocks: iomap's bios inside an ioend.
 */
package org.ext4j.iomap;
