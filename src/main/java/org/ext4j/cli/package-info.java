/**
 * The {@code ext4j} command line (picocli). Verbs: {@code info}, {@code ls}, {@code stat},
 * {@code cat}, {@code get}. Exit statuses are a contract: 0 success, 1 corrupt or unreadable image,
 * 2 usage error, 3 unsupported feature, 70 an internal bug. Errors are one line on stderr; stack
 * traces only with {@code --debug}.
 */
package org.ext4j.cli;
