package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.Callable;

import org.ext4j.error.InvalidArgumentException;
import org.ext4j.mkfs.Mkfs;
import org.ext4j.tree.EntrySource;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ext4j mkfs [options] IMAGE [SIZE]}: an empty ext2/ext3/ext4 file system laid out as
 * mke2fs 1.47.0 lays it out, with mke2fs's option letters and meanings. SIZE is read as mke2fs's
 * {@code parse_num_blocks2} reads it: a number with a K, M, G or T suffix is bytes, a bare number
 * counts blocks of the {@code -b} size (1 KiB without {@code -b}); without SIZE the image file's own
 * size is used. Every option is checked before the image is touched. {@code -d SRCDIR} then copies
 * the tree's contents into the root, as {@code put} does; {@code --tar FILE} puts a tar archive's
 * members there instead, read as a stream ({@code -} for standard input). With {@code -d} and
 * without SIZE, the smallest size that holds
 * the tree with {@code --margin} percent to spare is chosen and printed ("size N KiB (B blocks)",
 * even with {@code -q}). With {@code SOURCE_DATE_EPOCH} in the environment or {@code --reproducible}
 * the image depends only on the inputs ({@link Mkfs.Builder#reproducible}). On a terminal a
 * progress bar shows the copy ({@link ProgressBar}); {@code -q} or a non-terminal stdout turns it off.
 */
@Command(name = "mkfs", description = "Make an ext4 (or ext2/ext3) file system in an image file, as mke2fs; -d fills it from a directory, --tar from a tar archive.")
final class MkfsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "-q", description = "Print nothing on success.")
    boolean quiet;

    @Option(names = "-b", paramLabel = "BLOCK-SIZE", description = "Block size: 1024, 2048 or 4096.")
    int blockSize;

    @Option(names = "-I", paramLabel = "INODE-SIZE", description = "Inode size in bytes (default 256).")
    int inodeSize;

    @Option(names = "-i", paramLabel = "BYTES-PER-INODE", description = "Bytes per inode.")
    String bytesPerInode;

    @Option(names = "-N", paramLabel = "INODES", description = "Number of inodes.")
    long inodes;

    @Option(names = "-m", paramLabel = "PERCENT", description = "Reserved blocks percentage (default 5).")
    Double reserved;

    @Option(names = "-L", paramLabel = "LABEL", description = "Volume label.")
    String label;

    @Option(names = "-U", paramLabel = "UUID", description = "File system UUID (default random).")
    String uuid;

    @Option(names = "-O", paramLabel = "FEATURES", description = "Features to set or (^name) clear, comma separated.")
    java.util.List<String> features;

    @Option(names = "-J", paramLabel = "size=MiB", description = "Journal options: size=MiB.")
    String journal;

    @Option(names = "-E", paramLabel = "OPTS",
            description = "Extended options: root_owner=uid:gid, hash_seed=UUID, lazy_itable_init=0|1.")
    java.util.List<String> extended;

    @Option(names = "-t", paramLabel = "TYPE", description = "ext2, ext3 or ext4 (default).")
    String type = "ext4";

    @Option(names = "-d", paramLabel = "SRCDIR", description = "Copy the tree under SRCDIR into the new file system's root.")
    Path sourceDir;

    @Option(names = "--tar", paramLabel = "FILE",
            description = "Put the members of the tar archive FILE ('-' for standard input) into the new file system's root.")
    String tar;

    @Option(names = "--reproducible", description = "Reproducible image: times, UUID and hash seed from the inputs"
            + " (SOURCE_DATE_EPOCH if set, else 0); SOURCE_DATE_EPOCH alone also turns this on.")
    boolean reproducible;

    @Option(names = "--margin", paramLabel = "PERCENT",
            description = "With -d and no SIZE: room to spare over what the tree needs (default 10).")
    Double margin;

    @Parameters(index = "0", paramLabel = "IMAGE")
    Path image;

    @Parameters(index = "1", arity = "0..1", paramLabel = "SIZE",
            description = "Size (64M, 2G, or blocks); default with -d: what the tree needs plus --margin; else the image's size.")
    String size;

    @Override
    public Integer call() throws Exception {
        Mkfs.Builder b = Mkfs.builder().type(type);
        if (blockSize != 0) {
            b.blockSize(blockSize);
        }
        b.inodeSize(inodeSize);
        if (bytesPerInode != null) {
            long v = parseNum(bytesPerInode, -1, "-i");
            if (v > Integer.MAX_VALUE) {
                throw new InvalidArgumentException("-i " + bytesPerInode + ": too large");
            }
            b.bytesPerInode((int) v);
        }
        if (inodes < 0) {
            throw new InvalidArgumentException("-N " + inodes + ": not a count of inodes");
        }
        b.inodeCount(inodes);
        if (reserved != null) {
            b.reservedPercent(reserved);
        }
        if (label != null) {
            b.label(label);
        }
        if (uuid != null) {
            b.uuid(parseUuid(uuid, "-U"));
        }
        if (features != null) {
            b.features(String.join(",", features));
        }
        if (journal != null) {
            for (String opt : journal.split(",")) {
                if (!opt.startsWith("size=")) {
                    throw new InvalidArgumentException("-J " + opt + ": only size=MiB is known");
                }
                b.journalMiB(parseLong(opt.substring(5), "-J size"));
            }
        }
        if (extended != null) {
            for (String opt : String.join(",", extended).split(",")) {
                int eq = opt.indexOf('=');
                String key = eq < 0 ? opt : opt.substring(0, eq);
                String val = eq < 0 ? "" : opt.substring(eq + 1);
                switch (key) {
                    case "root_owner" -> {
                        String[] ids = val.split(":");
                        if (ids.length != 2) {
                            throw new InvalidArgumentException("-E root_owner=" + val + ": want uid:gid");
                        }
                        b.rootOwner(parseLong(ids[0], "-E root_owner"), parseLong(ids[1], "-E root_owner"));
                    }
                    case "hash_seed" -> b.hashSeed(parseUuid(val, "-E hash_seed"));
                    case "lazy_itable_init" -> b.lazyItableInit(eq < 0 || parseLong(val, "-E lazy_itable_init") != 0);
                    default -> throw new InvalidArgumentException("-E " + opt + ": unknown extended option");
                }
            }
        }
        if (sourceDir != null) {
            PrintWriter err = spec.commandLine().getErr();
            b.sourceDir(sourceDir).warnings(w -> {
                err.println("ext4j mkfs: warning: " + w);
                err.flush();
            });
        }
        String epoch = System.getenv("SOURCE_DATE_EPOCH");
        if (epoch != null || reproducible) {
            long t = 0;
            if (epoch != null) {
                if (!epoch.matches("\\d{1,19}")) {
                    throw new InvalidArgumentException("SOURCE_DATE_EPOCH=" + epoch + ": not a number of seconds");
                }
                try {
                    t = Long.parseLong(epoch);
                } catch (NumberFormatException e) {
                    throw new InvalidArgumentException("SOURCE_DATE_EPOCH=" + epoch + ": too large");
                }
            }
            b.reproducible(t);
        }
        if (margin != null) {
            if (sourceDir == null || size != null) {
                throw new InvalidArgumentException("--margin: only with -d and no SIZE");
            }
            b.margin(margin);
        }
        if (sourceDir != null && !quiet && ProgressBar.onTerminal()) {
            b.progress(new ProgressBar(spec.commandLine().getOut(), "copying " + sourceDir));
        }
        if (size != null) {
            int log = blockSize == 0 ? 0 : Integer.numberOfTrailingZeros(blockSize) - 10;
            if (blockSize != 0 && blockSize != 1024 && blockSize != 2048 && blockSize != 4096) {
                throw new InvalidArgumentException("-b " + blockSize + ": the block size must be 1024, 2048 or 4096");
            }
            b.sizeBlocks(parseNum(size, log, "SIZE"));
        }
        Mkfs.Result r;
        if (tar != null) {
            if (sourceDir != null) {
                throw new InvalidArgumentException("-d " + sourceDir + " and --tar " + tar + ": give one source");
            }
            if (!tar.equals("-") && !java.nio.file.Files.isRegularFile(Path.of(tar))) {
                throw new InvalidArgumentException("--tar " + tar + ": no such file (or not a regular file)");
            }
            java.io.InputStream in = tar.equals("-") ? System.in : java.nio.file.Files.newInputStream(Path.of(tar));
            try (EntrySource entries = EntrySource.tar(new java.io.BufferedInputStream(in, 1 << 20),
                    tar.equals("-") ? "standard input" : tar)) {
                r = b.source(entries).build(image);
            }
        } else {
            r = b.build(image);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (r.sizeChosen()) { // said even with -q: the caller cannot know it otherwise
            out.printf("size %d KiB (%d blocks)%n", r.blocksCount() * r.blockSize() / 1024, r.blocksCount());
            out.flush();
        }
        if (!quiet) {
            out.printf("%s: %d blocks of %d bytes, %d inodes, %d groups%s, UUID %s%n", image, r.blocksCount(),
                    r.blockSize(), r.inodesCount(), r.groupCount(),
                    r.journalBlocks() > 0 ? ", journal of " + r.journalBlocks() + " blocks" : "", r.uuid());
            out.flush();
        }
        return 0;
    }

    private static UUID parseUuid(String s, String opt) throws InvalidArgumentException {
        if (!s.matches("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")) {
            throw new InvalidArgumentException(opt + " " + s + ": not a UUID");
        }
        return UUID.fromString(s);
    }

    private static long parseLong(String s, String opt) throws InvalidArgumentException {
        try {
            long v = Long.parseLong(s);
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new InvalidArgumentException(opt + " " + s + ": not a number");
        }
    }

    /**
     * e2p's {@code parse_num_blocks2}: a number, then at most one of K, M, G, T (powers of 1024 bytes);
     * with {@code log} &gt;= 0 the result is in blocks of 1024 &lt;&lt; log bytes and a bare number is
     * already blocks, with {@code log} -1 the result is bytes.
     */
    static long parseNum(String s, int log, String opt) throws InvalidArgumentException {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)([kKmMgGtTs]?)").matcher(s);
        if (!m.matches()) {
            throw new InvalidArgumentException(opt + " " + s + ": not a size (a number with K, M, G or T)");
        }
        long num;
        try {
            num = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new InvalidArgumentException(opt + " " + s + ": too large");
        }
        String suf = m.group(2).toLowerCase(java.util.Locale.ROOT);
        int shift = switch (suf) {
            case "t" -> 30;
            case "g" -> 20;
            case "m" -> 10;
            case "k" -> 0;
            default -> -1;
        };
        if (suf.equals("s")) {
            return log < 0 ? num << 9 : num >> (1 + log);
        }
        if (shift < 0) {
            return num;
        }
        if (num > (Long.MAX_VALUE >> (shift + 10))) {
            throw new InvalidArgumentException(opt + " " + s + ": too large");
        }
        num <<= shift;
        return log < 0 ? num << 10 : num >> log;
    }
}
