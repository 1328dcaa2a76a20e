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
#   EXT4J_JAVA_OPTS  JVM options handed to bin/ext4j
#
# Prints MB/s (10^6 bytes per second of wall time, process start to exit) per tool and round,
# the median per tool, and the ratios ext4j/debugfs and ext4j/kernel of the medians.
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
for tool in mkfs.ext4 debugfs mount umount sha256sum java; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found"
    exit 0
  fi
done

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
trap cleanup EXIT INT TERM

drop_caches() {
  sync
  echo 3 > /proc/sys/vm/drop_caches
}

now() { date +%s.%N; }

# --- the image: room for the file plus ~20% for metadata and slack -----------------------------
img_mib=$(( size_mib + size_mib / 5 + 64 ))
echo "== making a ${img_mib} MiB ext4 image with a ${size_mib} MiB file of random data in $scratch"
truncate -s "${img_mib}M" "$img"
mkfs.ext4 -q -F -L bench "$img"
mount -o loop "$img" "$mnt"
# /dev/urandom is a few hundred MB/s here; that is fine for a one-off fill
dd if=/dev/urandom of="$mnt/big" bs=1M count="$size_mib" status=none
sync
umount "$mnt"
bytes=$(( size_mib * 1024 * 1024 ))

# --- correctness once: ext4j's bytes against the kernel's -------------------------------------
echo "== correctness: sha256 of ext4j cat vs the kernel mount"
want="$(mount -o loop,ro "$img" "$mnt" && sha256sum < "$mnt/big" | cut -d' ' -f1)"
umount "$mnt"
got="$("$ext4j" cat "$img" /big | sha256sum | cut -d' ' -f1)"
if [ "$got" != "$want" ]; then
  echo "FAIL: ext4j cat gives sha256 $got, the kernel gives $want" >&2
  exit 1
fi
echo "   ok  $got"

# --- timed runs -------------------------------------------------------------------------------
# Each runner reads the whole file and throws the bytes away; it prints nothing else.
run_ext4j()   { "$ext4j" cat "$img" /big > /dev/null; }
# the same through a pipe, as a shell user would consume it: stdout is no longer /dev/null
run_ext4jpipe() { "$ext4j" cat "$img" /big | cat > /dev/null; }
run_debugfs() { debugfs -R "cat /big" "$img" > /dev/null 2>"$scratch/debugfs.err"; }
run_kernel()  { cat "$mnt/big" > /dev/null; }

# time_one TOOL COLD(1|0): prints seconds
time_one() {
  local tool="$1" cold="$2" t0 t1
  if [ "$tool" = kernel ]; then
    # mounted before the caches are dropped, so the mount's own reads are not timed
    mount -o loop,ro "$img" "$mnt"
  fi
  if [ "$cold" = 1 ]; then drop_caches; fi
  t0="$(now)"
  "run_$tool"
  t1="$(now)"
  if [ "$tool" = kernel ] && [ "$cold" = 1 ]; then
    umount "$mnt"
  fi
  echo "$t1 - $t0" | bc -l
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mbps() { echo "scale=1; $bytes / 1000000 / $1" | bc -l; }

declare -A cold_times warm_times
tools=(ext4j ext4jpipe debugfs kernel)
echo "== machine: $(nproc) CPUs, $(free -m | awk '/^Mem:/ { print $2 }') MiB RAM, kernel $(uname -r), $(java -version 2>&1 | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $rounds round(s), cold cache before every run; MB/s = 10^6 bytes/s, wall time incl. process start"
for ((r = 1; r <= rounds; r++)); do
  line="   round $r:"
  for tool in "${tools[@]}"; do
    s="$(time_one "$tool" 1)"
    cold_times[$tool]+="$s "
    line+="$(printf '  %s %.0f MB/s' "$tool" "$(mbps "$s")")"
  done
  echo "$line"
done

if [ "$warm" = 1 ]; then
  echo "== warm cache (one untimed pass first, then $rounds timed runs each)"
  for tool in "${tools[@]}"; do
    [ "$tool" = kernel ] && mount -o loop,ro "$img" "$mnt"
    "run_$tool"
    for ((r = 1; r <= rounds; r++)); do
      t0="$(now)"; "run_$tool"; t1="$(now)"
      warm_times[$tool]+="$(echo "$t1 - $t0" | bc -l) "
    done
    [ "$tool" = kernel ] && umount "$mnt"
  done
fi

report() {
  local label="$1"; local -n times="$2"
  local e p d k
  e="$(tr ' ' '\n' <<< "${times[ext4j]}" | grep . | median)"
  p="$(tr ' ' '\n' <<< "${times[ext4jpipe]}" | grep . | median)"
  d="$(tr ' ' '\n' <<< "${times[debugfs]}" | grep . | median)"
  k="$(tr ' ' '\n' <<< "${times[kernel]}" | grep . | median)"
  echo "== $label, median of $rounds:"
  printf '   %-10s %8s MB/s  (%.3f s)\n' ext4j "$(mbps "$e")" "$e" "ext4j|cat" "$(mbps "$p")" "$p" debugfs "$(mbps "$d")" "$d" kernel "$(mbps "$k")" "$k"
  printf '   ext4j/debugfs = %.2fx   (aim >= 2.00)\n' "$(echo "$d / $e" | bc -l)"
  printf '   ext4j/kernel  = %.2fx   (aim >= 0.50)\n' "$(echo "$k / $e" | bc -l)"
  printf '   through a pipe: ext4j/debugfs = %.2fx, ext4j/kernel = %.2fx\n' "$(echo "$d / $p" | bc -l)" "$(echo "$k / $p" | bc -l)"
}
report "cold cache" cold_times
if [ "$warm" = 1 ]; then
  report "warm cache" warm_times
fi
