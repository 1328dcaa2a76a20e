#!/usr/bin/env bash
# Read throughput of `ext4j cat` against `debugfs -R cat` and against `cat` through a kernel loop
# mount, on one freshly made image holding one large file of random data. Every timed run starts
# with a cold page cache (sync + drop_caches), which also drops the image file's own cached pages.
#
# Usage: scripts/bench-read.sh [ROUNDS]            (default 3 rounds; needs root and loop devices)
# Environment:
#   BENCH_SIZE_MIB   size of the file read back (default 1024)
#   BENCH_DIR        parent of the scratch directory (default: $TMPDIR, else /tmp)
#   BENCH_WARM=1     also time each tool with a warm cache (shows CPU cost once the disk is out)
#   BENCH_NICE=N     run the whole benchmark at nice level N (e.g. -10 on a shared, busy machine)
#   EXT4J_JAVA_OPTS  JVM options handed to bin/ext4j
#
# Prints per tool and round MB/s (10^6 bytes per second of wall time, process start to exit), then
# per tool the median wall time and the median CPU time (user+sys, children included), and the
# ratios ext4j/debugfs and ext4j/kernel of the median throughputs. The tools run interleaved, so a
# change in machine load hits all of them alike; CPU time is the figure that load hardly moves.
set -euo pipefail

rounds="${1:-${BENCH_ROUNDS:-3}}"
size_mib="${BENCH_SIZE_MIB:-1024}"
warm="${BENCH_WARM:-0}"

if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [ROUNDS]  (ROUNDS a positive integer)" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (loop mount and drop_caches)"
  exit 0
fi
for tool in mkfs.ext4 debugfs mount umount mountpoint sha256sum java bc; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found"
    exit 0
  fi
done
if [ -n "${BENCH_NICE:-}" ]; then
  renice -n "$BENCH_NICE" -p $$ >/dev/null
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ext4j="$here/bin/ext4j"
if [ ! -f "$here/target/ext4j.jar" ]; then
  echo "building target/ext4j.jar ..." >&2
  (cd "$here" && mvn -q -DskipTests package)
fi

