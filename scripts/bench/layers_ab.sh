#!/usr/bin/env bash
# What the edge layers cost (issue 8: request IDs, guard, limits, security
# headers, metrics, and what came with them), measured as this build against the
# build before them, alternated on one Sentinel topology in the same run, each
# also as a ratio to raw Redis measured alongside. A ratio to raw
# `redis-benchmark` alone moves with the CPU (Redis gains more than a
# multi-threaded server from a faster core), so it cannot say what the layers
# cost across machines; the same-run comparison can.
#
#   scripts/bench/layers_ab.sh            about 6 minutes on 2 cores (plus the
#                                         baseline's build, once per machine)
#
# BENCH_BASELINE (default a2a439b, the build `BENCHMARKS.md` measured before the
# layers) is built from a git worktree under target/ into the shared target dir;
# its binary is kept as target/bench-layers/baseline-<commit>-no-thp. It is built
# with this build's allocator settings (mimalloc without transparent huge pages,
# which came later), so that the comparison is of the layers alone; and since it
# pages from a sorted set of IDs that this build no longer keeps, the set is
# built for it after the import (scripts/bench/id_index.lua). Writes the
# "Cost of the edge layers" section of BENCHMARKS.md between its markers.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
unset LISTEN_ADDR DATA_FILE REDIS_SENTINELS REDIS_MASTER_NAME REDIS_URL REDIS_USERNAME \
  REDIS_PASSWORD REDIS_READ_FROM REDIS_KEY_PREFIX REDIS_MIN_REPLICAS_ACK

BASELINE=${BENCH_BASELINE:-a2a439b}
N=100000
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-10}
BASE_PORT=${BENCH_BASE_PORT:-17679}
WORK=$PWD/target/bench-layers
source scripts/bench/topology.sh
OUT=$PWD/BENCHMARKS.md
mkdir -p "$WORK"

log() { echo "[layers $(printf '%3d' "$SECONDS")s] $*" >&2; }

[[ -x $SERVER_BIN ]] || { echo "layers: no release server at $SERVER_BIN" >&2; exit 1; }
commit=$(git rev-parse --short "$BASELINE")
BASE_BIN=$WORK/baseline-$commit-no-thp
CURRENT_BIN=$WORK/current
cp "$SERVER_BIN" "$CURRENT_BIN"
if [[ ! -x $BASE_BIN ]]; then
  log "building the baseline $commit (once per machine)"
  tree=$PWD/target/bench-layers/tree-$commit
  [[ -d $tree ]] || git worktree add -f --detach "$tree" "$commit" >/dev/null
  sed -i 's/^mimalloc = { version = "0.1", default-features = false }$/mimalloc = { version = "0.1", default-features = false, features = ["no_thp"] }/' \
    "$tree/server/Cargo.toml"
  grep -q 'features = \["no_thp"\]' "$tree/server/Cargo.toml" ||
    { echo "layers: cannot build $commit without transparent huge pages" >&2; exit 1; }
  (cd "$tree" && cargo build --release -p server >"$WORK/build.log" 2>&1)
  cp "$CARGO_TARGET_DIR/release/customer-records" "$BASE_BIN"
  # The baseline's build replaced the app's binary: put it back.
  cp "$CURRENT_BIN" "$SERVER_BIN"
fi

log "generating $N customers and starting the Sentinel topology"
python3 scripts/bench/gen_customers.py "$N" "$WORK/customers.json"
read -r -a REDIS_ENV <<<"$(topo start 2>>"$WORK/topology.log")"
env "${REDIS_ENV[@]}" "$CURRENT_BIN" import "$WORK/customers.json" >"$WORK/import.log" 2>&1
redis-cli -h 127.0.0.1 -p "$MASTER_PORT" -a "$PASSWORD" --no-auth-warning \
  EVAL "$(cat scripts/bench/id_index.lua)" 2 customers:records customers:ids >/dev/null

