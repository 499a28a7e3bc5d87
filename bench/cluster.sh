#!/usr/bin/env bash
# Arbiter's cluster mode (issue 16) under `arbiter bench`: 3 nodes sharing one PostgreSQL
# database and one Redis, against one node (no Redis) on the same PostgreSQL.
#
# The script starts its own redis-server on a free port (the machine's shared Redis is never
# touched) and, for every row, a fresh PostgreSQL database and fresh release-build servers,
# so no row inherits the rooms of another (cluster nodes take over any live room of their
# database that has no lease). Rows run as single, cluster for each rate. The bench spreads
# a cluster row's rooms over the 3 URLs: room i is created through node i mod 3 (its owner),
# its player j connects through node (i + j) mod 3; with 4 players, 2 reach the owner
# directly (same-node) and 2 through another node (cross-node). Nothing is pinned to a core:
# 3 nodes, Redis, PostgreSQL and the generator share the machine's cores.
#
# A trap stops every process the script started and drops every database it created.
#
#   bench/cluster.sh
#   RATES="30:100 60:50" DURATION=5 bench/cluster.sh   # rooms:interval_ms pairs
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

WARMUP=${WARMUP:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-4}
# rooms:interval_ms; with 4 players: 1,200, 2,400 and 4,800 actions/s offered.
RATES=${RATES:-30:100 60:100 60:50}
NODES=${NODES:-3}
LEASE_MS=${LEASE_MS:-3000}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
ROW_TIMEOUT=${ROW_TIMEOUT:-120}
# The load generator is one address opening thousands of connections, each acting faster
# than a person: lift the limits a public server keeps on its clients (docs/security.md).
export ARBITER_RATE_ACT=off ARBITER_RATE_CHAT=off ARBITER_RATE_JOIN=off ARBITER_RATE_OTHER=off
export ARBITER_RATE_STRIKES=off ARBITER_RATE_READ_KIB=off ARBITER_RATE_HTTP=off ARBITER_RATE_CONNECT=off ARBITER_MAX_CONNECTIONS=1000000
export ARBITER_MAX_CONNECTIONS_PER_IP=1000000 ARBITER_MAX_CONNECTIONS_PER_PLAYER=1000000
export ARBITER_MAX_ROOMS_PER_PLAYER=1000000
OUT=${OUT:-$ROOT/target/bench-cluster/$(date -u +%Y%m%dT%H%M%SZ)}
TAG=arbiter_bench_$$
SECRET=cluster-bench-secret-$$-$RANDOM$RANDOM
mkdir -p "$OUT"

log() { printf '\n== %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
psql_admin() { psql "$PG/postgres" -v ON_ERROR_STOP=1 -qAtc "$1"; }

PIDS=()
DATABASES=()
TMPDIRS=()
REDIS_PID=

# Stop the given pids: SIGTERM, up to 5 s, then SIGKILL.
stop_pids() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "$@"; do
    if kill -0 "$pid" 2>/dev/null; then
      echo "cluster.sh: pid $pid ignored SIGTERM for 5 s; killed" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}

