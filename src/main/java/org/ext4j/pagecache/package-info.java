/**
 * The page cache: per-file {@link org.ext4j.pagecache.AddressSpace}s of {@link org.ext4j.pagecache.Folio}s
 * (one or more blocks, up to 64 KiB) with per-block uptodate and dirty bits, a shared memory bound
 * with LRU eviction of clean folios, and dirty accounting with background and throttle thresholds
 * ({@code mm/filemap.c}, {@code mm/page-writeback.c}, iomap's folio state). It knows nothing of ext4
 * or of block mapping: the iomap layer fills folios and writes them back.
 *
 * <p>Eviction is one of the moves of the write path's races (docs/RACES.md R1): a clean folio may vanish
 * between a writer's mapping lookup and its folio lock, and the writer then meets a new, not-uptodate
 * folio whose blocks it must either read or zero, which is exactly where a stale mapping type does
 * harm.
 */
package org.ext4j.pagecache;
