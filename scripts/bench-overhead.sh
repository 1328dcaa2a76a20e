#!/usr/bin/env bash
# Cost of the validity check and the interleaving points (issue 4): the JMH benchmarks of
# src/jmh/java, variants "with" and "without" run as pairs of forks, round after round, the order
# of each pair swapped every round, so that a change in the machine's load hits both alike; then
# per configuration the throughput of each variant and the overhead (without - with) / without,
# from wall-clock throughput and from the writing thread's CPU time per operation.
#
#   mvn -Pbench -DskipTests package && scripts/bench-overhead.sh [ROUNDS]      # default 6 rounds
#
# Environment: BENCH_JAR (default target/ext4j-benchmarks.jar), BENCH_OUT (results folder, default
# a new one under $TMPDIR or /tmp), BENCH_NICE (renice, e.g. -10), BENCH_VARIANTS (default
# "with without"; also pointsOnly, checkOnly), BENCH_CONFIGS (default: all six below, one per line
# "Class params..."), BENCH_PARALLEL=1 (run the forks of a pair at the same time, one per CPU, so
# that both see the same load at the same moment). Needs java and python3 (for the summary).
# Summary only: scripts/bench-overhead.sh --summary DIR
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

summary() {
    python3 - "$1" <<'PY'
import glob, json, math, os, re, sys
from collections import defaultdict

T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23,
       11: 2.20, 12: 2.18, 13: 2.16, 14: 2.14, 15: 2.13, 19: 2.09, 24: 2.06, 29: 2.05}
def t95(df):
    return T95.get(df) or T95[max(k for k in T95 if k <= df)] if df >= 1 else float('nan')
def mean(xs):
    return sum(xs) / len(xs)
def ci(xs):  # half-width of the 95% confidence interval of the mean
    if len(xs) < 2:
        return float('nan')
    m = mean(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
    return t95(len(xs) - 1) * sd / math.sqrt(len(xs))

REGION = 64 << 20
forks = defaultdict(dict)  # (config) -> {(variant, round): (wall MB/s, cpu MB/s)}
for path in sorted(glob.glob(os.path.join(sys.argv[1], 'r*-*.json'))):
    rnd = int(re.match(r'r(\d+)-', os.path.basename(path)).group(1))
    try:
        results = json.load(open(path))
    except ValueError:  # a run still going, or one that failed
        continue
    for b in results:
        cls, variant = b['benchmark'].split('.')[-2:]
        size = int(b['params']['writeSize'])
        config = cls + ' ' + ' '.join(f'{k}={v}' for k, v in sorted(b['params'].items()))
        wall = [x for f in b['primaryMetric']['rawData'] for x in f]
        cpu = [x for f in b['secondaryMetrics']['cpuNsPerOp']['rawData'] for x in f]
        if b['mode'] == 'thrpt':  # ops/s; cpu: ns per write
            wall_mbs = mean(wall) * size / 1e6
            cpu_mbs = size / (mean(cpu) / 1e9) / 1e6
        else:  # ss, ms per 64 MiB shot; cpu: ns per shot
            wall_mbs = REGION / (mean(wall) / 1e3) / 1e6
            cpu_mbs = REGION / (mean(cpu) / 1e9) / 1e6
        forks[config][(variant, rnd)] = (wall_mbs, cpu_mbs)

print('MB/s = 10^6 bytes/s; +- = 95% CI of the mean over forks (rounds); spread = min..max of the fork means')
print('overhead = (without - with) / without, from the pairs of one round: mean +- 95% CI, median [min..max]')
for config, runs in forks.items():
    variants = sorted({v for v, _ in runs}, key=lambda v: ['with', 'without', 'pointsOnly', 'checkOnly'].index(v)
                      if v in ('with', 'without', 'pointsOnly', 'checkOnly') else 9)
    print(f'\n{config}')
    for k, label in ((0, 'wall'), (1, 'cpu ')):
        for v in variants:
            xs = [runs[key][k] for key in sorted(runs) if key[0] == v]
            print(f'  {label} {v:10s} n={len(xs):2d} {mean(xs):9.0f} +- {ci(xs):6.0f} MB/s ({100 * ci(xs) / mean(xs):4.1f}%)'
                  f'  spread {min(xs):.0f}..{max(xs):.0f}')
        for v in variants:
            if v == 'without':
                continue
            pairs = [(runs[(v, r)][k], runs[('without', r)][k]) for (vv, r) in sorted(runs)
                     if vv == v and ('without', r) in runs]
            if not pairs:
                continue
            o = [100 * (wo - w) / wo for w, wo in pairs]
            med = sorted(o)[len(o) // 2] if len(o) % 2 else (sorted(o)[len(o) // 2 - 1] + sorted(o)[len(o) // 2]) / 2
            print(f'  {label} overhead of {v:10s} {mean(o):+6.2f}% +- {ci(o):5.2f}  median {med:+.2f}'
                  f'  [{min(o):+.2f}..{max(o):+.2f}]  ({len(o)} pairs)')
PY
}

if [[ "${1:-}" == "--summary" ]]; then
    summary "$2"
    exit 0
fi

rounds=${1:-6}
jar=${BENCH_JAR:-$here/target/ext4j-benchmarks.jar}
out=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/ext4j-overhead.XXXXXX")}
read -r -a variants <<< "${BENCH_VARIANTS:-with without}"
configs=${BENCH_CONFIGS:-"CachedOverwrite -p state=written -p writeSize=4096
CachedOverwrite -p state=written -p writeSize=65536
CachedOverwrite -p state=delalloc -p writeSize=4096
CachedOverwrite -p state=written -p writeSize=4096 -p regionKiB=256
FreshDelalloc -p writeSize=4096
FreshDelalloc -p writeSize=65536"}
[[ -f "$jar" ]] || { echo "no $jar: build it with mvn -Pbench -DskipTests package" >&2; exit 2; }
command -v python3 > /dev/null || { echo "python3 is needed for the summary" >&2; exit 2; }
mkdir -p "$out"
nice=()
[[ -n "${BENCH_NICE:-}" ]] && nice=(nice -n "$BENCH_NICE")
host=()  # JMH's host JVM; two at once need leave to share JMH's lock file
[[ "${BENCH_PARALLEL:-0}" == 1 ]] && host=(-Djmh.ignoreLock=true)
echo "results in $out; $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"

for ((r = 1; r <= rounds; r++)); do
    order=("${variants[@]}")
    if ((r % 2 == 0)); then  # every other round the other way round
        order=()
        for ((i = ${#variants[@]} - 1; i >= 0; i--)); do order+=("${variants[i]}"); done
    fi
    c=0
    while read -r cls params; do
        [[ -n "$cls" ]] || continue
        c=$((c + 1))
        pids=()
        for v in "${order[@]}"; do
            f="$out/r$r-c$c-$v.json"
            # shellcheck disable=SC2086 # params are JMH options, one word each
            "${nice[@]}" java "${host[@]}" -jar "$jar" "org\.ext4j\.bench\.$cls\.$v\$" -f 1 $params -rf json -rff "$f" \
                > "${f%.json}.log" 2>&1 &
            pids+=($!)
            if [[ "${BENCH_PARALLEL:-0}" != 1 ]]; then
                wait "${pids[-1]}" || { echo "failed: see ${f%.json}.log" >&2; exit 1; }
            fi
        done
        for p in "${pids[@]}"; do
            wait "$p" || { echo "failed: see the logs of round $r in $out" >&2; exit 1; }
        done
        echo "round $r/$rounds, $cls $params: done ($(date +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
    done <<< "$configs"
done
summary "$out" | tee "$out/summary.txt"
