#!/usr/bin/env bash
# Benchmarks the release server on a real Redis Sentinel topology against raw Redis
# (redis-benchmark on the same master, in the same run) and writes the table.
#
#   scripts/bench.sh           full run: 10,000 and 100,000 customers, 3 repetitions,
#                              about 5-6 minutes on 2 cores; writes BENCHMARKS.md
#   scripts/bench.sh --quick   smoke run: tiny N, 1 s runs, one repetition, under a
#                              minute; writes a temporary file (path printed at the end)
#                              and leaves BENCHMARKS.md alone
#
# Needs the release build (`cargo leptos build --release --precompress --split`), wrk, redis-server,
# redis-sentinel, redis-cli, redis-benchmark, curl and python3. Runs its own
# topology (ports BENCH_BASE_PORT..+13: 17379 for full runs, 17479 for quick ones;
# dir target/bench-topology or a temporary dir) so it never meets a developer's, and
# stops everything it started when it exits, on failure and Ctrl-C too.
# Exits non-zero when a step fails or a load run saw errors; a missed target is a
# result, not a failure. BENCH_OUT overrides the output file; BENCH_N_SMALL and
# BENCH_N_LARGE the two customer counts.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

MODE=full
case "${1:-}" in
  "") ;;
  --quick) MODE=quick ;;
  -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

# Whatever the caller's shell configures must not reach the servers started here.
unset LISTEN_ADDR DATA_FILE REDIS_SENTINELS REDIS_MASTER_NAME REDIS_URL REDIS_USERNAME \
  REDIS_PASSWORD REDIS_SENTINEL_PASSWORD REDIS_DB REDIS_KEY_PREFIX REDIS_TIMEOUT_MS \
  REDIS_REQUEST_DEADLINE_MS REDIS_MIN_REPLICAS_ACK

if [[ $MODE == full ]]; then
  N_SMALL=10000 N_LARGE=100000 REPS=3 TPUT_S=10 LAT_S=6
  RB_REQUESTS=400000 RB_PAGE_REQUESTS=200000 RB_ALL_SMALL=400 RB_ALL_LARGE=40
  COLD_REPS=5 FAILOVER_REPS=3 FAILOVER_N=10000 FAILOVER_BEFORE_S=3 TTW_REPS=5
  N_HUGE=1000000 RB_AOF_REQUESTS=200000 COMPACT_S=4
  BASE_PORT=${BENCH_BASE_PORT:-17379}
  WORK=$PWD/target/bench
  TOPO_DIR=$PWD/target/bench-topology
  OUT=${BENCH_OUT:-$PWD/BENCHMARKS.md}
else
  N_SMALL=100 N_LARGE=200 REPS=1 TPUT_S=1 LAT_S=1
  RB_REQUESTS=20000 RB_PAGE_REQUESTS=10000 RB_ALL_SMALL=100 RB_ALL_LARGE=100
  COLD_REPS=2 FAILOVER_REPS=1 FAILOVER_N=100 FAILOVER_BEFORE_S=1 TTW_REPS=1
  N_HUGE=10000 RB_AOF_REQUESTS=10000 COMPACT_S=1 # the least journal that compacts
  BASE_PORT=${BENCH_BASE_PORT:-17479}
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/customer-records-bench.XXXXXX")
  TOPO_DIR=$WORK/topology
  OUT=${BENCH_OUT:-$(mktemp "${TMPDIR:-/tmp}/BENCHMARKS.quick.XXXXXX.md")}
fi
N_SMALL=${BENCH_N_SMALL:-$N_SMALL} N_LARGE=${BENCH_N_LARGE:-$N_LARGE} # for trying things out
CONC=32
DOWN_AFTER_MS=2000
MASTER_NAME=mymaster
PASSWORD=bench-secret
MASTER_PORT=$((BASE_PORT + 3))
APP_PORT=$((BASE_PORT + 10))      # the server under load
COLD_PORT=$((BASE_PORT + 11))     # the cold-start spawns
RAW_COLD_PORT=$((BASE_PORT + 12)) # the redis-server cold-start baseline
FILE_PORT=$((BASE_PORT + 13))     # the server on the file store
AOF_PORT=$((BASE_PORT + 14))      # redis-server with appendfsync always, the file store's yardstick
TLS_PORT=$((BASE_PORT + 15))      # redis-server speaking only TLS, for figure 10
RESULTS=$WORK/results.jsonl
SEARCH=Quennell # the last name of every 1000th generated customer
WASM=$(ls "$LEPTOS_SITE_ROOT"/pkg/customer-records*.wasm 2>/dev/null | head -1 || true) # name has a content hash

