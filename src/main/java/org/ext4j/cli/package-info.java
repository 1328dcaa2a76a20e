/**
 * The {@code ext4j} command line (picocli). Verbs: {@code info}, {@code ls}, {@code stat},
 * {@code cat}, {@code get}, {@code io}, {@code rm}, {@code race}. Exit statuses are a contract
 * (spelled out case by case in {@link org.ext4j.cli.Main}): 0 success, 1 corrupt or unreadable
 * image or a request the file system refuses, 2 usage error (a malformed command line, a name of
 * 256 bytes or more, a NUL in a path, an out-of-range number), 3 unsupported feature, 70 an
 * internal bug. Arguments are checked before an image is opened read-write, so a refused command
 * changes no byte. Errors are one line on stderr; stack traces only with {@code --debug}.
 */
package org.ext4j.cli;
