#!/usr/bin/env bash
# Lighthouse (mobile: its simulated slow 4G and 4x slower CPU) on the customer
# list at 100,000 customers (embedded store): the four category scores and the
# page's timings, median of three runs by performance score. Writes the
# "Lighthouse" section of BENCHMARKS.md (between its markers; `scripts/bench.sh`
# keeps that section when it rewrites the file).
#
#   scripts/bench/lighthouse.sh     about 1 minute, once Lighthouse is installed
#
# Installs Lighthouse (npm) into the cache on first use. Needs the release build
# (`cargo leptos build --release --precompress --split`) and Chromium (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
unset LISTEN_ADDR DATA_FILE REDIS_SENTINELS REDIS_MASTER_NAME REDIS_URL USERS_FILE

N=100000
RUNS=3
PORT=${BENCH_LIGHTHOUSE_PORT:-17690}
TOOLS=${XDG_CACHE_HOME:-$HOME/.cache}/customer-records/lighthouse
WORK=$PWD/target/bench-lighthouse
OUT=$PWD/BENCHMARKS.md
SERVER_BIN=${SERVER_BIN:-$CARGO_TARGET_DIR/release/customer-records}
CHROME=${CHROMIUM:-/usr/bin/chromium}
log() { echo "[lighthouse $(printf '%3d' "$SECONDS")s] $*" >&2; }
[[ -x $SERVER_BIN ]] || { echo "lighthouse: no release server at $SERVER_BIN" >&2; exit 1; }

if [[ ! -x $TOOLS/node_modules/.bin/lighthouse ]]; then
  log "installing Lighthouse into $TOOLS"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --silent lighthouse@12 >&2
fi

rm -rf "$WORK" && mkdir -p "$WORK"
log "generating $N customers"
python3 scripts/bench/gen_customers.py "$N" "$WORK/customers.json"
# A users file of its own that does not exist: no users, so protected mode
# serves this machine without sign-in.
"$SERVER_BIN" --listen "127.0.0.1:$PORT" --data-file "$WORK/customers.json" \
  --users-file "$WORK/users.json" \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
until [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz") == 200 ]]; do
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$WORK/server.log" >&2; exit 1; }
  sleep 0.05
done

for run in $(seq "$RUNS"); do
  log "run $run of $RUNS"
  CHROME_PATH=$CHROME "$TOOLS/node_modules/.bin/lighthouse" "http://127.0.0.1:$PORT/" \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" \
    --output=json --output-path="$WORK/run-$run.json" --quiet
done

section=$(python3 - "$WORK" "$RUNS" "$(date -u +%Y-%m-%d)" "$(git rev-parse --short HEAD)" <<'EOF'
import json, sys
work, runs, day, commit = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
reports = [json.load(open(f"{work}/run-{n}.json")) for n in range(1, runs + 1)]
reports.sort(key=lambda r: r["categories"]["performance"]["score"])
median = reports[len(reports) // 2]
scores = lambda r: " / ".join(str(round(r["categories"][c]["score"] * 100))
                              for c in ("performance", "accessibility", "best-practices", "seo"))
audits = median["audits"]
shown = lambda name: audits[name]["displayValue"]
throttling = median["configSettings"]["throttling"]
print(f"""<!-- lighthouse:start -->
## Lighthouse

Lighthouse {median["lighthouseVersion"]}, mobile (simulated: {throttling["rttMs"]:.0f} ms round trip,
{throttling["throughputKbps"] / 1000:.1f} Mbit/s, CPU {throttling["cpuSlowdownMultiplier"]:.0f}x slower), on `/` with
100,000 customers (embedded store, `scripts/bench/gen_customers.py`), headless Chromium,
2 shared cores; {day}, commit {commit}. Median of {runs} runs by performance score.
Rerun with `scripts/bench/lighthouse.sh`.

| figure | measured |
|---|---|
| performance / accessibility / best practices / SEO, median run | {scores(median)} |
| the same, every run | {"; ".join(scores(r) for r in reports)} |
| first contentful paint | {shown("first-contentful-paint")} |
| largest contentful paint | {shown("largest-contentful-paint")} |
| total blocking time | {shown("total-blocking-time")} |
| cumulative layout shift | {shown("cumulative-layout-shift")} |
| time to interactive (Lighthouse's own estimate; figure 6's "working" is a search answered) | {shown("interactive")} |
<!-- lighthouse:end -->""")
EOF
)
python3 scripts/bench/put_section.py lighthouse "$OUT" "$section"
log "wrote $OUT"
echo "$section"
