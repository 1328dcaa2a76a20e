package org.ext4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.ext4j.error.NotFoundException;
import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.tree.HostTreeImporter;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ext4j put [-p] SRC... IMAGE DEST}: copies host files and trees in as {@code cp -a} places
 * them: into DEST when it is an existing directory, as DEST otherwise (one SRC only); -p makes
 * DEST's missing parents (and DEST itself for several sources). See {@link HostTreeImporter} for
 * what is kept.
 */
@Command(name = "put", description = "Copy host files or trees into the image, as cp -a (read-write).")
final class PutCommand extends FsVerb {
    @Option(names = "-p", description = "Make missing parent directories of DEST.")
    boolean parents;

    @Parameters(arity = "3..*", paramLabel = "SRC... IMAGE DEST")
    List<String> args;

    private final List<Path> sources = new ArrayList<>();

    @Override
    Path image() {
        return Path.of(args.get(args.size() - 2));
    }

    @Override
    void check() throws Exception {
        sources.clear();
        for (String s : args.subList(0, args.size() - 2)) {
            Path p = Path.of(s);
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new java.nio.file.NoSuchFileException(s, null, "no such file or directory (the source)");
            }
            sources.add(p);
        }
        org.ext4j.fs.PathNames.check(dest());
    }

    private String dest() {
        return args.get(args.size() - 1);
    }

    @Override
    void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
        String dest = dest();
        PrintWriter err = spec.commandLine().getErr();
        HostTreeImporter importer = new HostTreeImporter(fs, w -> {
            err.println("ext4j put: warning: " + w);
            err.flush();
        });
        if (parents) {
            String parent = sources.size() > 1 ? dest : dest.replaceAll("/+$", "").replaceAll("/[^/]*$", "");
            if (!parent.isEmpty()) {
                MkdirCommand.mkdirs(fs, parent, 0755);
            }
        }
        boolean intoDir;
        try {
            intoDir = fs.stat(fs.lookupFollow(dest)).isDirectory();
        } catch (NotFoundException e) {
            intoDir = false;
        }
        if (sources.size() > 1 && !intoDir) {
            throw new org.ext4j.error.WrongTypeException(dest + ": not a directory (several sources need one) (ENOTDIR)");
        }
        for (Path src : sources) {
            String name = src.toAbsolutePath().normalize().getFileName() == null ? ""
                    : src.toAbsolutePath().normalize().getFileName().toString();
            String target = intoDir ? (dest.endsWith("/") ? dest : dest + "/") + name : dest;
            importer.copy(src, target);
        }
    }
}
