#!/usr/bin/env bash
# Image-from-a-tree speed, whole commands side by side in one run (JVM start included):
# `ext4j mkfs -d SRC IMG SIZE` against `mkfs.ext4 -d SRC IMG SIZE` on the same tree and size, each
# image checked with `e2fsck -fn` afterwards, and the blocks each one uses (dumpe2fs: block count
# minus free blocks). The page cache is dropped before each timed run (as root), so both read the
# source from disk.
#
# Usage: scripts/bench-mkfs.sh [SRC] [ROUNDS] [SIZE]   (default /usr/share/doc, 3 rounds,
#   SIZE twice the tree plus 128 MiB)
# Environment: BENCH_DIR (scratch parent, default $TMPDIR or /tmp), EXT4J_JAVA_OPTS (bin/ext4j's).
# Prints each round's seconds and the medians, with the ratio mke2fs/ext4j (above 1: ext4j faster).
set -euo pipefail

src="${1:-/usr/share/doc}"
rounds="${2:-3}"
for tool in mkfs.ext4 e2fsck dumpe2fs java du bc; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found"; exit 0; }
done
here="$(cd "$(dirname "$0")/.." && pwd)"
ext4j="$here/bin/ext4j"
[ -f "$here/target/ext4j.jar" ] || (cd "$here" && mvn -B -q -DskipTests package)
work="$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/ext4j-bench-mkfs.XXXXXX")"
trap 'rm -rf "$work"' EXIT
size="${3:-$(( $(du -sm "$src" | cut -f1) * 2 + 128 ))M}"
now() { date +%s.%N; }
cold() { sync; if [ "$(id -u)" -eq 0 ]; then echo 3 > /proc/sys/vm/drop_caches; fi; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
used() { dumpe2fs -h "$1" 2>/dev/null | awk -F: '/^Block count/ {c=$2} /^Free blocks/ {f=$2} END {print c-f}'; }
[ "$(id -u)" -eq 0 ] || echo "note: not root, the page cache is not dropped between runs"

echo "source $src ($(du -sh "$src" | cut -f1), $(find "$src" | wc -l) names), image $size; $rounds rounds"
: > "$work/ext4j"; : > "$work/mke2fs"
for r in $(seq 1 "$rounds"); do
  rm -f "$work/a.img" "$work/b.img"
  cold; t0=$(now); "$ext4j" mkfs -q -d "$src" "$work/a.img" "$size"; t1=$(now)
  echo "$t1 - $t0" | bc >> "$work/ext4j"
  cold; t0=$(now); mkfs.ext4 -q -F -d "$src" "$work/b.img" "$size" > /dev/null; t1=$(now)
  echo "$t1 - $t0" | bc >> "$work/mke2fs"
  e2fsck -fn "$work/a.img" > /dev/null 2>&1 || { echo "e2fsck found problems in ext4j's image" >&2; exit 1; }
  e2fsck -fn "$work/b.img" > /dev/null 2>&1 || { echo "e2fsck found problems in mke2fs's image" >&2; exit 1; }
  echo "round $r: ext4j $(tail -1 "$work/ext4j") s, mke2fs $(tail -1 "$work/mke2fs") s;" \
       "blocks used: ext4j $(used "$work/a.img"), mke2fs $(used "$work/b.img")"
done
e=$(median < "$work/ext4j"); m=$(median < "$work/mke2fs")
printf 'median: ext4j mkfs -d %.2f s, mkfs.ext4 -d %.2f s, mke2fs/ext4j %.2f\n' "$e" "$m" "$(echo "$m / $e" | bc -l)"
