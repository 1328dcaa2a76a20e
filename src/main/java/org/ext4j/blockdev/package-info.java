/**
 * The block device layer: positional byte I/O on an image file, a block device, or memory. It knows
 * nothing of ext4. {@link org.ext4j.blockdev.FileBlockDevice} opens a read-only image without write
 * access at the operating-system level, so "never a byte written to a read-only image" is enforced
 * below all of ext4j's code, not by its discipline. {@link org.ext4j.blockdev.LogWritesBlockDevice}
 * logs every write and flush of a device it wraps, and rebuilds from the log any state a crash
 * could leave (the crash-point tests).
 */
package org.ext4j.blockdev;
