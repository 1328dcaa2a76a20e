#!/usr/bin/env bash
# Namespace throughput, whole commands side by side in one run (JVM start included):
#  1. `ext4j put SRC IMAGE /` against `cp -a SRC` into a kernel loop mount of an identical image
#     plus `sync -f` and the unmount (the data reaches the image file in both);
#  2. 100,000 empty files made in one directory: `ext4j shell` running `touch d/fN` lines (the
#     library's createFile and utimens) against `touch` through a kernel loop mount (xargs, many
#     names per process), plus sync and unmount;
#  3. the same files through the library's API alone (scripts/CreateFiles.java: createFile and
#     close in a loop; the java launcher compiles the script first, which is included).
# Each image is checked with `e2fsck -fn` afterwards. The page cache is dropped before each timed
# run, so the source is read from disk by both.
#
# Usage: sudo scripts/bench-put.sh [SRC] [ROUNDS]    (default /usr/share/doc, 3 rounds)
# Environment: BENCH_FILES (default 100000), BENCH_DIR (scratch parent, default $TMPDIR or /tmp),
#   EXT4J_JAVA_OPTS (JVM options for bin/ext4j and the API run; unset: bin/ext4j's defaults).
# Prints each round's seconds and the medians, with the ratios kernel/ext4j (above 1: ext4j faster).
set -euo pipefail

src="${1:-/usr/share/doc}"
rounds="${2:-3}"
files="${BENCH_FILES:-100000}"
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (loop mount and drop_caches)"
  exit 0
fi
for tool in mkfs.ext4 e2fsck mount umount java du xargs seq; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found"; exit 0; }
done
here="$(cd "$(dirname "$0")/.." && pwd)"
ext4j="$here/bin/ext4j"
[ -f "$here/target/ext4j.jar" ] || (cd "$here" && mvn -B -q -DskipTests package)
work="$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/ext4j-bench-put.XXXXXX")"
mnt="$work/mnt"
mkdir -p "$mnt"
cleanup() { mountpoint -q "$mnt" && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT

size_mib=$(( $(du -sm "$src" | cut -f1) * 2 + 128 ))
now() { date +%s.%N; }
cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "source $src ($(du -sh "$src" | cut -f1), $(find "$src" | wc -l) names), image ${size_mib} MiB; $files files; $rounds rounds"
: > "$work/put.ext4j"; : > "$work/put.kernel"; : > "$work/files.ext4j"; : > "$work/files.kernel"; : > "$work/files.api"
{ echo "mkdir d"; seq -f "touch d/f%g" 1 "$files"; } > "$work/files.script"
for r in $(seq 1 "$rounds"); do
  mkfs.ext4 -q -F "$work/a.img" "${size_mib}M"
  cp "$work/a.img" "$work/b.img"
  cold; t0=$(now); "$ext4j" put "$src" "$work/a.img" / ; t1=$(now)
  e2fsck -fn "$work/a.img" > /dev/null 2>&1 || { echo "e2fsck found problems after ext4j put" >&2; exit 1; }
  echo "$t1 - $t0" | bc >> "$work/put.ext4j"
  cold; t0=$(now); mount -o loop "$work/b.img" "$mnt"; cp -a "$src" "$mnt/"; sync -f "$mnt"; umount "$mnt"; t1=$(now)
  echo "$t1 - $t0" | bc >> "$work/put.kernel"

  mkfs.ext4 -q -F -N "$((files + 1000))" "$work/a.img" 512M
  cp "$work/a.img" "$work/b.img"
  cold; t0=$(now); "$ext4j" shell "$work/a.img" -f "$work/files.script"; t1=$(now)
  e2fsck -fn "$work/a.img" > /dev/null 2>&1 || { echo "e2fsck found problems after ext4j shell" >&2; exit 1; }
  echo "$t1 - $t0" | bc >> "$work/files.ext4j"
  cold; t0=$(now); mount -o loop "$work/b.img" "$mnt"; mkdir "$mnt/d"
  (cd "$mnt/d" && seq -f "f%g" 1 "$files" | xargs touch); sync -f "$mnt"; umount "$mnt"; t1=$(now)
  echo "$t1 - $t0" | bc >> "$work/files.kernel"
  mkfs.ext4 -q -F -N "$((files + 1000))" "$work/a.img" 512M
  cold; t0=$(now); java ${EXT4J_JAVA_OPTS--XX:+UseSerialGC -XX:TieredStopAtLevel=1} -cp "$here/target/ext4j.jar" "$here/scripts/CreateFiles.java" "$work/a.img" "$files" > /dev/null; t1=$(now)
  e2fsck -fn "$work/a.img" > /dev/null 2>&1 || { echo "e2fsck found problems after CreateFiles" >&2; exit 1; }
  echo "$t1 - $t0" | bc >> "$work/files.api"
  echo "round $r: put ext4j $(tail -1 "$work/put.ext4j") s, kernel $(tail -1 "$work/put.kernel") s;" \
       "files ext4j $(tail -1 "$work/files.ext4j") s, api $(tail -1 "$work/files.api") s, kernel $(tail -1 "$work/files.kernel") s"
done
pe=$(median < "$work/put.ext4j"); pk=$(median < "$work/put.kernel")
fe=$(median < "$work/files.ext4j"); fk=$(median < "$work/files.kernel"); fa=$(median < "$work/files.api")
printf 'median put: ext4j %.2f s, kernel cp -a + sync %.2f s, kernel/ext4j %.2f\n' "$pe" "$pk" "$(echo "$pk / $pe" | bc -l)"
printf 'median %d files: ext4j %.2f s (%.0f/s), kernel %.2f s (%.0f/s), kernel/ext4j %.2f\n' "$files" "$fe" \
  "$(echo "$files / $fe" | bc -l)" "$fk" "$(echo "$files / $fk" | bc -l)" "$(echo "$fk / $fe" | bc -l)"
printf 'median %d files through the API: ext4j %.2f s (%.0f/s), kernel %.2f s, kernel/ext4j %.2f\n' "$files" "$fa" \
  "$(echo "$files / $fa" | bc -l)" "$fk" "$(echo "$fk / $fa" | bc -l)"
