# Sourced by the benchmark scripts that run their own Sentinel topology and one
# server at a time (million.sh, ui_import.sh, layers_ab.sh). Expects BASE_PORT
# and WORK (the script's own folder); whoever starts the server sets SERVER_PID.
#
# The layout, as scripts/redis-topology.sh lays it out from BASE_PORT: sentinels
# at +0..+2, the master at +3 (MASTER_PORT), replicas at +4 and +5; the app at
# +10 (APP_PORT). The topology lives in $WORK/topology (TOPO_DIR).
#
#   topo start|stop|status   scripts/redis-topology.sh on those settings
#   stop_server              stops the server started last, if any, and waits for it
#
# On exit, for any reason, the server and the topology are stopped.

APP_PORT=$((BASE_PORT + 10))
MASTER_PORT=$((BASE_PORT + 3))
PASSWORD=bench-secret
TOPO_DIR=$WORK/topology

topo() {
  BASE_PORT=$BASE_PORT TOPOLOGY_DIR=$TOPO_DIR REDIS_PASSWORD=$PASSWORD scripts/redis-topology.sh "$@"
}

SERVER_PID=""
stop_server() {
  [[ -z $SERVER_PID ]] || { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
  SERVER_PID=""
}

bench_cleanup() { stop_server; topo stop >/dev/null 2>&1 || true; }
trap bench_cleanup EXIT
