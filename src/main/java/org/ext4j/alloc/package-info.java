/**
 * Block and inode allocation: where new data and new inodes go, and how the group bitmaps, the group
 * descriptors and the superblock's counts follow. The kernel counterparts are
 * {@code fs/ext4/mballoc.c}, {@code balloc.c}, {@code ialloc.c} and {@code block_validity.c}.
 *
 * <h2>State and its owners</h2>
 *
 * The truth is on disk, in three places per group: the block bitmap, the inode bitmap and the group
 * descriptor (free block and inode counts, directories, flags, {@code bg_itable_unused}, and with
 * metadata_csum the two bitmap checksums and its own). All three are changed only through a
 * transaction {@link org.ext4j.txn.Handle}: write access first, the bytes changed under the buffer's
 * lock with the checksum set before it is released, then the buffer marked dirty. The descriptor is
 * re-encoded and checksummed by {@link org.ext4j.volume.Volume#updateGroup}. In memory,
 * {@link org.ext4j.alloc.GroupAllocator} keeps what the kernel keeps in {@code ext4_group_info} and
 * {@code ext4_sb_info}: a lock per group, a hint of the longest free run per group, flags for groups
 * found corrupt, and the file-system-wide free block, free inode and directory counters. The counters
 * reach the superblock only when {@link org.ext4j.alloc.GroupAllocator#syncCounters} runs (at commit
 * and close), exactly as {@code ext4_commit_super} refreshes {@code s_free_blocks_count} from the
 * per-CPU counters; e2fsck compares them with the bitmaps only on a clean file system.
 *
 * <h2>Lazy group initialisation</h2>
 *
 * With {@code uninit_bg} or {@code metadata_csum}, mke2fs leaves groups that hold nothing flagged
 * {@code BLOCK_UNINIT} and {@code INODE_UNINIT} and writes no bitmap for them. The first allocation
 * from such a group builds the bitmap in memory exactly as {@code ext4_init_block_bitmap} does
 * ({@link org.ext4j.alloc.GroupLayout#initBlockBitmap}: superblock backup and descriptor copies per
 * sparse_super and meta_bg, reserved GDT blocks, bitmaps and inode tables inside the group, the
 * padding past the end of the file system), then clears the flag in the same handle that marks the
 * first bits. An inode bitmap starts all clear. Inodes past {@code bg_itable_unused} were never
 * initialised: allocating one lowers that mark, and where the table is not flagged
 * {@code INODE_ZEROED} the slot is zeroed, because e2fsck reads every slot below the mark.
 *
 * <h2>Policy</h2>
 *
 * Blocks ({@link org.ext4j.alloc.BitmapBlockAllocator}): the run at the goal when it is long enough,
 * else the first full-length run from the goal onward, else the longest acceptable run; runs stay
 * inside one group. There is no buddy cache, no per-inode or per-CPU preallocation, no stripe
 * alignment and no reserved-block policy (root reserve, {@code s_resv_clusters}); those belong to the
 * file system layer above or come later. Bigalloc is refused at open.
 * Inodes ({@link org.ext4j.alloc.BitmapInodeAllocator}): Orlov's spread for directories and the
 * parent's group (or flex group) for everything else, as {@code find_group_orlov} and
 * {@code find_group_other}; the in-memory parent state the kernel keeps ({@code i_last_alloc_group},
 * the TOPDIR flag) is passed in by the caller.
 *
 * <h2>Locking</h2>
 *
 * One {@link java.util.concurrent.locks.ReentrantLock} per group guards that group's bitmaps,
 * descriptor and in-memory record. Group locks are taken one at a time, never nested, so there is no
 * order between them to keep. Under a group lock a thread takes buffer locks (bitmap, then descriptor
 * block, or an inode table block); never the reverse. The search hints (free counts, longest run) are
 * read without the lock and only decide which group to lock next; everything decisive is re-read
 * under it.
 *
 * <h2>Damage</h2>
 *
 * A bitmap whose checksum fails, which calls a metadata block free, or whose count of free bits
 * disagrees with its descriptor, marks its group corrupt: allocation skips it, freeing into it throws
 * ({@code EXT4_GROUP_INFO_*BITMAP_CORRUPT}). Freeing a free block or inode, a reserved inode, or
 * blocks inside the system zone throws a {@link org.ext4j.error.CorruptionException} before that
 * group's bitmap is touched.
 */
package org.ext4j.alloc;
