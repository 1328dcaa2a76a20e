#!/usr/bin/env bash
# Write throughput of ext4j against the kernel, side by side in one run, on identical freshly made
# ext4 images (mkfs.ext4 defaults, a sparse file in BENCH_DIR): ext4j writes into its image with
# `bin/ext4j io`, the kernel into its copy through a loop mount.
#
#   seq     1 GiB sequential write + fsync:
#             ext4j   io -f IMG /f -c "pwrite -b 1m 0 1g" -c fsync
#             kernel  dd if=/dev/zero of=MNT/f bs=1M count=1024 conv=fsync
#   rand    4 KiB random writes over 256 MiB + fsync (65536 writes):
#             ext4j   io -f IMG /f -c "pwrite -R -Z SEED -b 4096 0 256m" -c fsync
#             kernel  fio --name=r --rw=randwrite --bs=4k --size=256m --end_fsync=1 --filename=MNT/f
#             kernel' the same fio with --norandommap: offsets drawn with replacement, as xfs_io's
#                     (and ext4j's) pwrite -R does; plain fio writes each block exactly once
#   buffer  1 GiB buffered write, before any fsync (in-process times, no process start):
#             ext4j   the time on the pwrite summary line of the seq run (xfs_io's format)
#             kernel  the time dd reports for dd if=/dev/zero of=MNT/f bs=1M count=1024 (page cache)
#
# seq and rand time whole processes (wall clock, start to exit: the JVM's start and ext4j's open and
# close are in ext4j's figure; mount and umount are outside the kernel's). Every timed run gets a
# fresh copy of the image and starts after `sync; echo 3 > /proc/sys/vm/drop_caches`. Each image
# ext4j wrote must pass `e2fsck -fn` (the script fails otherwise), and once, in round 1, the kernel
# must read back through a mount exactly the bytes ext4j's seq run wrote.
#
# Usage: scripts/bench-write.sh [ROUNDS]            (needs root, loop devices, mkfs.ext4, e2fsck, fio)
# Environment:
#   BENCH_ROUNDS     rounds (default 3); the figures are medians over the rounds
#   BENCH_DIR        parent of the scratch directory (default: $TMPDIR, else /tmp); both images and
#                    ext4j's and the kernel's writes land on this file system
#   BENCH_IMG_MIB    image size (default 2048)
#   BENCH_SEED       -Z seed of ext4j's random writes (default 1)
#   BENCH_NICE=N     run the whole benchmark at nice level N
#   EXT4J_JAR        run `java -jar EXT4J_JAR` instead of bin/ext4j (e.g. a jar built elsewhere)
#   EXT4J_JAVA_OPTS  JVM options for ext4j
#
# Prints each run, then the table: median ext4j time, median kernel time, MB/s of each (10^6 bytes
# per second), and the ratio kernel time / ext4j time (> 1: ext4j is faster).
set -euo pipefail

rounds="${1:-${BENCH_ROUNDS:-3}}"
img_mib="${BENCH_IMG_MIB:-2048}"
seed="${BENCH_SEED:-1}"

if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [ROUNDS]  (ROUNDS a positive integer)" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (loop mount and drop_caches)"
  exit 0
fi
for tool in mkfs.ext4 e2fsck mount umount mountpoint losetup dd cmp java bc; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found"
    exit 0
  fi
done
have_fio=1
if ! command -v fio >/dev/null 2>&1; then
  have_fio=0
  echo "WARNING: fio is missing (apt-get install fio): the random-write benchmark is skipped" >&2
fi
if [ -n "${BENCH_NICE:-}" ]; then
  renice -n "$BENCH_NICE" -p $$ >/dev/null
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${EXT4J_JAR:-}" ]; then
  # shellcheck disable=SC2086
  ext4j() { java ${EXT4J_JAVA_OPTS:-} -jar "$EXT4J_JAR" "$@"; }
else
  if [ ! -f "$here/target/ext4j.jar" ]; then
    echo "building target/ext4j.jar ..." >&2
    (cd "$here" && mvn -q -DskipTests package)
  fi
  ext4j() { "$here/bin/ext4j" "$@"; }
fi

