#!/usr/bin/env bash
# Runs the network-partition matrix (server/tests/partition.rs, `partition_matrix`)
# and writes its table into RELIABILITY.md, between the markers
# `partition-matrix-<down-after>:start` and `:end` (2000 and 30000 are there).
#
#   scripts/partition-matrix.sh     3 repetitions of each case, the sentinels'
#                                   down-after-milliseconds 2000; about 6 minutes
#   PARTITION_REPEAT=1 PARTITION_DOWN_AFTER_MS=30000 scripts/partition-matrix.sh
#                                   Redis's default down-after; about 8 minutes
#
# Needs root and iproute2 (network namespaces), redis-server and redis-sentinel, as
# the tests do.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

case "${1:-}" in
  "") ;;
  -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0" >&2; exit 2 ;;
esac

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --release -p server --test partition partition_matrix -- --ignored --nocapture \
  | tee "$log"
grep -q '^partition matrix' "$log" || { echo "no matrix in the output" >&2; exit 1; }

python3 - "$log" "${PARTITION_DOWN_AFTER_MS:-2000}" <<'PY'
import re, sys, datetime
out = open(sys.argv[1]).read()
down_after = sys.argv[2]
head = re.search(r"^partition matrix, (.*):$", out, re.M).group(1)
rows = [line for line in out.splitlines() if line.startswith("| ")]
table = "\n".join([
    f"Measured {datetime.date.today()}, {head}.",
    "",
    "| application | servers | `REDIS_MIN_REPLICAS_ACK` | writes acknowledged | errors | slowest write | acknowledged writes lost (each run) |",
    "|---|---|---|---|---|---|---|",
    *rows,
])
path = "RELIABILITY.md"
text = open(path).read()
start = f"<!-- partition-matrix-{down_after}:start -->"
end = f"<!-- partition-matrix-{down_after}:end -->"
if start not in text:
    sys.exit(f"{path} has no {start} section")
before, rest = text.split(start, 1)
_, after = rest.split(end, 1)
open(path, "w").write(f"{before}{start}\n{table}\n{end}{after}")
print(f"wrote {len(rows)} rows to {path}")
PY
