package org.ext4j.cli;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HexFormat;

import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.inode.Xattr;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ext4j xattr get|set|list|rm IMAGE PATH ...}: extended attributes of a name (a final symlink
 * itself, as the l*xattr calls), with getfattr's and setfattr's value conventions: a VALUE starting
 * with {@code 0x} is hex, with {@code 0s} base64, anything else its UTF-8 text.
 */
@Command(name = "xattr", description = "Get, set, list or remove extended attributes in the image.",
        subcommands = {XattrCommand.Get.class, XattrCommand.Set.class, XattrCommand.List.class, XattrCommand.Rm.class})
final class XattrCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing sub-verb: get, set, list or rm");
    }

    static byte[] value(CommandLine cl, String v) {
        try {
            if (v.startsWith("0x") || v.startsWith("0X")) {
                return HexFormat.of().parseHex(v.substring(2));
            }
            if (v.startsWith("0s") || v.startsWith("0S")) {
                return Base64.getDecoder().decode(v.substring(2));
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "invalid value: '" + v + "' (" + e.getMessage() + ")");
        }
        return v.getBytes(StandardCharsets.UTF_8);
    }

    /** {@code xattr get [-e text|hex|base64] IMAGE PATH NAME}: the value, raw (text) or encoded, on stdout. */
    @Command(name = "get", description = "Print an attribute's value (raw bytes, or -e hex / base64 with 0x / 0s).")
    static final class Get extends FsVerb {
        @Option(names = "-e", paramLabel = "ENCODING", description = "text (raw bytes, the default), hex or base64.")
        String encoding = "text";

        @Parameters(index = "0", paramLabel = "IMAGE")
        Path image;

        @Parameters(index = "1", paramLabel = "PATH")
        String path;

        @Parameters(index = "2", paramLabel = "NAME")
        String name;

        @Override
        Path image() {
            return image;
        }

        @Override
        boolean writes() {
            return false;
        }

        @Override
        void check() {
            if (!encoding.matches("text|hex|base64")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "invalid encoding: '" + encoding + "' (text, hex, base64)");
            }
        }

        @Override
        void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
            byte[] v = fs.getXattr(path, name);
            switch (encoding) {
                case "hex" -> out.println("0x" + HexFormat.of().formatHex(v));
                case "base64" -> out.println("0s" + Base64.getEncoder().encodeToString(v));
                default -> {
                    out.flush();
                    OutputStream raw = ((Main) spec.root().userObject()).stdout();
                    raw.write(v);
                    raw.flush();
                }
            }
        }
    }

    /** {@code xattr set [--create|--replace] IMAGE PATH NAME VALUE}. */
    @Command(name = "set", description = "Set an attribute (VALUE: text, 0x hex or 0s base64) (read-write).")
    static final class Set extends FsVerb {
        @Option(names = "--create", description = "Fail (EEXIST) if it exists.")
        boolean create;

        @Option(names = "--replace", description = "Fail (ENODATA) if it does not exist.")
        boolean replace;

        @Parameters(index = "0", paramLabel = "IMAGE")
        Path image;

        @Parameters(index = "1", paramLabel = "PATH")
        String path;

        @Parameters(index = "2", paramLabel = "NAME")
        String name;

        @Parameters(index = "3", paramLabel = "VALUE")
        String valueText;

        private byte[] value;

        @Override
        Path image() {
            return image;
        }

        @Override
        void check() throws Exception {
            if (create && replace) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--create and --replace exclude each other");
            }
            value = value(spec.commandLine(), valueText);
            org.ext4j.inode.XattrName.parse(name);
        }

        @Override
        void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
            fs.setXattr(path, name, value, create ? Ext4FileSystem.XattrMode.CREATE
                    : replace ? Ext4FileSystem.XattrMode.REPLACE : Ext4FileSystem.XattrMode.EITHER);
        }
    }

    /** {@code xattr list IMAGE PATH}: one name per line. */
    @Command(name = "list", description = "List the attribute names of a path.")
    static final class List extends FsVerb {
        @Parameters(index = "0", paramLabel = "IMAGE")
        Path image;

        @Parameters(index = "1", paramLabel = "PATH")
        String path;

        @Override
        Path image() {
            return image;
        }

        @Override
        boolean writes() {
            return false;
        }

        @Override
        void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
            for (Xattr x : fs.listXattrs(path)) {
                out.println(Main.oneLine(x.name()));
            }
        }
    }

    /** {@code xattr rm IMAGE PATH NAME}. */
    @Command(name = "rm", description = "Remove an attribute (read-write).")
    static final class Rm extends FsVerb {
        @Parameters(index = "0", paramLabel = "IMAGE")
        Path image;

        @Parameters(index = "1", paramLabel = "PATH")
        String path;

        @Parameters(index = "2", paramLabel = "NAME")
        String name;

        @Override
        Path image() {
            return image;
        }

        @Override
        void check() throws Exception {
            org.ext4j.inode.XattrName.parse(name);
        }

        @Override
        void run(Ext4FileSystem fs, PrintWriter out) throws Exception {
            fs.removeXattr(path, name);
        }
    }
}
