#!/usr/bin/env bash
# Sets everything up, builds the release app and runs it. Without Redis settings it
# uses the embedded store in ./customers.json, seeded with the sample data if absent.
# Pass --sentinel to start a local Sentinel topology and run against it instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh

if [[ "${1:-}" == "--sentinel" ]]; then
  shift
  topology_env=$(scripts/redis-topology.sh start)
  eval "export $topology_env"
fi

cargo leptos build --release --precompress --split
if [[ -z "${REDIS_SENTINELS:-}${REDIS_URL:-}" ]]; then
  export DATA_FILE="${DATA_FILE:-./customers.json}"
  if [[ ! -e "$DATA_FILE" ]]; then
    cp tests/fixtures/customers.json "$DATA_FILE"
    echo "[run] seeded $DATA_FILE with the sample customers"
  fi
fi
exec "$SERVER_BIN" "$@"