log() { echo "[bench $(printf '%3d' "$SECONDS")s] $*" >&2; }
die() { echo "[bench] error: $*" >&2; exit 1; }

# --- cleanup: stop exactly what this run started --------------------------------

SERVER_PID=""
AOF_PID=""
TOPOLOGY_UP=0
stop_aof() {
  [[ -n $AOF_PID ]] || return 0
  kill "$AOF_PID" 2>/dev/null || true
  wait "$AOF_PID" 2>/dev/null || true
  AOF_PID=""
}
TLS_PID=""
stop_tls_redis() {
  [[ -n $TLS_PID ]] || return 0
  kill "$TLS_PID" 2>/dev/null || true
  wait "$TLS_PID" 2>/dev/null || true
  TLS_PID=""
}
stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
topo() {
  BASE_PORT=$BASE_PORT DOWN_AFTER_MS=$DOWN_AFTER_MS SYNC_DELAY=${SYNC_DELAY:-0} TOPOLOGY_DIR=$TOPO_DIR \
    MASTER_NAME=$MASTER_NAME REDIS_PASSWORD=$PASSWORD scripts/redis-topology.sh "$@"
}
# Stops this run's topology. `redis-topology.sh stop` stops the nodes one at a time and
# each takes about 2 s to exit, 12 s in all; here they all get SIGTERM at once (nothing
# is persisted, and the next start rewrites every config).
topo_down() {
  local file pid pids=() tries=0
  for file in "$TOPO_DIR"/*/redis.pid; do
    [[ -f $file ]] || continue
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == redis-* ]]; then
      kill "$pid" 2>/dev/null && pids+=("$pid")
    fi
    rm -f "$file"
  done
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [[ $tries -lt 100 ]]; do
      sleep 0.1
      tries=$((tries + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  TOPOLOGY_UP=0
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_server
  stop_aof
  stop_tls_redis
  if [[ $TOPOLOGY_UP == 1 ]]; then topo_down; fi
  if [[ $status != 0 ]]; then
    log "failed (exit $status); logs and results are in $WORK"
  elif [[ $MODE == quick ]]; then
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- checks ------------------------------------------------------------------------

# From a fresh clone: install the tools and build, unless the caller just built
# (the test command sets BENCH_SKIP_BUILD=1).
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  scripts/setup.sh --bench
  cargo leptos build --release --precompress --split
fi

for tool in wrk redis-server redis-sentinel redis-cli redis-benchmark curl python3 gzip; do
  command -v "$tool" >/dev/null || die "$tool is not installed (wrk and redis-tools are Debian packages)"
done
[[ -x $SERVER_BIN ]] || die "no release server at $SERVER_BIN: run 'cargo leptos build --release --precompress --split'"
[[ -n $WASM && -f $WASM ]] || die "no wasm in $LEPTOS_SITE_ROOT/pkg: run 'cargo leptos build --release --precompress --split'"
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in $(seq "$BASE_PORT" $((BASE_PORT + 5))) "$APP_PORT" "$COLD_PORT" "$RAW_COLD_PORT" "$FILE_PORT" "$AOF_PORT" "$TLS_PORT"; do
  if port_busy "$port"; then
    die "port $port is in use (another benchmark running? set BENCH_BASE_PORT)"
  fi
done
if [[ $MODE == full ]]; then # only now: another run could have been using it
  rm -rf "$WORK"
  mkdir -p "$WORK"
fi

export BENCH_MODE=$MODE BENCH_N_SMALL=$N_SMALL BENCH_N_LARGE=$N_LARGE BENCH_CONC=$CONC \
  BENCH_DOWN_AFTER_MS=$DOWN_AFTER_MS BENCH_REPS=$REPS BENCH_TPUT_S=$TPUT_S BENCH_LAT_S=$LAT_S \
  BENCH_COLD_REPS=$COLD_REPS BENCH_FAILOVER_REPS=$FAILOVER_REPS BENCH_BASE_PORT=$BASE_PORT \
  BENCH_FAILOVER_BEFORE_S=$FAILOVER_BEFORE_S BENCH_WASM=$WASM BENCH_SERVER_BIN=$SERVER_BIN \
  BENCH_N_HUGE=$N_HUGE BENCH_COMPACT_S=$COMPACT_S
BENCH_COMMAND="scripts/bench.sh${1:+ $1}"
BENCH_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
BENCH_GIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
BENCH_LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
busy=$(ps -eo comm= | grep -cxE 'rustc|cargo|cc1plus|node|wasm-opt' || true)
BENCH_BUSY_NOTE=""
if [[ ${busy:-0} -gt 0 ]]; then
  BENCH_BUSY_NOTE="**$busy compiler/node processes were running when the run started: figures are disturbed.**"
  log "warning: $busy compiler/node processes are running; the figures will be disturbed"
fi
export BENCH_COMMAND BENCH_DATE BENCH_GIT BENCH_LOAD_START BENCH_BUSY_NOTE
log "$MODE run: $N_SMALL and $N_LARGE customers, $REPS repetition(s), ports $BASE_PORT-$((BASE_PORT + 14)), work dir $WORK"

# --- helpers -----------------------------------------------------------------------

measure() { python3 scripts/bench/measure.py "$RESULTS" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; } # /proc's kB are KiB: KiB / 976.5625 = MB

start_topology() {
  local env_line
  TOPOLOGY_UP=1 # before starting: a start that fails half-way leaves nodes to stop
  env_line=$(topo start 2>>"$WORK/topology.log") || die "the topology did not start (see $WORK/topology.log)"
  read -r -a REDIS_ENV <<<"$env_line"
  MASTER_PID=$(cat "$TOPO_DIR/$MASTER_PORT/redis.pid")
}

start_server() { # start_server PORT LOG ENV...: the release server, once it answers HTTP
  local port=$1 server_log=$2 tries=0
  shift 2
  env "$@" "$SERVER_BIN" --listen "127.0.0.1:$port" >"$server_log" 2>&1 &
  SERVER_PID=$!
  until curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$port/get/c00000000"; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$server_log" >&2; die "the server exited"; }
    tries=$((tries + 1))
    [[ $tries -lt 300 ]] || die "the server did not answer within 30 s (log: $server_log)"
    sleep 0.1
  done
}

import_customers() { # import_customers FIGURE FILE COUNT: through the real store, timed
  local started
  started=$(now_ms)
  env "${REDIS_ENV[@]}" "$SERVER_BIN" import "$2" >>"$WORK/import.log" 2>&1 ||
    die "import of $2 failed (see $WORK/import.log)"
  measure value "$1" ours 1 "ms=$(($(now_ms) - started))" "customers=$3"
}

ours() { # ours FIGURE REP MODE CONNECTIONS SECONDS PATH [PORT]: wrk against our server
  local figure=$1 rep=$2 mode=$3 connections=$4 seconds=$5 path=$6 port=${7:-$APP_PORT}
  local pids=(--pid server="$SERVER_PID")
  [[ $figure == file_* ]] || pids+=(--pid redis="${BENCH_REDIS_PID:-$MASTER_PID}")
  BENCH_MODE=$mode BENCH_N=$CURRENT_N BENCH_SEARCH=$SEARCH \
    measure wrk "$figure" ours "$rep" "${pids[@]}" -- \
    wrk -t1 -c "$connections" -d "${seconds}s" --timeout 10s -s scripts/bench/wrk.lua \
    "http://127.0.0.1:$port$path"
}

raw() { # raw FIGURE REP CLIENTS REQUESTS ARGS...: redis-benchmark against the same master
  local figure=$1 rep=$2 clients=$3 requests=$4
  shift 4
  measure redis "$figure" raw "$rep" --pid redis="$MASTER_PID" -- \
    redis-benchmark -h 127.0.0.1 -p "$MASTER_PORT" -a "$PASSWORD" -c "$clients" -n "$requests" --csv "$@"
}

# The raw side of figure 4: Redis reading one page of 25 customers (limit + 1)
# by itself, from an ID index and the records (scripts/bench/page.lua), the index
# built for it once (scripts/bench/id_index.lua).
PAGE_SCRIPT=$(cat scripts/bench/page.lua)
RECORDS_KEY=customers:records
IDS_KEY=customers:ids

# --- data and static figures ---------------------------------------------------------

log "generating $N_LARGE customers"
python3 scripts/bench/gen_customers.py "$N_SMALL" "$WORK/customers-small.json"
python3 scripts/bench/gen_customers.py "$N_LARGE" "$WORK/customers-large.json"
python3 scripts/bench/gen_customers.py "$FAILOVER_N" "$WORK/customers-failover.json"

# What browsers get is the `.br` a release build writes beside it (--precompress).
[[ -f $WASM.br ]] || die "no $WASM.br: build with 'cargo leptos build --release --precompress --split'"
# $WASM is the module every page loads (the list's island and the theme
# switch); the lazy islands' chunks (--split) load only on the pages that show them.
chunks_gzip=0
for chunk in "$(dirname "$WASM")"/*.wasm; do
  [[ $chunk == "$WASM" ]] || chunks_gzip=$((chunks_gzip + $(gzip -9 -c "$chunk" | wc -c)))
done
measure value wasm ours 1 \
  "raw_kb=$(div "$(stat -c %s "$WASM")" 1000)" "gzip_kb=$(div "$(gzip -9 -c "$WASM" | wc -c)" 1000)" \
  "br_kb=$(div "$(stat -c %s "$WASM.br")" 1000)" "chunks_gzip_kb=$(div "$chunks_gzip" 1000)"

# --- figures 1-6 on the Sentinel topology ----------------------------------------------

log "starting the Sentinel topology (base port $BASE_PORT)"
start_topology

log "importing $N_SMALL customers"
import_customers import_small "$WORK/customers-small.json" "$N_SMALL"
CURRENT_N=$N_SMALL
start_server "$APP_PORT" "$WORK/server.log" "${REDIS_ENV[@]}"

log "figure 3: GET / with $N_SMALL customers"
for rep in $(seq "$REPS"); do
  ours list_small "$rep" list 1 "$LAT_S" /
  raw list_small "$rep" 1 "$RB_ALL_SMALL" HGETALL "$RECORDS_KEY"
done

log "importing $N_LARGE customers"
import_customers import_large "$WORK/customers-large.json" "$N_LARGE"
CURRENT_N=$N_LARGE
master_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$MASTER_PID/status"; }
MASTER_RSS_KB=$(master_kb VmRSS)
MASTER_HWM_KB=$(master_kb VmHWM)

log "figure 3: GET / with $N_LARGE customers"
for rep in $(seq "$REPS"); do
  ours list_large "$rep" list 1 "$LAT_S" /
  raw list_large "$rep" 1 "$RB_ALL_LARGE" HGETALL "$RECORDS_KEY"
done

log "figure 4: the UI's customers page with $N_LARGE customers"
redis-cli -h 127.0.0.1 -p "$MASTER_PORT" -a "$PASSWORD" --no-auth-warning \
  EVAL "$(cat scripts/bench/id_index.lua)" 2 "$RECORDS_KEY" "$IDS_KEY" >/dev/null
for rep in $(seq "$REPS"); do
  ours page "$rep" page "$CONC" "$TPUT_S" /
  ours page_sorted "$rep" page "$CONC" "$TPUT_S" "/?sort=last&order=desc"
  raw page "$rep" "$CONC" "$RB_PAGE_REQUESTS" EVAL "$PAGE_SCRIPT" 2 "$RECORDS_KEY" "$IDS_KEY" - + 26
done

log "figure 5: search through the UI's server function over $N_LARGE customers"
for rep in $(seq "$REPS"); do
  ours search "$rep" search 1 "$LAT_S" /api/list_customers
  raw search "$rep" 1 "$RB_ALL_LARGE" HGETALL "$RECORDS_KEY"
done

# How soon the list works on a slow phone (Chromium, slow 4G, 4x slower CPU): needs
# the browser tests' Chromium and playwright-core (scripts/setup.sh installs them).
if command -v "${CHROMIUM:-chromium}" >/dev/null && [[ -d tests/browser/node_modules/playwright-core ]]; then
  log "figure 6: time to a working list page, slow 4G and 4x CPU ($TTW_REPS page loads)"
  ttw=$(node scripts/bench/time_to_working.mjs "http://127.0.0.1:$APP_PORT" "$SEARCH" "$TTW_REPS" |
    sed -n 's/^TTW //p')
  [[ -n $ttw ]] || die "time_to_working.mjs printed no result"
  # shellcheck disable=SC2046 # one KEY=NUMBER word per measurement
  measure value ttw ours 1 $(python3 -c 'import json, sys
print(" ".join(f"{k}={v}" for k, v in json.loads(sys.argv[1]).items() if v is not None))' "$ttw")
else
  log "figure 6: no Chromium or playwright-core: skipping the time to a working list page"
fi

# Raw SET/GET use database 1 with values the size of a stored customer (~64 bytes),
# so they never touch the store's keys; SET runs first so GET finds values.
log "figure 2: POST /set"
for rep in $(seq "$REPS"); do
  ours set "$rep" set "$CONC" "$TPUT_S" /set
  raw set "$rep" "$CONC" "$RB_REQUESTS" -t set -r "$N_LARGE" -d 64 --dbnum 1
done

log "figure 1: GET /get/{id}"
for rep in $(seq "$REPS"); do
  ours get "$rep" get "$CONC" "$TPUT_S" /get/x
  raw get "$rep" "$CONC" "$RB_REQUESTS" -t get -r "$N_LARGE" -d 64 --dbnum 1
done

server_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER_PID/status"; }
measure value rss ours 1 "rss_mb=$(div "$(server_kb VmRSS)" 976.5625)" "hwm_mb=$(div "$(server_kb VmHWM)" 976.5625)"
measure value rss raw 1 "rss_mb=$(div "$MASTER_RSS_KB" 976.5625)" "hwm_mb=$(div "$MASTER_HWM_KB" 976.5625)"
PLAIN_PID=$SERVER_PID

# Figure 9: the same request with credentials, on a second server with a users
# file, against this one (no users, so no sign-in) back to back in each repetition.
log "figure 9: GET /get/{id} with HTTP Basic and with a bearer token"
USERS_FILE_PATH="$WORK/users.json"
rm -f "$USERS_FILE_PATH"
printf 'bench-password\n' | USERS_FILE="$USERS_FILE_PATH" "$SERVER_BIN" user add bench --role viewer 2>/dev/null
TOKEN=$(USERS_FILE="$USERS_FILE_PATH" "$SERVER_BIN" token create bench --role viewer 2>/dev/null)
BASIC="Basic $(printf 'bench:bench-password' | base64)"
start_server "$COLD_PORT" "$WORK/server-auth.log" "${REDIS_ENV[@]}" USERS_FILE="$USERS_FILE_PATH"
AUTH_PID=$SERVER_PID
get_with() { # get_with FIGURE SIDE REP PID PORT [AUTHORIZATION]
  BENCH_MODE=get BENCH_N=$CURRENT_N BENCH_AUTH=${6:-} \
    measure wrk "$1" "$2" "$3" --pid server="$4" --pid redis="$MASTER_PID" -- \
    wrk -t1 -c "$CONC" -d "${TPUT_S}s" --timeout 10s -s scripts/bench/wrk.lua \
    "http://127.0.0.1:$5/get/x"
}
for rep in $(seq "$REPS"); do
  get_with auth_basic raw "$rep" "$PLAIN_PID" "$APP_PORT"
  get_with auth_basic ours "$rep" "$AUTH_PID" "$COLD_PORT" "$BASIC"
  get_with auth_bearer raw "$rep" "$PLAIN_PID" "$APP_PORT"
  get_with auth_bearer ours "$rep" "$AUTH_PID" "$COLD_PORT" "Bearer $TOKEN"
done

# Figure 12: the same request on a third server reading from the two replicas,
# against the first (reading from the master), back to back in each repetition.
log "figure 12: GET /get/{id} reading from the replicas"
start_server "$FILE_PORT" "$WORK/server-replicas.log" "${REDIS_ENV[@]}" REDIS_READ_FROM=replica-preferred
REPLICAS_PID=$SERVER_PID
sleep 1 # the replicas are measured before they serve reads
for rep in $(seq "$REPS"); do
  get_with replica_get raw "$rep" "$PLAIN_PID" "$APP_PORT"
  get_with replica_get ours "$rep" "$REPLICAS_PID" "$FILE_PORT"
done
replica_reads=$(curl -s "http://127.0.0.1:$FILE_PORT/metrics" | awk '$1 == "redis_replica_reads_total" { print $2 }')
log "figure 12: ${replica_reads:-0} reads served by replicas"
[[ ${replica_reads:-0} != 0 ]] || die "no read was served by a replica (see $WORK/server-replicas.log)"
stop_server
SERVER_PID=$AUTH_PID
stop_server
SERVER_PID=$PLAIN_PID
stop_server

log "figure 6: cold start"
python3 scripts/bench/coldstart.py "$RESULTS" coldstart ours "$COLD_REPS" "$COLD_PORT" http /get/c00000000 -- \
  env "${REDIS_ENV[@]}" "$SERVER_BIN" --listen "127.0.0.1:$COLD_PORT"
cp "$WORK/customers-large.json" "$WORK/store-large.json"
python3 scripts/bench/coldstart.py "$RESULTS" coldstart_file ours "$COLD_REPS" "$COLD_PORT" http /get/c00000000 -- \
  env DATA_FILE="$WORK/store-large.json" "$SERVER_BIN" --listen "127.0.0.1:$COLD_PORT"
python3 scripts/bench/coldstart.py "$RESULTS" coldstart raw "$COLD_REPS" "$RAW_COLD_PORT" redis - -- \
  redis-server --port "$RAW_COLD_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK"

# --- the same requests on the file store, for comparison (one repetition) --------------

log "comparison: the file store with $N_LARGE customers"
start_server "$FILE_PORT" "$WORK/server-file.log" DATA_FILE="$WORK/store-large.json"
ours file_list_large 1 list 1 "$LAT_S" / "$FILE_PORT"
ours file_page 1 page "$CONC" "$TPUT_S" / "$FILE_PORT"
ours file_page_sorted 1 page "$CONC" "$TPUT_S" "/?sort=last&order=desc" "$FILE_PORT"
ours file_search 1 search 1 "$LAT_S" /api/list_customers "$FILE_PORT"
ours file_get 1 get "$CONC" "$TPUT_S" /get/x "$FILE_PORT"
stop_server

# --- figure 8: the embedded store's writes, start-up and compaction ---------------------

log "figure 8: file store POST /set with $N_LARGE customers (every write fsynced) against redis appendfsync always"
mkdir -p "$WORK/aof"
redis-server --port "$AOF_PORT" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync always \
  --dir "$WORK/aof" >"$WORK/aof.log" 2>&1 &
AOF_PID=$!
until redis-cli -p "$AOF_PORT" ping >/dev/null 2>&1; do sleep 0.05; done
cp "$WORK/customers-large.json" "$WORK/store-writes.json"
start_server "$FILE_PORT" "$WORK/server-file-writes.log" DATA_FILE="$WORK/store-writes.json"
for rep in $(seq "$REPS"); do
  ours file_set "$rep" set "$CONC" "$TPUT_S" /set "$FILE_PORT"
  measure redis aof_set raw "$rep" --pid redis="$AOF_PID" -- \
    redis-benchmark -h 127.0.0.1 -p "$AOF_PORT" -c "$CONC" -n "$RB_AOF_REQUESTS" --csv -t set -r "$N_LARGE" -d 64
done
stop_server
stop_aof

log "figure 8: file store cold start from a $N_LARGE snapshot plus a $N_LARGE-entry journal"
python3 scripts/bench/gen_customers.py --journal "$N_LARGE" "$WORK/journal-large"
mkdir -p "$WORK/journaled"
BENCH_PREPARE="rm -f '$WORK'/journaled/customers.json*; cp '$WORK/customers-large.json' '$WORK/journaled/customers.json'; cp '$WORK/journal-large' '$WORK/journaled/customers.json.journal'" \
  python3 scripts/bench/coldstart.py "$RESULTS" coldstart_journal ours "$COLD_REPS" "$COLD_PORT" http /get/c00000000 -- \
  env DATA_FILE="$WORK/journaled/customers.json" "$SERVER_BIN" --listen "127.0.0.1:$COLD_PORT"

log "figure 8: GET /get/{id} while $N_HUGE customers are compacted"
python3 scripts/bench/gen_customers.py "$N_HUGE" "$WORK/journaled/customers.json"
python3 scripts/bench/gen_customers.py --journal "$N_HUGE" "$WORK/journaled/customers.json.journal"
rm -f "$WORK"/journaled/customers.json.versions
# The journal is as long as the data, so the first write starts a compaction.
start_server "$FILE_PORT" "$WORK/server-compaction.log" DATA_FILE="$WORK/journaled/customers.json" RUST_LOG=info
CURRENT_N=$N_HUGE
(sleep 0.3 && curl -s -o /dev/null -H 'Content-Type: application/json' \
  -d '{"customerID":"c00000000","firstName":"Starts","lastName":"Compaction"}' \
  "http://127.0.0.1:$FILE_PORT/set") &
TRIGGER_PID=$!
ours file_compaction_get 1 get "$CONC" "$COMPACT_S" /get/x "$FILE_PORT"
wait "$TRIGGER_PID"
for _ in $(seq 300); do
  grep -q 'journal compacted' "$WORK/server-compaction.log" && break
  sleep 0.1
done
compaction_ms=$(sed -n 's/.*ms=\([0-9]*\).*journal compacted.*/\1/p; s/.*journal compacted.*ms=\([0-9]*\).*/\1/p' "$WORK/server-compaction.log" | head -1)
[[ -n $compaction_ms ]] || die "the compaction did not finish (see $WORK/server-compaction.log)"
measure value compaction ours 1 "ms=$compaction_ms" "customers=$N_HUGE"
stop_server
CURRENT_N=$N_LARGE

# --- figure 10: TLS to Redis --------------------------------------------------------------

make_certs() { # make_certs DIR: a CA and a server certificate for 127.0.0.1 (EC P-256)
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=bench-ca -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=bench-redis \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
}

# One redis-server on a TLS port (no sentinels: TLS costs the same on every connection,
# and figures 1 and 2 measure the Sentinel path in plain text), through `rediss://`.
log "figure 10: GET /get/{id} and POST /set over TLS, against redis-benchmark --tls"
TLS_DIR=$WORK/tls
make_certs "$TLS_DIR"
redis-server --port 0 --tls-port "$TLS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --tls-cert-file "$TLS_DIR/server.crt" --tls-key-file "$TLS_DIR/server.key" \
  --tls-ca-cert-file "$TLS_DIR/ca.crt" --tls-auth-clients no --requirepass "$PASSWORD" \
  --dir "$TLS_DIR" >"$WORK/tls-redis.log" 2>&1 &
TLS_PID=$!
TLS_CLI=(--tls --cacert "$TLS_DIR/ca.crt" -h 127.0.0.1 -p "$TLS_PORT" -a "$PASSWORD")
until redis-cli "${TLS_CLI[@]}" --no-auth-warning ping >/dev/null 2>&1; do sleep 0.05; done
TLS_ENV=(REDIS_URL="rediss://127.0.0.1:$TLS_PORT" REDIS_PASSWORD="$PASSWORD" REDIS_TLS_CA_FILE="$TLS_DIR/ca.crt")
env "${TLS_ENV[@]}" "$SERVER_BIN" import "$WORK/customers-large.json" >>"$WORK/import.log" 2>&1 ||
  die "import over TLS failed (see $WORK/import.log)"
start_server "$APP_PORT" "$WORK/server-tls.log" "${TLS_ENV[@]}"
for rep in $(seq "$REPS"); do
  BENCH_REDIS_PID=$TLS_PID ours tls_set "$rep" set "$CONC" "$TPUT_S" /set
  measure redis tls_set raw "$rep" --pid redis="$TLS_PID" -- \
    redis-benchmark "${TLS_CLI[@]}" -c "$CONC" -n "$RB_REQUESTS" --csv -t set -r "$N_LARGE" -d 64 --dbnum 1
  BENCH_REDIS_PID=$TLS_PID ours tls_get "$rep" get "$CONC" "$TPUT_S" /get/x
  measure redis tls_get raw "$rep" --pid redis="$TLS_PID" -- \
    redis-benchmark "${TLS_CLI[@]}" -c "$CONC" -n "$RB_REQUESTS" --csv -t get -r "$N_LARGE" -d 64 --dbnum 1
done
stop_server
stop_tls_redis

# --- figure 7: failover, each repetition on a fresh topology ----------------------------

failover_rep() { # failover_rep FIGURE REP ACKS ARGS...: one disruption on a fresh topology
  local figure=$1 rep=$2 acks=$3
  shift 3
  topo_down
  start_topology
  env "${REDIS_ENV[@]}" "$SERVER_BIN" import "$WORK/customers-failover.json" >>"$WORK/import.log" 2>&1 ||
    die "import for $figure failed (see $WORK/import.log)"
  start_server "$APP_PORT" "$WORK/$figure-$rep.log" "${REDIS_ENV[@]}" REDIS_MIN_REPLICAS_ACK="$acks"
  python3 scripts/bench/failover.py "$RESULTS" "$rep" "$APP_PORT" "$MASTER_PID" \
    "$BASE_PORT,$((BASE_PORT + 1)),$((BASE_PORT + 2))" \
    --before "$FAILOVER_BEFORE_S" --figure "$figure" --master-port "$MASTER_PORT" \
    --replica-ports "$((MASTER_PORT + 1)),$((MASTER_PORT + 2))" --password "$PASSWORD" "$@"
  stop_server
}

# Once with the default REDIS_MIN_REPLICAS_ACK=0 (a write is acknowledged when the master
# has it) and once with 1 (when a replica has it too): a kill loses what the replicas lag.
for acks in 0 1; do
  figure=failover
  [[ $acks == 0 ]] || figure=failover_acked
  for rep in $(seq "$FAILOVER_REPS"); do
    log "figure 7: failover $rep of $FAILOVER_REPS (master SIGKILL, down-after ${DOWN_AFTER_MS} ms, REDIS_MIN_REPLICAS_ACK=$acks)"
    failover_rep "$figure" "$rep" "$acks"
  done
done

# --- figure 11: the Redis settings an operator chooses ---------------------------------
# REDIS_MIN_REPLICAS_ACK=1 throughout (no acknowledged write may be lost); what the
# settings change is how long writes stall, and whether they fail.

ops_cell() { # ops_cell NAME DISRUPTION DOWN_AFTER_MS SYNC_DELAY REPS GIVE_UP_S
  local name=$1 disruption=$2 reps=$5 give_up=$6 rep
  local DOWN_AFTER_MS=$3 SYNC_DELAY=$4 # seen by `topo`
  local label="$disruption, down-after-milliseconds $DOWN_AFTER_MS, repl-diskless-sync-delay $SYNC_DELAY"
  for rep in $(seq "$reps"); do
    log "figure 11: $label ($rep of $reps)"
    failover_rep "ops_$name" "$rep" 1 --disruption "$disruption" --label "$label" --give-up "$give_up"
  done
}
if [[ $MODE == full ]]; then
  ops_cell planned_delay0 failover 2000 0 2 30
  ops_cell planned_delay5 failover 2000 5 2 30
  ops_cell kill_delay5 kill 2000 5 2 30
  ops_cell kill_down30s kill 30000 0 1 60
else
  ops_cell planned_delay5 failover 2000 5 1 30
fi
topo_down

# --- the report ------------------------------------------------------------------------

BENCH_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
export BENCH_LOAD_END
# The settings, so the report can be rendered again from the same results:
#   (set -a; source target/bench/report.env; python3 scripts/bench/report.py target/bench/results.jsonl BENCHMARKS.md)
for var in "${!BENCH_@}"; do printf '%s=%q\n' "$var" "${!var}"; done >"$WORK/report.env"
python3 scripts/bench/report.py "$RESULTS" "$OUT"
log "wrote $OUT"
[[ $MODE == full ]] || echo "$OUT"