scratch="$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}" ext4j-wbench.XXXXXX)"
mnt="$scratch/mnt"
tmpl="$scratch/template.img"
img="$scratch/bench.img"
mkdir -p "$mnt"
cleanup() {
  local dev
  if mountpoint -q "$mnt" 2>/dev/null; then
    umount "$mnt" 2>/dev/null || umount -l "$mnt" || true
  fi
  # loop devices still bound to the image (mount -o loop frees its own on umount; this is for a kill
  # between losetup and mount, or a lazy umount)
  for dev in $(losetup -j "$img" -O NAME -n 2>/dev/null); do
    losetup -d "$dev" 2>/dev/null || true
  done
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop_caches() {
  sync
  echo 3 > /proc/sys/vm/drop_caches
}

fresh_image() {
  rm -f "$img"
  cp --sparse=always "$tmpl" "$img"
}

mount_image() {
  mount -t ext4 -o loop "$img" "$mnt"
}

unmount_image() {
  umount "$mnt"
}

fsck_clean() {
  local what="$1"
  if ! e2fsck -fn "$img" > "$scratch/fsck.out" 2>&1; then
    echo "FAIL: e2fsck -fn is not clean after ext4j's $what run:" >&2
    cat "$scratch/fsck.out" >&2
    exit 1
  fi
}

# run_timed NAME CMD...: runs CMD (stdout to $scratch/NAME.out, stderr to $scratch/NAME.err), fails
# the script if it fails, and prints its wall time in seconds
run_timed() {
  local name="$1" TIMEFORMAT='%3R'
  shift
  if ! { time "$@" > "$scratch/$name.out" 2> "$scratch/$name.err"; } 2> "$scratch/time"; then
    echo "FAIL: $name exited non-zero:" >&2
    cat "$scratch/$name.err" "$scratch/$name.out" >&2
    exit 1
  fi
  cat "$scratch/time"
}

# the time on xfs_io's summary line: "0.1234 sec" or "H:MM:SS.cc"
summary_seconds() {
  awk -F'; ' '/ ops; / { split($2, a, " "); t = a[1];
      if (t ~ /:/) { n = split(t, p, ":"); print p[1] * 3600 + p[2] * 60 + p[3] } else print t; exit }' "$1"
}

# the time dd prints on stderr: "... copied, 0.634 s, 1.7 GB/s"
dd_seconds() {
  sed -n 's/.* copied, \([0-9.e+-]*\) s,.*/\1/p' "$1" | tail -1
}

record() { echo "$2" >> "$scratch/$1.times"; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
med() { median < "$scratch/$1.times"; }

# --- the template image ------------------------------------------------------------------------
echo "== machine: $(nproc) CPUs, $(free -m | awk '/^Mem:/ { print $2 }') MiB RAM, kernel $(uname -r)," \
  "$(java -version 2>&1 | head -1), $(mkfs.ext4 -V 2>&1 | head -1), $(fio --version 2>/dev/null || echo 'no fio')"
echo "== scratch $scratch on $(df --output=source,fstype "$scratch" | tail -1 | tr -s ' '), load $(cut -d' ' -f1-3 /proc/loadavg)"
truncate -s "${img_mib}M" "$tmpl"
mkfs.ext4 -q -F -L wbench "$tmpl"
echo "== ${img_mib} MiB image (mkfs.ext4 defaults), $rounds round(s), caches dropped before every run"

gib=$((1 << 30))
ext4j_seq() { ext4j io -f "$img" /f -c "pwrite -b 1m 0 1g" -c fsync; }
kernel_seq() { dd if=/dev/zero of="$mnt/f" bs=1M count=1024 conv=fsync; }
kernel_buf() { dd if=/dev/zero of="$mnt/f" bs=1M count=1024; }
ext4j_rand() { ext4j io -f "$img" /f -c "pwrite -R -Z $seed -b 4096 0 256m" -c fsync; }
kernel_rand() {
  fio --name=r --rw=randwrite --bs=4k --size=256m --end_fsync=1 --filename="$mnt/f" "$@"
}

ext4j_nop() { ext4j io -f "$img" /f -c fsync; }

for ((r = 1; r <= rounds; r++)); do
  line="   round $r:"

  # ext4j's fixed cost: JVM start, open, create /f, fsync, close (no data)
  fresh_image
  drop_caches
  t="$(run_timed ext4j_nop ext4j_nop)"
  record ext4j_nop "$t"

