#!/usr/bin/env bash
# What the jbd2 journal costs, side by side in one run, on freshly made ext4 images (mkfs.ext4
# defaults, with and without -O ^has_journal):
#
#   seq      1 GiB sequential write + fsync, ext4j with the journal against ext4j without it:
#              ext4j io -f IMG /f -c "pwrite -b 1m 0 1g" -c fsync
#   append   10,000 appends of 4 KiB, each followed by fdatasync (10,000 journal commits):
#              ext4j   io -f IMG /a -c "pwrite -q -w 0 4k" -c "pwrite -q -w 4096 4k" ...
#              kernel  xfs_io -f -c "pwrite -q -w 0 4k" ... MNT/a   (the same commands, loop mount)
#   create   100,000 empty files in 100 directories, from a host tree, then everything durable:
#              ext4j   put TREE IMG /t                  (closes: commit, checkpoint, empty log)
#              kernel  cp -a TREE MNT/t && sync -f MNT  (mount and umount outside the time)
#
# ext4j's figures are whole processes (JVM start, open and close included); the kernel's exclude the
# mount. Every image ext4j wrote must pass e2fsck -fn (the script fails otherwise). Caches are dropped
# before every timed run.
#
# Usage: scripts/bench-journal.sh [ROUNDS]   (needs root, loop devices, mkfs.ext4, e2fsck, xfs_io)
# Environment: BENCH_DIR (scratch parent, default $TMPDIR or /tmp), BENCH_IMG_MIB (default 2048),
#              EXT4J_JAVA_OPTS.
# Prints each run, then medians and ratios (> 1: ext4j is faster, or the journal costs nothing).
set -euo pipefail

rounds="${1:-3}"
img_mib="${BENCH_IMG_MIB:-2048}"
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [ROUNDS]" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (loop mount and drop_caches)"
  exit 0
fi
for tool in mkfs.ext4 e2fsck mount umount xfs_io java; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found"
    exit 0
  fi
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -f "$here/target/ext4j.jar" ]; then
  (cd "$here" && mvn -q -DskipTests package)
fi
ext4j() { "$here/bin/ext4j" "$@"; }

scratch="$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}" ext4j-jbench.XXXXXX)"
mnt="$scratch/mnt"
img="$scratch/bench.img"
mkdir -p "$mnt"
cleanup() {
  if mountpoint -q "$mnt" 2>/dev/null; then umount "$mnt" || umount -l "$mnt" || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
fresh() { rm -f "$img"; cp --sparse=always "$scratch/$1.img" "$img"; }
fsck_clean() {
  if ! e2fsck -fn "$img" > "$scratch/fsck.out" 2>&1; then
    echo "FAIL: e2fsck -fn is not clean after ext4j's $1 run:" >&2
    cat "$scratch/fsck.out" >&2
    exit 1
  fi
}
timed() {
  local name="$1" TIMEFORMAT='%3R'
  shift
  if ! { time "$@" > "$scratch/$name.out" 2> "$scratch/$name.err"; } 2> "$scratch/time"; then
    echo "FAIL: $name:" >&2
    cat "$scratch/$name.err" >&2
    exit 1
  fi
  cat "$scratch/time"
}
record() { echo "$2" >> "$scratch/$1.times"; }
med() { sort -g "$scratch/$1.times" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "== machine: $(nproc) CPUs, kernel $(uname -r), $(java -version 2>&1 | head -1), $(mkfs.ext4 -V 2>&1 | head -1)"
truncate -s "${img_mib}M" "$scratch/journal.img" "$scratch/nojournal.img"
mkfs.ext4 -q -F "$scratch/journal.img"
mkfs.ext4 -q -F -O ^has_journal "$scratch/nojournal.img"

appends=10000
cmds=()
for ((i = 0; i < appends; i++)); do cmds+=(-c "pwrite -q -w $((i * 4096)) 4k"); done
tree="$scratch/tree"
mkdir -p "$tree"
for ((d = 0; d < 100; d++)); do
  mkdir "$tree/d$d"
  (cd "$tree/d$d" && seq -f "f%g" 0 999 | xargs touch)
done
echo "== ${img_mib} MiB images, $rounds round(s); $appends appends; $(find "$tree" -type f | wc -l) files in the tree"

for ((r = 1; r <= rounds; r++)); do
  line="   round $r:"
  for mode in journal nojournal; do
    fresh "$mode"; drop_caches
    t="$(timed "seq-$mode" ext4j io -f "$img" /f -c "pwrite -b 1m 0 1g" -c fsync)"
    fsck_clean "seq ($mode)"
    record "seq-$mode" "$t"; line+=" seq/$mode ${t}s"
  done

  fresh journal; drop_caches
  t="$(timed append-ext4j ext4j io -f "$img" /a "${cmds[@]}")"
  fsck_clean append
  record append-ext4j "$t"; line+=" append/ext4j ${t}s"
  fresh journal; mount -t ext4 -o loop "$img" "$mnt"; drop_caches
  t="$(timed append-kernel xfs_io -f "${cmds[@]}" "$mnt/a")"
  umount "$mnt"
  record append-kernel "$t"; line+=" append/kernel ${t}s"

  fresh journal; drop_caches
  t="$(timed create-ext4j ext4j put "$tree" "$img" /t)"
  fsck_clean create
  record create-ext4j "$t"; line+=" create/ext4j ${t}s"
  fresh journal; mount -t ext4 -o loop "$img" "$mnt"; drop_caches
  t="$(timed create-kernel sh -c "cp -a '$tree' '$mnt/t' && sync -f '$mnt'")"
  umount "$mnt"
  record create-kernel "$t"; line+=" create/kernel ${t}s"
  echo "$line"
done

echo
printf '| %-44s | %9s | %9s | %7s |\n' benchmark "ext4j s" "other s" ratio
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "-----------" "-----------" "---------"
row() { printf '| %-44s | %9.3f | %9.3f | %6.2fx |\n' "$1" "$2" "$3" "$(echo "$3 / $2" | bc -l)"; }
row "1 GiB write+fsync: journal (vs no journal)" "$(med seq-journal)" "$(med seq-nojournal)"
row "10,000 x (4 KiB append + fdatasync) (vs kernel)" "$(med append-ext4j)" "$(med append-kernel)"
row "100,000 file creates + sync (vs kernel)" "$(med create-ext4j)" "$(med create-kernel)"
echo "append rates: ext4j $(echo "$appends / $(med append-ext4j)" | bc) ops/s, kernel $(echo "$appends / $(med append-kernel)" | bc) ops/s"
