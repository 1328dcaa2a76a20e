package org.ext4j.race;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.ext4j.error.InvalidRequestException;

/**
 * A scratch ext4 image for race replays: made once by {@code mkfs.ext4} (default features,
 * metadata_csum included, but no journal) and kept in memory, so that every replay, and every one of an explorer's
 * thousands of runs, starts from the same fresh bytes without touching the disk.
 *
 * <p>Without a journal because the races are the page cache's and the mapping's: with jbd2, blocks
 * freed in a transaction stay out of allocation until it commits (mballoc's busy extents), which
 * alone keeps a punch or zero range from handing the blocks of a write in flight to another use in
 * the same transaction, and would hide what R7 and R10 show with their protection switched off.
 */
public final class RaceImage {
    private final byte[] template;
    private final int blockSize;

    private RaceImage(byte[] template, int blockSize) {
        this.template = template;
        this.blockSize = blockSize;
    }

    private static final java.util.Map<Integer, RaceImage> SHARED = new java.util.concurrent.ConcurrentHashMap<>();

    /** One image per block size for the whole process (made on first use): every run copies it. */
    public static RaceImage shared(int blockSize) throws IOException {
        RaceImage img = SHARED.get(blockSize);
        if (img == null) {
            img = create(blockSize);
            RaceImage raced = SHARED.putIfAbsent(blockSize, img);
            img = raced != null ? raced : img;
        }
        return img;
    }

    /** Makes an 8 MiB image with {@code blockSize}-byte blocks; needs {@code mkfs.ext4} on the PATH. */
    public static RaceImage create(int blockSize) throws IOException {
        return create(blockSize, List.of());
    }

    /**
     * As {@link #create(int)}, with {@code mkfsOptions} added to mkfs's command line ({@code -t ext3}
     * makes the race file block-mapped).
     */
    public static RaceImage create(int blockSize, List<String> mkfsOptions) throws IOException {
        Path tmp = Files.createTempFile("ext4j-race-", ".img");
        try {
            List<String> cmd = new java.util.ArrayList<>(List.of("mkfs.ext4", "-q", "-F", "-b",
                    Integer.toString(blockSize), "-N", "64", "-E", "nodiscard", "-O", "^has_journal"));
            cmd.addAll(mkfsOptions);
            cmd.addAll(List.of(tmp.toString(), "8M"));
            Process p;
            try {
                p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            } catch (IOException e) {
                throw new InvalidRequestException("the race replay makes its scratch image with mkfs.ext4 (e2fsprogs),"
                        + " which is not installed or not on the PATH");
            }
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("mkfs.ext4 failed: " + out.strip());
            }
            return new RaceImage(Files.readAllBytes(tmp), blockSize);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while making the scratch image", e);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public int blockSize() {
        return blockSize;
    }

    /** A fresh copy of the image's bytes. */
    public byte[] freshCopy() {
        return template.clone();
    }
}
