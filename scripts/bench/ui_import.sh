#!/usr/bin/env bash
# The import page's writes at 100,000 customers, on both stores: a CSV uploaded
# through `POST /import/upload`, started and followed through the page's server
# functions, as a browser does. Each store is measured three ways in one run:
#   - the page's import into an empty store (every row read, then created only
#     if its ID is still free),
#   - the same file again (every row read and found unchanged: nothing written),
#   - the baseline: `POST /import` of the same customers as JSON (the JSON
#     API's blind batched upsert) into another empty store.
# Writes the "Import page" section of BENCHMARKS.md (between its markers;
# `scripts/bench.sh` keeps it when it rewrites the file).
#
#   scripts/bench/ui_import.sh     about 2 minutes; needs the release build
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
unset LISTEN_ADDR DATA_FILE REDIS_SENTINELS REDIS_MASTER_NAME REDIS_URL REDIS_USERNAME \
  REDIS_PASSWORD REDIS_READ_FROM REDIS_KEY_PREFIX REDIS_MIN_REPLICAS_ACK USERS_FILE

N=${BENCH_UI_IMPORT_N:-100000}
BASE_PORT=${BENCH_BASE_PORT:-17779}
WORK=$PWD/target/bench-ui-import
source scripts/bench/topology.sh
if [[ $N == 100000 ]]; then OUT=$PWD/BENCHMARKS.md; else OUT=$(mktemp "${TMPDIR:-/tmp}/ui-import.XXXXXX.md"); fi
SERVER_BIN=${SERVER_BIN:-$CARGO_TARGET_DIR/release/customer-records}
[[ -x $SERVER_BIN ]] || { echo "ui_import: no release server at $SERVER_BIN" >&2; exit 1; }
BASE=http://127.0.0.1:$APP_PORT

log() { echo "[ui-import $(printf '%3d' "$SECONDS")s] $*" >&2; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# start_server ENV... : the server on $APP_PORT (no users file: protected mode
# serves this machine without sign-in), once ready.
start_server() {
  env "$@" "$SERVER_BIN" --listen "127.0.0.1:$APP_PORT" --users-file "$WORK/users.json" \
    >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  until [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz") == 200 ]]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$WORK/server.log" >&2; exit 1; }
    sleep 0.05
  done
}

# page_import: uploads the CSV, starts it, waits for the end; prints the
# report's JSON (its `seconds` are the server's own count of the writing).
page_import() {
  local location token report
  location=$(curl -s -o /dev/null -w '%{redirect_url}' -F "file=@$WORK/customers.csv;type=text/csv" \
    "$BASE/import/upload")
  token=${location##*upload=}
  [[ -n $token && $location == *upload=* ]] || { echo "ui_import: upload refused" >&2; exit 1; }
  curl -sf -o /dev/null -d "upload=$token" "$BASE/api/start_import" || [[ $? == 22 ]]
  while :; do
    report=$(curl -sf -d "upload=$token" "$BASE/api/import_report")
    python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["stage"] == "Running" else 1)' \
      <<<"$report" || break
    sleep 0.2
  done
  echo "$report"
}

# json_import: POST /import of the same customers; prints its milliseconds.
json_import() {
  local started
  started=$(now_ms)
  curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary "@$WORK/customers.json" \
    "$BASE/import"
  echo $(($(now_ms) - started))
}

rm -rf "$WORK" && mkdir -p "$WORK"
log "generating $N customers"
python3 scripts/bench/gen_customers.py "$N" "$WORK/customers.json"
python3 - "$WORK" <<'PY'
import csv, json, sys
work = sys.argv[1]
customers = json.load(open(f"{work}/customers.json"))
with open(f"{work}/customers.csv", "w", newline="") as out:
    rows = csv.writer(out)
    rows.writerow(["customerID", "firstName", "lastName"])
    for c in customers.values():
        rows.writerow([c["customerID"], c["firstName"], c["lastName"]])
PY
RESULTS=$WORK/results.jsonl
: >"$RESULTS"

for store in file redis; do
  if [[ $store == file ]]; then
    first=(DATA_FILE="$WORK/first.json") second=(DATA_FILE="$WORK/second.json")
  else
    log "starting the Sentinel topology (base port $BASE_PORT)"
    read -r -a REDIS_ENV <<<"$(topo start 2>>"$WORK/topology.log")"
    first=("${REDIS_ENV[@]}" REDIS_KEY_PREFIX=first:) second=("${REDIS_ENV[@]}" REDIS_KEY_PREFIX=second:)
  fi
  log "$store: the import page, into an empty store, then again"
  start_server "${first[@]}"
  created=$(page_import)
  again=$(page_import)
  stop_server
  log "$store: POST /import (the baseline), into another empty store"
  start_server "${second[@]}"
  json_ms=$(json_import)
  stop_server
  python3 - "$store" "$created" "$again" "$json_ms" >>"$RESULTS" <<'PY'
import json, sys
store, created, again, json_ms = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
print(json.dumps({"store": store, "created": created, "again": again, "json_ms": json_ms}))
PY
done

section=$(python3 - "$RESULTS" "$N" "$(date -u +%Y-%m-%d)" "$(git rev-parse --short HEAD)" <<'PY'
import json, sys
path, n, day, commit = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
runs = [json.loads(line) for line in open(path)]
names = {"file": "file (embedded)", "redis": "Redis (Sentinel: master, 2 replicas)"}
lines = [
    "<!-- ui-import:start -->",
    "## Import page",
    "",
    f"{n:,} customers as a CSV uploaded to the import page and imported (`scripts/bench/ui_import.sh`,",
    f"{day}, commit {commit}), on the 2-core machine; Redis as `scripts/redis-topology.sh` starts it",
    "(no persistence; the server's default `REDIS_MIN_REPLICAS_ACK=0`). The page writes each row only over what it read",
    "for it (32 rows in flight), so it reads before it writes; the baseline, measured in the same run,",
    "is the JSON API's `POST /import` of the same customers (a blind upsert, 256 per batch).",
    "",
    "| store | page: into an empty store | page: same file again (all unchanged) | baseline `POST /import` | page / baseline |",
    "|---|---|---|---|---|",
]
for run in runs:
    created, again = run["created"], run["again"]
    assert created["stage"] == "Finished" and created["created"] == n, created
    assert again["stage"] == "Finished" and again["unchanged"] == n, again
    rate = n / created["seconds"]
    again_rate = n / again["seconds"]
    base_rate = n / (run["json_ms"] / 1000)
    lines.append(
        f"| {names[run['store']]} | {created['seconds']:.1f} s ({rate:,.0f}/s) "
        f"| {again['seconds']:.1f} s ({again_rate:,.0f}/s) "
        f"| {run['json_ms'] / 1000:.1f} s ({base_rate:,.0f}/s) | {rate / base_rate:.2f} |"
    )
lines.append("<!-- ui-import:end -->")
print("\n".join(lines))
PY
)
python3 scripts/bench/put_section.py ui-import "$OUT" "$section"
log "written to $OUT"
echo "$section"
