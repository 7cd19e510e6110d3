#!/usr/bin/env bash
# A local Redis Sentinel topology for development: one password-protected master,
# two replicas and three sentinels, all on loopback, daemonized with pidfiles.
#
#   scripts/redis-topology.sh start    # (re)creates configs, starts, prints the app's env vars
#   scripts/redis-topology.sh status   # who runs, who is master, what the sentinels say
#   scripts/redis-topology.sh stop     # stops everything it started
#
# Environment (all optional):
#   BASE_PORT      first port (default 16379): sentinels BASE..BASE+2,
#                  master BASE+3, replicas BASE+4 and BASE+5
#   DOWN_AFTER_MS  sentinel down-after-milliseconds (default 2000)
#   SYNC_DELAY     repl-diskless-sync-delay of the data nodes, in seconds (default 0;
#                  Redis's own default is 5: see the README's Redis settings)
#   TOPOLOGY_DIR   configs, logs, pidfiles and data (default ./target/redis-topology)
#   MASTER_NAME    (default mymaster)   REDIS_PASSWORD (default dev-secret)
#
# Data is not persisted: every `start` begins with an empty master, so the
# configured roles always hold (after a failover a stale replica could otherwise
# come back as master with old data).
set -euo pipefail

BASE_PORT=${BASE_PORT:-16379}
DOWN_AFTER_MS=${DOWN_AFTER_MS:-2000}
SYNC_DELAY=${SYNC_DELAY:-0}
TOPOLOGY_DIR=${TOPOLOGY_DIR:-./target/redis-topology}
MASTER_NAME=${MASTER_NAME:-mymaster}
REDIS_PASSWORD=${REDIS_PASSWORD:-dev-secret}

SENTINEL_PORTS=("$BASE_PORT" "$((BASE_PORT + 1))" "$((BASE_PORT + 2))")
MASTER_PORT=$((BASE_PORT + 3))
REPLICA_PORTS=("$((BASE_PORT + 4))" "$((BASE_PORT + 5))")
DATA_PORTS=("$MASTER_PORT" "${REPLICA_PORTS[@]}")

die() { echo "redis-topology: $*" >&2; exit 1; }

ensure_installed() {
  command -v redis-server >/dev/null && return
  echo "redis-server not found; installing redis-server and redis-sentinel" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y redis-server redis-sentinel
}

cli() { # cli PORT ARGS... (data nodes need the password, sentinels do not)
  local port=$1; shift
  local auth=()
  [[ " ${DATA_PORTS[*]} " == *" $port "* ]] && auth=(-a "$REDIS_PASSWORD" --no-auth-warning)
  redis-cli -h 127.0.0.1 -p "$port" "${auth[@]}" "$@" 2>/dev/null
}