  # seq, ext4j (its pwrite line is also the buffered figure)
  fresh_image
  drop_caches
  t="$(run_timed ext4j_seq ext4j_seq)"
  record ext4j_seq "$t"
  b="$(summary_seconds "$scratch/ext4j_seq.out")"
  record ext4j_buf "$b"
  fsck_clean seq
  if [ "$r" = 1 ]; then
    # the kernel must read what ext4j wrote: 1 GiB of xfs_io's 0xcd fill
    mount -t ext4 -o loop,ro "$img" "$mnt"
    if ! head -c "$gib" /dev/zero | tr '\0' '\315' | cmp -s - "$mnt/f"; then
      echo "FAIL: the kernel does not read 1 GiB of 0xcd from the file ext4j wrote" >&2
      exit 1
    fi
    unmount_image
  fi
  line+=" seq ext4j ${t}s"

  # seq, kernel
  fresh_image
  mount_image
  drop_caches
  t="$(run_timed kernel_seq kernel_seq)"
  record kernel_seq "$t"
  unmount_image
  line+=" kernel ${t}s;"

  # buffered, kernel (ext4j's figure came from its seq run)
  fresh_image
  mount_image
  drop_caches
  run_timed kernel_buf kernel_buf > /dev/null
  k="$(dd_seconds "$scratch/kernel_buf.err")"
  record kernel_buf "$k"
  unmount_image
  line+=" buffered ext4j ${b}s kernel ${k}s;"

  if [ "$have_fio" = 1 ]; then
    fresh_image
    drop_caches
    t="$(run_timed ext4j_rand ext4j_rand)"
    record ext4j_rand "$t"
    b="$(summary_seconds "$scratch/ext4j_rand.out")"
    record ext4j_randbuf "$b"
    fsck_clean rand
    line+=" rand ext4j ${t}s"

    fresh_image
    mount_image
    drop_caches
    t="$(run_timed kernel_rand kernel_rand)"
    record kernel_rand "$t"
    unmount_image
    line+=" fio ${t}s"

    fresh_image
    mount_image
    drop_caches
    t="$(run_timed kernel_randnm kernel_rand --norandommap)"
    record kernel_randnm "$t"
    unmount_image
    line+=" fio-norandommap ${t}s"
  fi
  echo "$line"
done

# --- the table ---------------------------------------------------------------------------------
row() { # label bytes ext4j-times kernel-times
  local e k
  e="$(med "$3")"
  k="$(med "$4")"
  printf '| %-34s | %8.3f | %8.3f | %10.0f | %11.0f | %6.2fx |\n' "$1" "$e" "$k" \
    "$(echo "$2 / 1000000 / $e" | bc -l)" "$(echo "$2 / 1000000 / $k" | bc -l)" "$(echo "$k / $e" | bc -l)"
}
echo "== medians of $rounds round(s); ratio = kernel time / ext4j time (> 1: ext4j faster)"
printf '| %-34s | %8s | %8s | %10s | %11s | %7s |\n' benchmark "ext4j s" "kernel s" "ext4j MB/s" "kernel MB/s" ratio
echo "|------------------------------------|---------:|---------:|-----------:|------------:|--------:|"
row "1 GiB seq write + fsync (dd)" "$gib" ext4j_seq kernel_seq
if [ "$have_fio" = 1 ]; then
  row "4 KiB rand 256 MiB + fsync (fio)" $((256 << 20)) ext4j_rand kernel_rand
  row "  same, fio --norandommap" $((256 << 20)) ext4j_rand kernel_randnm
fi
row "1 GiB buffered write, no fsync" "$gib" ext4j_buf kernel_buf
echo "(rand MB/s: the 256 MiB issued by 65536 writes; ext4j's -R and fio --norandommap hit about 63% of"
echo " the blocks, some more than once; plain fio writes each block once, so its write-back is larger)"
echo "== ext4j's own split (medians): start+open+create+fsync+close with no data $(med ext4j_nop) s;" \
  "buffered pwrite of the seq run $(med ext4j_buf) s$([ "$have_fio" = 1 ] && echo ", of the rand run $(med ext4j_randbuf) s")"
echo "== load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
