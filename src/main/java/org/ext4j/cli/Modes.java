package org.ext4j.cli;

import picocli.CommandLine;

/**
 * File modes as chmod(1) reads them: octal ({@code 0755}, {@code 4755}) or symbolic clauses
 * ({@code u+x,go-w}, {@code a=rX}, {@code +t}), applied to a starting mode. Anything else is a
 * usage error naming it.
 */
final class Modes {
    private Modes() {
    }

    /** The mode {@code text} makes of {@code from}; {@code directory} decides X. */
    static int parse(CommandLine cl, String text, int from, boolean directory) {
        if (text.matches("[0-7]{1,4}")) {
            return Integer.parseInt(text, 8);
        }
        int mode = from & 07777;
        for (String clause : text.split(",", -1)) {
            if (!clause.matches("[ugoa]*([-+=][rwxXst]*)+")) {
                throw new CommandLine.ParameterException(cl, "invalid mode: '" + text + "' (octal, or symbolic as chmod's u+x,go-w)");
            }
            int i = 0;
            int who = 0;
            while (i < clause.length() && "ugoa".indexOf(clause.charAt(i)) >= 0) {
                who |= switch (clause.charAt(i++)) {
                    case 'u' -> 04700;
                    case 'g' -> 02070;
                    case 'o' -> 01007;
                    default -> 07777;
                };
            }
            boolean all = who == 0;
            if (all) {
                who = 07777 & ~022; // no who: as with the umask 022 of root's shell
            }
            while (i < clause.length()) {
                char op = clause.charAt(i++);
                int bits = 0;
                while (i < clause.length() && "rwxXst".indexOf(clause.charAt(i)) >= 0) {
                    bits |= switch (clause.charAt(i++)) {
                        case 'r' -> 0444;
                        case 'w' -> 0222;
                        case 'x' -> 0111;
                        case 'X' -> directory || (mode & 0111) != 0 ? 0111 : 0;
                        case 's' -> 06000;
                        default -> 01000;
                    };
                }
                int mask = all ? (who | 07000) : who;
                bits &= mask;
                switch (op) {
                    case '+' -> mode |= bits;
                    case '-' -> mode &= ~bits;
                    default -> mode = (mode & ~(all ? 07777 : who)) | bits;
                }
            }
        }
        return mode;
    }
}