pid_of() { # pid_of PORT: the pid from the node's pidfile, if that process lives
  local file="$TOPOLOGY_DIR/$1/redis.pid"
  [ -f "$file" ] || return 1
  local pid
  pid=$(cat "$file")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

running_any() {
  local port
  for port in "${DATA_PORTS[@]}" "${SENTINEL_PORTS[@]}"; do
    pid_of "$port" >/dev/null && return 0
  done
  return 1
}

write_data_conf() { # write_data_conf PORT [MASTER_PORT]
  local port=$1 dir="$TOPOLOGY_DIR/$1"
  mkdir -p "$dir"
  rm -f "$dir"/*.rdb "$dir"/*.aof
  {
    echo "port $port"
    echo "bind 127.0.0.1"
    echo "daemonize yes"
    echo "pidfile $dir/redis.pid"
    echo "logfile $dir/redis.log"
    echo "dir $dir"
    echo "requirepass $REDIS_PASSWORD"
    echo "masterauth $REDIS_PASSWORD"
    echo 'save ""'
    echo "appendonly no"
    echo "repl-diskless-sync yes"
    echo "repl-diskless-sync-delay $SYNC_DELAY"
    if [ $# -ge 2 ]; then echo "replicaof 127.0.0.1 $2"; fi
  } >"$dir/redis.conf"
}

write_sentinel_conf() { # write_sentinel_conf PORT (sentinels rewrite this file as they learn)
  local port=$1 dir="$TOPOLOGY_DIR/$1"
  mkdir -p "$dir"
  cat >"$dir/sentinel.conf" <<EOF
port $port
bind 127.0.0.1
daemonize yes
pidfile $dir/redis.pid
logfile $dir/sentinel.log
dir $dir
sentinel monitor $MASTER_NAME 127.0.0.1 $MASTER_PORT 2
sentinel auth-pass $MASTER_NAME $REDIS_PASSWORD
sentinel down-after-milliseconds $MASTER_NAME $DOWN_AFTER_MS
sentinel failover-timeout $MASTER_NAME 10000
sentinel parallel-syncs $MASTER_NAME 1
EOF
}

wait_until() { # wait_until SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2; shift 2
  local tries=$((seconds * 10))
  until "$@"; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || die "timed out waiting for $what (logs in $TOPOLOGY_DIR)"
    sleep 0.1
  done
}

replica_linked() { cli "$1" info replication | grep -q '^master_link_status:up'; }
sentinel_ready() { # knows the master and both replicas
  cli "$1" sentinel get-master-addr-by-name "$MASTER_NAME" | grep -q . &&
    [ "$(cli "$1" sentinel replicas "$MASTER_NAME" | grep -c '^name$')" -ge 2 ]
}

print_env() {
  local list="" port
  for port in "${SENTINEL_PORTS[@]}"; do list="${list:+$list,}127.0.0.1:$port"; done
  echo "REDIS_SENTINELS=$list REDIS_MASTER_NAME=$MASTER_NAME REDIS_PASSWORD=$REDIS_PASSWORD"
}

start() {
  ensure_installed
  running_any && die "already running (see '$0 status'; '$0 stop' first)"
  mkdir -p "$TOPOLOGY_DIR"
  TOPOLOGY_DIR=$(cd "$TOPOLOGY_DIR" && pwd) # the servers chdir; pidfiles need absolute paths
  write_data_conf "$MASTER_PORT"
  local port
  for port in "${REPLICA_PORTS[@]}"; do write_data_conf "$port" "$MASTER_PORT"; done
  for port in "${SENTINEL_PORTS[@]}"; do write_sentinel_conf "$port"; done

  for port in "${DATA_PORTS[@]}"; do redis-server "$TOPOLOGY_DIR/$port/redis.conf"; done
  for port in "${DATA_PORTS[@]}"; do
    wait_until 10 "redis on $port" sh -c "[ \"\$(redis-cli -p $port -a '$REDIS_PASSWORD' --no-auth-warning ping 2>/dev/null)\" = PONG ]"
  done
  for port in "${REPLICA_PORTS[@]}"; do wait_until 20 "replica $port to sync" replica_linked "$port"; done
  for port in "${SENTINEL_PORTS[@]}"; do redis-sentinel "$TOPOLOGY_DIR/$port/sentinel.conf"; done
  for port in "${SENTINEL_PORTS[@]}"; do wait_until 20 "sentinel $port" sentinel_ready "$port"; done

  echo "master 127.0.0.1:$MASTER_PORT, replicas ${REPLICA_PORTS[*]}, sentinels ${SENTINEL_PORTS[*]} (dir $TOPOLOGY_DIR)" >&2
  print_env
}

stop() {
  local port pid stopped=0
  # Sentinels first, so they do not fail over while the data nodes go down.
  for port in "${SENTINEL_PORTS[@]}" "${DATA_PORTS[@]}"; do
    pid=$(pid_of "$port") || continue
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    rm -f "$TOPOLOGY_DIR/$port/redis.pid"
    stopped=$((stopped + 1))
  done
  echo "stopped $stopped processes" >&2
}

status() {
  local port pid
  for port in "${DATA_PORTS[@]}"; do
    if pid=$(pid_of "$port"); then
      echo "redis    127.0.0.1:$port pid $pid role $(cli "$port" role | head -1)"
    else
      echo "redis    127.0.0.1:$port down"
    fi
  done
  for port in "${SENTINEL_PORTS[@]}"; do
    if pid=$(pid_of "$port"); then
      local master
      master=$(cli "$port" sentinel get-master-addr-by-name "$MASTER_NAME" | paste -sd: -)
      echo "sentinel 127.0.0.1:$port pid $pid says master ${master:-unknown}"
    else
      echo "sentinel 127.0.0.1:$port down"
    fi
  done
  print_env
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
