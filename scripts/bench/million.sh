#!/usr/bin/env bash
# The Sentinel store at a million customers: import, start to ready (the search
# index loads before `/readyz` says ready), the first and later searches, a sorted
# page, the whole listing, and the server's memory against Redis's own for the
# same data. Writes the "A million customers" section of BENCHMARKS.md (between
# its markers; `scripts/bench.sh` keeps that section when it rewrites the file).
#
#   scripts/bench/million.sh     about 3 minutes on 2 cores
#
# BENCH_MILLION_N changes the count (then the section goes to a temporary file,
# printed at the end). Needs what scripts/bench.sh needs and the release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
unset LISTEN_ADDR DATA_FILE REDIS_SENTINELS REDIS_MASTER_NAME REDIS_URL REDIS_USERNAME \
  REDIS_PASSWORD REDIS_READ_FROM REDIS_KEY_PREFIX REDIS_MIN_REPLICAS_ACK

N=${BENCH_MILLION_N:-1000000}
BASE_PORT=${BENCH_BASE_PORT:-17579}
WORK=$PWD/target/bench-million
source scripts/bench/topology.sh
SEARCH=Quennell # every 1000th generated customer's last name
LAT_S=6
if [[ $N == 1000000 ]]; then OUT=$PWD/BENCHMARKS.md; else OUT=$(mktemp "${TMPDIR:-/tmp}/million.XXXXXX.md"); fi
SERVER_BIN=${SERVER_BIN:-$CARGO_TARGET_DIR/release/customer-records}
[[ -x $SERVER_BIN ]] || { echo "million: no release server at $SERVER_BIN" >&2; exit 1; }
mkdir -p "$WORK"
RESULTS=$WORK/results.jsonl
: >"$RESULTS"

