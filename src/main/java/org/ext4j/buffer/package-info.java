/**
 * The metadata buffer cache: block-sized buffers with a per-buffer lock and a dirty flag, clean ones
 * bounded by an LRU, dirty ones pinned until written. It is the unit that transaction handles
 * ({@code org.ext4j.txn}) take write access to and mark dirty, exactly as ext4 hands buffer heads to
 * jbd2. File data never goes through here; that is the page cache's job.
 */
package org.ext4j.buffer;