scratch="$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}" ext4j-bench.XXXXXX)"
mnt="$scratch/mnt"
img="$scratch/bench.img"
mkdir -p "$mnt"
cleanup() {
  if mountpoint -q "$mnt" 2>/dev/null; then
    umount "$mnt" || umount -l "$mnt" || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop_caches() {
  sync
  echo 3 > /proc/sys/vm/drop_caches
}

# --- the image: room for the file plus ~20% for metadata and slack -----------------------------
img_mib=$(( size_mib + size_mib / 5 + 64 ))
echo "== making a ${img_mib} MiB ext4 image with a ${size_mib} MiB file of random data in $scratch"
truncate -s "${img_mib}M" "$img"
mkfs.ext4 -q -F -L bench "$img"
mount -o loop "$img" "$mnt"
# /dev/urandom runs at a few hundred MB/s; fine for a one-off fill
dd if=/dev/urandom of="$mnt/big" bs=1M count="$size_mib" status=none
sync
umount "$mnt"
bytes=$(( size_mib * 1024 * 1024 ))

# --- correctness once: ext4j's bytes against the kernel's -------------------------------------
echo "== correctness: sha256 of ext4j cat vs the kernel mount"
mount -o loop,ro "$img" "$mnt"
want="$(sha256sum < "$mnt/big" | cut -d' ' -f1)"
umount "$mnt"
got="$("$ext4j" cat "$img" /big | sha256sum | cut -d' ' -f1)"
if [ "$got" != "$want" ]; then
  echo "FAIL: ext4j cat gives sha256 $got, the kernel gives $want" >&2
  exit 1
fi
echo "   ok  $got"

# --- timed runs -------------------------------------------------------------------------------
# Each runner reads the whole file and throws the bytes away. ext4j reads into its own buffer and
# writes it out, so /dev/null as stdout does not let it skip the read.
run_ext4j()     { "$ext4j" cat "$img" /big > /dev/null; }
# the same through a pipe, as a shell user would consume it: stdout is no longer /dev/null
run_ext4jpipe() { "$ext4j" cat "$img" /big | cat > /dev/null; }
run_debugfs()   { debugfs -R "cat /big" "$img" > /dev/null; }
run_kernel()    { cat "$mnt/big" > /dev/null; }

# time_runner TOOL: runs it once, appends "wall cpu" (seconds) to $scratch/TOOL.times
time_runner() {
  local tool="$1" TIMEFORMAT='%3R %3U %3S' t
  if ! { time "run_$tool" 2>"$scratch/$tool.err"; } 2>"$scratch/time"; then
    echo "FAIL: $tool exited non-zero:" >&2
    cat "$scratch/$tool.err" >&2
    exit 1
  fi
  t="$(cat "$scratch/time")"
  set -- $t
  echo "$1 $(echo "$2 + $3" | bc -l)" >> "$scratch/$tool.times"
  echo "$1"
}

# time_cold TOOL: one run with a cold cache; the kernel's mount happens before the drop, untimed
time_cold() {
  local tool="$1" s
  if [ "$tool" = kernel ]; then mount -o loop,ro "$img" "$mnt"; fi
  drop_caches
  s="$(time_runner "$tool")"
  if [ "$tool" = kernel ]; then umount "$mnt"; fi
  echo "$s"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mbps() { echo "scale=1; $bytes / 1000000 / $1" | bc -l; }
col() { awk -v c="$2" '{ print $c }' "$scratch/$1.times" | median; }

tools=(ext4j ext4jpipe debugfs kernel)

report() {
  local label="$1" e p d k
  echo "== $label, median of $rounds (wall MB/s, wall s, CPU s = user+sys):"
  for tool in "${tools[@]}"; do
    printf '   %-10s %8s MB/s  %6.3f s  cpu %6.3f s\n' "$tool" "$(mbps "$(col "$tool" 1)")" "$(col "$tool" 1)" "$(col "$tool" 2)"
  done
  e="$(col ext4j 1)"; p="$(col ext4jpipe 1)"; d="$(col debugfs 1)"; k="$(col kernel 1)"
  printf '   ext4j/debugfs = %.2fx   (aim >= 2.00)\n' "$(echo "$d / $e" | bc -l)"
  printf '   ext4j/kernel  = %.2fx   (aim >= 0.50)\n' "$(echo "$k / $e" | bc -l)"
  printf '   through a pipe: ext4j/debugfs = %.2fx, ext4j/kernel = %.2fx\n' \
    "$(echo "$d / $p" | bc -l)" "$(echo "$k / $p" | bc -l)"
}

echo "== machine: $(nproc) CPUs, $(free -m | awk '/^Mem:/ { print $2 }') MiB RAM, kernel $(uname -r)," \
  "$(java -version 2>&1 | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $rounds round(s), cold cache before every run"
for ((r = 1; r <= rounds; r++)); do
  line="   round $r:"
  for tool in "${tools[@]}"; do
    s="$(time_cold "$tool")"
    line+="$(printf '  %s %.0f MB/s' "$tool" "$(mbps "$s")")"
  done
  echo "$line"
done
report "cold cache"

if [ "$warm" = 1 ]; then
  echo "== warm cache: one untimed pass, then $rounds timed runs per tool"
  for tool in "${tools[@]}"; do
    : > "$scratch/$tool.times"
    if [ "$tool" = kernel ]; then mount -o loop,ro "$img" "$mnt"; fi
    "run_$tool" 2>/dev/null
    for ((r = 1; r <= rounds; r++)); do
      time_runner "$tool" > /dev/null
    done
    if [ "$tool" = kernel ]; then umount "$mnt"; fi
  done
  report "warm cache"
fi
echo "== load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