log() { echo "[million $(printf '%3d' "$SECONDS")s] $*" >&2; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
mb() { awk -v kib="$1" 'BEGIN { printf "%.0f", kib / 976.5625 }'; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

log "generating $N customers"
python3 scripts/bench/gen_customers.py "$N" "$WORK/customers.json"
log "starting the Sentinel topology (base port $BASE_PORT)"
read -r -a REDIS_ENV <<<"$(topo start 2>>"$WORK/topology.log")"
MASTER_PID=$(cat "$TOPO_DIR/$MASTER_PORT/redis.pid")

log "importing"
started=$(now_ms)
env "${REDIS_ENV[@]}" "$SERVER_BIN" import "$WORK/customers.json" >"$WORK/import.log" 2>&1
IMPORT_MS=$(($(now_ms) - started))

log "starting the server"
started=$(now_ms)
env "${REDIS_ENV[@]}" "$SERVER_BIN" --listen "127.0.0.1:$APP_PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
until [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APP_PORT/readyz") == 200 ]]; do
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$WORK/server.log" >&2; exit 1; }
  sleep 0.02
done
READY_MS=$(($(now_ms) - started))
READY_RSS=$(mb "$(status_kb "$SERVER_PID" VmRSS)")
READY_PEAK=$(mb "$(status_kb "$SERVER_PID" VmHWM)")

search_once() {
  curl -s -o /dev/null -w '%{time_total}' -X POST "http://127.0.0.1:$APP_PORT/api/list_customers" \
    -H 'Content-Type: application/x-www-form-urlencoded' -H 'Accept: application/json' \
    --data "search=$1" | awk '{ printf "%.1f", $1 * 1000 }'
}
FIRST_SEARCH_MS=$(search_once "$SEARCH")

latency() { # latency FIGURE MODE PATH: p50 of c=1 for LAT_S seconds
  BENCH_MODE=$2 BENCH_N=$N BENCH_SEARCH=$SEARCH \
    python3 scripts/bench/measure.py "$RESULTS" wrk "$1" ours 1 --pid server="$SERVER_PID" \
    --pid redis="$MASTER_PID" -- wrk -t1 -c 1 -d "${LAT_S}s" --timeout 10s \
    -s scripts/bench/wrk.lua "http://127.0.0.1:$APP_PORT$3" >/dev/null
  python3 - "$RESULTS" "$1" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    row = json.loads(line)
    if row.get("figure") == sys.argv[2]:
        found = row
print(f"{found['p50_ms']:.1f} {found['p99_ms']:.1f}")
EOF
}
log "search ($SEARCH, c=1, ${LAT_S} s)"
read -r SEARCH_P50 SEARCH_P99 <<<"$(latency search search /api/list_customers)"
log "a page sorted by last name, descending (c=1, ${LAT_S} s)"
read -r PAGE_P50 PAGE_P99 <<<"$(latency page page "/?sort=last&order=desc")"
log "GET / (every customer)"
read -r LIST_S LIST_BYTES <<<"$(curl -s -o /dev/null -w '%{time_total} %{size_download}' \
  -H 'Accept: */*' "http://127.0.0.1:$APP_PORT/")"

SERVER_RSS=$(mb "$(status_kb "$SERVER_PID" VmRSS)")
SERVER_PEAK=$(mb "$(status_kb "$SERVER_PID" VmHWM)")
REDIS_RSS=$(mb "$(status_kb "$MASTER_PID" VmRSS)")
REDIS_USED=$(redis-cli -p "$MASTER_PORT" -a "$PASSWORD" --no-auth-warning info memory |
  awk -F: '$1 == "used_memory" { printf "%.0f", $2 / 1000000 }')
PER_CUSTOMER=$(awk -v kib="$(status_kb "$SERVER_PID" VmRSS)" -v n="$N" 'BEGIN { printf "%.0f", kib * 1024 / n }')

thousands() { python3 -c 'import sys; print(f"{int(float(sys.argv[1])):,}")' "$1"; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo yes; else echo "**no**"; fi; }
IMPORT_RATE=$(awk -v n="$N" -v ms="$IMPORT_MS" 'BEGIN { printf "%.0f", n / (ms / 1000) }')
section=$(
  cat <<EOF
<!-- million:start -->
## A million customers

$(thousands "$N") customers (\`scripts/bench/gen_customers.py\`) on the Sentinel topology
(\`scripts/redis-topology.sh\`, master, two replicas, three sentinels, no persistence),
one server reading from the master, 2 shared cores; $(date -u +%Y-%m-%d), commit
$(git rev-parse --short HEAD). Rerun with \`scripts/bench/million.sh\`.

| figure | measured | target | met? |
|---|---|---|---|
| \`customer-records import\` | $(thousands "$IMPORT_RATE") customers/s ($(awk -v ms="$IMPORT_MS" 'BEGIN { printf "%.1f", ms / 1000 }') s) | ≥ 50,000/s | $(verdict "$IMPORT_RATE >= 50000") |
| server start to \`/readyz\` 200 (the index loaded) | $(thousands "$READY_MS") ms | the index ready before ready | yes |
| the first search after ready ($SEARCH, 0.1% match) | $FIRST_SEARCH_MS ms | no slow first search | $(verdict "$FIRST_SEARCH_MS <= 4 * $SEARCH_P50 + 20") |
| search p50 / p99, c=1 | $SEARCH_P50 / $SEARCH_P99 ms | p50 ≤ 20 ms | $(verdict "$SEARCH_P50 <= 20") |
| a page sorted by last name, descending, p50 / p99, c=1 | $PAGE_P50 / $PAGE_P99 ms | as at 100,000 (figure 4) | — |
| \`GET /\`, every customer | $(awk -v s="$LIST_S" 'BEGIN { printf "%.2f", s }') s, $(mb "$((LIST_BYTES / 1024))") MB | — | — |
| server RSS / peak (VmHWM) once ready | $READY_RSS / $READY_PEAK MB | — | — |
| server RSS / peak (VmHWM) at the end | $SERVER_RSS / $SERVER_PEAK MB (about $PER_CUSTOMER bytes per customer) | peak below Redis's own memory | $(verdict "$SERVER_PEAK < $REDIS_RSS") |
| Redis master: RSS / \`used_memory\` | $REDIS_RSS / $REDIS_USED MB | — | — |
<!-- million:end -->
EOF
)
python3 scripts/bench/put_section.py million "$OUT" "$section"
log "wrote $OUT"
echo "$section"
