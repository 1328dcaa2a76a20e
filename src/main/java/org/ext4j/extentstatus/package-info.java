/**
 * The extent status tree: per inode, an in-memory map of logical blocks to what they are, and a
 * counter that moves whenever that changes. The counterpart of {@code fs/ext4/extents_status.c};
 * the buffered write path this project grew out of rests on it.
 *
 * <h2>What it holds</h2>
 *
 * An {@link org.ext4j.extentstatus.ExtentStatusTree} is an interval map of non-overlapping entries
 * {@code (lblk, len, pblk, status)} over 32-bit logical blocks. The four states:
 * <ul>
 * <li><b>WRITTEN</b>: allocated, holds data at {@code pblk}; as on disk.</li>
 * <li><b>UNWRITTEN</b>: allocated at {@code pblk} but reads as zeros (fallocate, or allocated by
 *     writeback before its I/O completes); as on disk.</li>
 * <li><b>DELAYED</b>: dirty data in the page cache with a block reservation but no blocks yet.
 *     It exists only here, so it is dirty state: it can never be evicted, and reading the on-disk
 *     extent tree must never overwrite it (on disk the range is a hole).</li>
 * <li><b>HOLE</b>: known to have neither blocks nor delayed data. Remembering holes saves a walk
 *     of the on-disk tree for every read of a sparse region.</li>
 * </ul>
 * A block not covered by any entry is <em>unknown</em>: never looked at, or evicted. The caller then
 * asks the on-disk extent tree and {@link org.ext4j.extentstatus.ExtentStatusTree#cache caches}
 * the answer. Adjacent entries that continue each other (same state and, for the allocated states,
 * consecutive physical blocks) are merged, so the tree holds one entry per run however the run was
 * built; an insert over part of an entry cuts it, leaving up to two remnants whose physical blocks
 * are shifted accordingly.
 *
 * <p>Originally the tree tracked delayed extents only, so that SEEK_DATA/SEEK_HOLE and fiemap
 * could see data that had no blocks yet; it grew into the first place every block mapping looks,
 * in front of the on-disk extent tree, and later into the source of validity cookies for the
 * iomap buffered write path.
 *
 * <h2>The sequence counter</h2>
 *
 * Every tree has a counter ({@code i_es_seq}). Each operation that changes what the blocks are
 * &mdash; {@code insert} (allocation, conversion, punching), {@code insertDelayed}, {@code remove},
 * {@code convertUnwritten} &mdash; adds exactly one, while holding the tree's write lock. Operations
 * that change only what the tree <em>remembers</em> do not: {@code cache} (learning an on-disk
 * extent, which must not overwrite anything it already knows) and eviction (forgetting a clean
 * entry, which is still on disk). Jan Kara asked for exactly that split in review: bumping on
 * plain caching forces needless remaps, and the counter must follow the mapping, not the cache.
 *
 * <p>The counter is written only under the lock and published in a volatile field, so that
 * {@code seq()} can compare without locking. It must never be incremented outside the lock: two
 * unlocked {@code read; write(read + 1)} sequences lose an update, and the counter can go back to a
 * value a stale mapping already holds, which then looks valid again. That was Jan Kara's catch in
 * the first {@code i_es_seq} patch.
 *
 * <h2>Why every lookup hands out its sequence value</h2>
 *
 * A buffered write maps a range and keeps the mapping while it copies data into folios; it holds
 * the inode writer lock, but writeback does not take that lock. So the mapping can go stale
 * underneath the writer. The seed's race:
 * <pre>
 *   writer                                  writeback
 *   lookup: [0,4) UNWRITTEN, cookie S0
 *   copy into folios 0..2
 *                                           block 3 written; completion converts it to
 *                                           WRITTEN (counter S0 -&gt; S1); folio 3 evicted
 *   new folio 3: partial block, not uptodate
 *   valid?  S0 != S1  -&gt;  remap: WRITTEN  -&gt;  read block 3 from disk, then copy
 * </pre>
 * Without the check the writer still believes block 3 UNWRITTEN, zeroes the part of the folio it
 * does not overwrite, and writes the zeros back: silent corruption of data that was on disk.
 *
 * <p>The check only works if the cookie belongs to the mapping. If the lookup released the lock
 * and read the counter afterwards, a conversion in between would give a stale UNWRITTEN mapping the
 * new counter value, and the check would pass. Hence every lookup here returns the entry and the
 * counter read under the same lock hold, as one immutable record
 * ({@link org.ext4j.extentstatus.ExtentStatusTree.Lookup}), and every change returns the value it
 * produced ({@link org.ext4j.extentstatus.ExtentStatusTree.Change}). The kernel bug fixed in the
 * seed was two lookup sites in {@code ext4_da_map_blocks} that passed no {@code &map->m_seq}.
 *
 * <h2>Locking</h2>
 *
 * One read-write lock per tree ({@code i_es_lock}), a leaf lock: lookups take it shared, changes,
 * caching and eviction exclusive. It nests inside the inode writer lock and the mapping lock
 * ({@code i_rwsem}, {@code i_data_sem}); nothing is called with it held. The caller that reads the
 * on-disk extent tree and then caches the result must hold the mapping lock across both, so that no
 * change can fall between the disk read and the cache insert.
 *
 * <h2>Memory</h2>
 *
 * An {@link org.ext4j.extentstatus.ExtentStatusShrinker} per file system bounds the total entry
 * count of its trees, evicting clean entries from the least recently used trees, skipping trees
 * whose lock is busy, and giving recently looked-up entries a second chance (the kernel's es
 * shrinker and its {@code EXTENT_STATUS_REFERENCED} bit).
 *
 * <h2>Not (yet) here</h2>
 *
 * Bigalloc's pending-reservation tree ({@code ext4_pending_tree}) and the cluster-level reservation
 * accounting of {@code ext4_es_insert_delayed_extent}; the caller gets
 * {@link org.ext4j.extentstatus.ExtentStatusTree.Change#delayedBefore() delayedBefore} per change
 * and accounts block reservations itself.
 */
package org.ext4j.extentstatus;