stop_servers() {
  if [ ${#PIDS[@]} -gt 0 ]; then stop_pids "${PIDS[@]}"; fi
  PIDS=()
  local d
  for d in "${DATABASES[@]}"; do psql_admin "DROP DATABASE IF EXISTS $d WITH (FORCE)" || true; done
  DATABASES=()
  for d in "${TMPDIRS[@]}"; do rm -rf "$d"; done
  TMPDIRS=()
}

cleanup() {
  stop_servers
  if [ -n "$REDIS_PID" ]; then stop_pids "$REDIS_PID"; REDIS_PID=; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building (cargo build --release -p arbiter-server)"
  cargo build --release -p arbiter-server >&2
fi
ARBITER=$ROOT/target/release/arbiter

# A free port at or above $1.
free_port() {
  local p=$1
  while port_open "$p"; do p=$((p + 1)); done
  echo "$p"
}

REDIS_PORT=$(free_port $((20000 + RANDOM % 20000)))
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  >"$OUT/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 50); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "cluster.sh: redis-server did not start" >&2; exit 1; }
log "redis-server on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID); reports in $OUT"

# start_node NAME DB [cluster args…]: start a server, wait for its address, append its URL
# to URLS. (Not in a $(…) subshell: the pid must reach PIDS for the trap.)
start_node() {
  local name=$1 db=$2; shift 2
  local dir
  dir=$(mktemp -d)
  TMPDIRS+=("$dir")
  # Created here: the server opens it after the fork, maybe after the first look below.
  : >"$OUT/$name.log"
  "$ARBITER" serve --listen 127.0.0.1:0 --data-dir "$dir" --database-url "$PG/$db" \
    --secret "$SECRET" --log warn "$@" >"$OUT/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 150); do
    local addr
    addr=$(sed -n 's|^Arbiter is listening on http://\([^/]*\)/.*|\1|p' "$OUT/$name.log" | head -1)
    if [ -n "$addr" ]; then
      URLS+=("ws://$addr/ws")
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "cluster.sh: $name did not start (log: $OUT/$name.log)" >&2
  return 1
}

# CPU ticks (user + system, 1/100 s) a process has used: fields 14 and 15 of its stat.
cpu_ticks() {
  local stat
  read -r stat <"/proc/$1/stat"
  # shellcheck disable=SC2086
  set -- ${stat##*) }
  echo $(( ${12} + ${13} ))
}

# new_db NAME: create a database, recorded in DATABASES (dropped by the trap), named in DB.
new_db() {
  DB=${TAG}_${1//-/_}
  DATABASES+=("$DB")
  psql_admin "CREATE DATABASE $DB"
}

# local NAME ROOMS INTERVAL_MS: the cluster with every client on its room's owner, so nothing
# is routed: one `arbiter bench` per node, ROOMS/NODES rooms each, all at once. Against the
# cluster row this isolates routing from spreading the load over 3 processes.
local_row() {
  local name=$1 rooms=$2 interval=$3 i
  new_db "$name"
  URLS=()
  for i in $(seq 1 "$NODES"); do
    start_node "$name-node$i" "$DB" --redis "redis://127.0.0.1:$REDIS_PORT" \
      --redis-prefix "$TAG$name" --lease-ms "$LEASE_MS" --node-id "n$i"
  done
  sleep 1
  log "$name: $NODES × arbiter bench --label local-nI -R $((rooms / NODES)) -C $CLIENTS -T $interval --warmup $WARMUP -D $DURATION --url (node I)"
  local benches=()
  for i in $(seq 1 "$NODES"); do
    timeout "$ROW_TIMEOUT" "$ARBITER" bench --label "local-n$i" -R $((rooms / NODES)) -C "$CLIENTS" \
      -T "$interval" --warmup "$WARMUP" -D "$DURATION" --json "$OUT/$name-n$i.json" \
      --url "${URLS[$((i - 1))]}" >"$OUT/$name-n$i.txt" 2>&1 &
    benches+=($!)
    PIDS+=($!)
  done
  for i in "${benches[@]}"; do wait "$i" || echo "cluster.sh: a bench of $name failed" >&2; done
  stop_servers
  grep -hE 'WARN|ERROR' "$OUT/$name"-node*.log >"$OUT/$name-warnings.txt" 2>/dev/null || true
}

# start_nodes NAME single|cluster: a fresh database and one node, or NODES cluster nodes.
start_nodes() {
  local name=$1 mode=$2 i
  new_db "$name"
  URLS=()
  if [ "$mode" = single ]; then
    start_node "$name-node" "$DB"
  else
    for i in $(seq 1 "$NODES"); do
      start_node "$name-node$i" "$DB" --redis "redis://127.0.0.1:$REDIS_PORT" \
        --redis-prefix "$TAG$name" --lease-ms "$LEASE_MS" --node-id "n$i"
    done
  fi
}

# row NAME single|cluster ROOMS INTERVAL_MS
row() {
  local name=$1 mode=$2 rooms=$3 interval=$4
  local i url
  start_nodes "$name" "$mode"
  sleep 1
  local args=(--label "$mode" -R "$rooms" -C "$CLIENTS" -T "$interval"
    --warmup "$WARMUP" -D "$DURATION" --json "$OUT/$name.json")
  for url in "${URLS[@]}"; do args+=(--url "$url"); done
  log "$name: arbiter bench ${args[*]}"
  local rc=0 redis_before
  redis_before=$(cpu_ticks "$REDIS_PID")
  timeout "$ROW_TIMEOUT" "$ARBITER" bench "${args[@]}" >&2 || rc=$?
  [ "$rc" = 0 ] || echo "cluster.sh: row $name failed (exit $rc)" >&2
  if [ "$mode" = cluster ] && [ -f "$OUT/$name.json" ]; then
    # The bus's cost in Redis, over the whole bench (setup and warm-up included, so per ack
    # of the whole bench rather than of the window).
    local ticks acks
    ticks=$(( $(cpu_ticks "$REDIS_PID") - redis_before ))
    acks=$(jq -r .acks "$OUT/$name.json")
    awk -v t="$ticks" -v a="$acks" 'BEGIN { printf "redis-server: %.2f s CPU over the bench, %.1f µs per action (%d acks)\n", t / 100, (a > 0 ? t * 1e4 / a : 0), a }' \
      | tee "$OUT/$name-redis.txt" >&2
  fi
  if [ "$mode" = cluster ]; then
    local api=${URLS[0]#ws://}
    curl -fsS "http://${api%/ws}/api/v1/cluster" >"$OUT/$name-cluster.json" 2>/dev/null || true
  fi
  stop_servers
  # What the servers said at warn level or above, for the summary.
  grep -hE 'WARN|ERROR' "$OUT/$name"-node*.log >"$OUT/$name-warnings.txt" 2>/dev/null || true
  return 0
}

# idle NAME single|cluster: the servers' CPU with no client at all, over DURATION seconds
# (what a node spends on its own: heartbeats, lease renewals, sweeps).
idle() {
  local name=$1 mode=$2 i pid
  start_nodes "$name" "$mode"
  local watched=("${PIDS[@]}")
  [ "$mode" = cluster ] && watched+=("$REDIS_PID")
  sleep 2
  local before=() after=()
  for pid in "${watched[@]}"; do before+=("$(cpu_ticks "$pid")"); done
  sleep "$DURATION"
  for pid in "${watched[@]}"; do after+=("$(cpu_ticks "$pid")"); done
  {
    printf '%s, no clients, %s s:' "$mode" "$DURATION"
    for i in "${!watched[@]}"; do
      local who=node
      [ "${watched[$i]}" = "$REDIS_PID" ] && who=redis
      awk -v w="$who" -v t=$(( after[i] - before[i] )) -v d="$DURATION" \
        'BEGIN { printf " %s %.1f%%", w, t / d }'
    done
    echo " (of one core)"
  } | tee "$OUT/$name.txt" >&2
  stop_servers
}

idle idle-single single
idle idle-cluster cluster
for rate in $RATES; do
  rooms=${rate%%:*} interval=${rate##*:}
  row "single-r$rooms-t$interval" single "$rooms" "$interval"
  row "cluster-r$rooms-t$interval" cluster "$rooms" "$interval"
  local_row "local-r$rooms-t$interval" "$rooms" "$interval"
done

shopt -s nullglob
files=("$OUT"/*.json)
reports=()
for f in "${files[@]}"; do [[ $f == *-cluster.json || $f == */local-* ]] || reports+=("$f"); done
if [ ${#reports[@]} -eq 0 ]; then
  echo "cluster.sh: no row produced a report" >&2
  exit 1
fi
{
  echo "# Arbiter cluster bench — $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD), $(nproc) CPUs, nothing pinned"
  echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  cat "$OUT"/idle-*.txt 2>/dev/null || true
  for rate in $RATES; do
    rooms=${rate%%:*} interval=${rate##*:}
    echo
    echo "## $rooms rooms x $CLIENTS players every $interval ms"
    rf=()
    for m in single cluster; do
      f="$OUT/$m-r$rooms-t$interval.json"
      [ -f "$f" ] && rf+=("$f")
    done
    rf+=("$OUT/local-r$rooms-t$interval"-n*.json)
    [ ${#rf[@]} -gt 0 ] && "$ARBITER" bench --compare "${rf[@]}"
    lf=("$OUT/local-r$rooms-t$interval"-n*.json)
    if [ ${#lf[@]} -gt 0 ]; then
      jq -s -r '"local (every client on its owner, \(length) benches): \(map(.actions_per_s) | add | floor) actions/s, server \((map(.server.cpu_us_per_action * .actions_per_s) | add) / (map(.actions_per_s) | add) * 10 | round / 10) µs per action over all nodes"' "${lf[@]}"
    fi
    r="$OUT/cluster-r$rooms-t$interval-redis.txt"
    [ -s "$r" ] && cat "$r"
    w="$OUT/cluster-r$rooms-t$interval-warnings.txt"
    if [ -s "$w" ]; then
      echo "server warnings (cluster): $(wc -l <"$w") lines, first: $(head -1 "$w")"
    fi
    c="$OUT/cluster-r$rooms-t$interval-cluster.json"
    if [ -s "$c" ]; then
      echo "GET /api/v1/cluster at the end: $(jq -c '{nodes: [.nodes[]? | {id, rooms}], leases: ((.leases // []) | group_by(.node) | map({key: .[0].node, value: length}) | from_entries), fences: ([.leases[]?.fence] | unique)}' "$c" 2>/dev/null || head -c 300 "$c")"
    fi
  done
} | tee "$OUT/summary.txt"
echo "(reports: $OUT)" >&2