# run MODE BIN: one wrk run against BIN started afresh; prints requests per second.
run() {
  local mode=$1 bin=$2
  env "${REDIS_ENV[@]}" LISTEN_ADDR="127.0.0.1:$APP_PORT" "$bin" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 200); do
    curl -sf -o /dev/null "http://127.0.0.1:$APP_PORT/get/c00000001" && break
    sleep 0.05
  done
  BENCH_MODE=$mode BENCH_N=$N wrk -t1 -c32 -d2s -s scripts/bench/wrk.lua \
    "http://127.0.0.1:$APP_PORT/get/x" >/dev/null
  BENCH_MODE=$mode BENCH_N=$N wrk -t1 -c32 -d"${DURATION}s" --timeout 10s -s scripts/bench/wrk.lua \
    "http://127.0.0.1:$APP_PORT/" | sed -n 's/^BENCH //p' | python3 -c 'import json,sys; print(json.load(sys.stdin)["rps"])'
  stop_server
}

raw_get() {
  redis-benchmark -h 127.0.0.1 -p "$MASTER_PORT" -a "$PASSWORD" -c 32 -n 1000000 -t get --csv 2>/dev/null |
    tail -1 | cut -d, -f2 | tr -d '"'
}

RESULTS=$WORK/results.txt
: >"$RESULTS"
for round in $(seq "$ROUNDS"); do
  raw=$(raw_get)
  for mode in get page; do
    for who in baseline current; do
      bin=$BASE_BIN
      [[ $who == current ]] && bin=$CURRENT_BIN
      rps=$(run "$mode" "$bin")
      log "round $round $mode $who: $rps req/s (raw GET $raw)"
      echo "$round $mode $who $rps $raw" >>"$RESULTS"
    done
  done
done

section=$(python3 - "$RESULTS" "$commit" "$(git rev-parse --short HEAD)" "$N" "$DURATION" "$ROUNDS" <<'EOF'
import statistics, sys, datetime, platform
path, baseline, head, n, duration, rounds = sys.argv[1:]
rows = [line.split() for line in open(path)]
def med(values): return statistics.median(values)
def fig(mode, who): return [float(r[3]) for r in rows if r[1] == mode and r[2] == who]
def raw(mode): return [float(r[4]) for r in rows if r[1] == mode and r[2] == "current"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
out = ["<!-- layers:start -->", "## Cost of the edge layers (issue 8)", "",
       f"This build ({head}) against the build before the edge layers ({baseline}, built with this",
       "build's allocator settings: mimalloc without transparent huge pages), both",
       "alternated on one Sentinel topology (master, two replicas, three sentinels) with",
       f"{int(n):,} customers, `wrk -t1 -c32 -d{duration}s` (`scripts/bench/wrk.lua`), {rounds} rounds;",
       f"raw `redis-benchmark -c 32 -t get` on the same master at the start of each round.",
       f"{cpu}, 2 shared cores; {datetime.date.today()}. Rerun with `scripts/bench/layers_ab.sh`.", "",
       "| figure | before the layers | this build | this build / before | target |", "|---|---|---|---|---|"]
for mode, label in (("get", "`GET /get/{id}`, c=32"), ("page", "UI customers page, c=32")):
    before, now = fig(mode, "baseline"), fig(mode, "current")
    pairs = [b / a for a, b in zip(before, now)]
    out.append(f"| {label} | {med(before):,.0f} req/s | {med(now):,.0f} req/s | "
               f"{100 * med(pairs):.1f}% | ≥ 90% |")
r = raw("get")
before, now = fig("get", "baseline"), fig("get", "current")
out.append(f"| `GET /get/{{id}}` as % of raw GET ({med(r):,.0f} req/s) | {100 * med([b / x for b, x in zip(before, r)]):.1f}% "
           f"| {100 * med([c / x for c, x in zip(now, r)]):.1f}% | — | — |")
out += ["", "Each ratio is the median of the per-round ratios. Rounds: " +
        "; ".join(f"{r[1]} {r[2]} {float(r[3]):,.0f}" for r in rows) + ".", "<!-- layers:end -->"]
print("\n".join(out))
EOF
)
python3 scripts/bench/put_section.py layers "$OUT" "$section"
echo "$section"
