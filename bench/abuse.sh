#!/usr/bin/env bash
# Issue 18: does a well-behaved client keep its latency while other clients misbehave?
#
# Every row starts a fresh Arbiter pinned to one core (SERVER_CPU) and runs `arbiter bench`
# pinned to the other (LOAD_CPU): the well-behaved workload (ROOMS rooms of CLIENTS players,
# each acting every INTERVAL ms, on `arbiter bench`'s default schedule) alone, then beside each
# kind of hostile connection (`--abuse KIND`, which runs for the whole warm-up and window and
# stops by itself). Decoy rows send the same abuse to a second server on the generator's core
# (under SCHED_IDLE, like the generator's abuse thread) instead of the server under test: the server
# under test then sees only the well-behaved load, so what is left of the latency is what the
# flood costs the generator's core itself. The set runs RUNS times (a target counts as met when
# it is met in every run); each run starts and ends with an unloaded row, and every ratio is to
# that run's first one. All traffic goes to 127.0.0.1; every loop is bounded in count and every
# step in time. Reports (JSON, one per row) land in $OUT/run<N>/; the tables at the end come
# from `arbiter bench --compare`.
#
#   bench/abuse.sh                     # 2 runs of every row (~12 minutes)
#   QUICK=1 bench/abuse.sh             # 1 run, shorter windows (~4 minutes)
#   KINDS=act-flood,junk bench/abuse.sh
#   DECOY=0 bench/abuse.sh             # without the decoy rows
#
# Limits. The server runs with its DEFAULT limits — rate limits on — with one change: it trusts
# 127.0.0.1 as a proxy (ARBITER_TRUSTED_PROXIES), and `arbiter bench --forwarded-for` gives
# every connection an X-Forwarded-For address of its own (10.0.0.0/8). Every client of the
# generator comes from 127.0.0.1, so without this the per-address limit (256 connections)
# would refuse most of them; with it that limit stays on and counts each client apart. The
# other connection limits need no change: every generator connection is its own guest (an
# abuser reconnects with its own token, never more than a few connections at once), the
# 3,500 sockets of the largest row are far below the node's 50,000, and each well-behaved
# client creates one room (join-flood abusers run into the 16 rooms per player: that is the
# defence at work). Rates, strikes, header and hello timeouts, sizes: all defaults.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  WARMUP=${WARMUP:-3}; DURATION=${DURATION:-8}; RUNS=${RUNS:-1}
else
  # Long enough for two cycles of the 10 s header and hello timeouts (slowloris).
  WARMUP=${WARMUP:-5}; DURATION=${DURATION:-15}; RUNS=${RUNS:-2}
fi
ROOMS=${ROOMS:-50}
CLIENTS=${CLIENTS:-4}
INTERVAL=${INTERVAL:-100}
KINDS=${KINDS:-act-flood,chat-flood,join-flood,other-flood,junk,slowloris,conn-churn}
DECOY=${DECOY:-1}
APORT=${APORT:-17880}
DPORT=${DPORT:-17881}
OUT=${OUT:-$ROOT/target/bench-abuse/$(date -u +%Y%m%dT%H%M%SZ)}
ROW_TIMEOUT=${ROW_TIMEOUT:-120}

# Whatever limits the caller's environment sets, this benchmark runs with the defaults.
for v in $(compgen -e | grep '^ARBITER_' || true); do unset "$v"; done
export ARBITER_TRUSTED_PROXIES=127.0.0.1
mkdir -p "$OUT"

log() { printf '\n== %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# 3,000 slowloris sockets and their silent WebSockets need as many descriptors on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt 4000 ]; then
  echo "abuse.sh: needs 4,000 open files per process (ulimit -n is $(ulimit -n))" >&2
  exit 1
fi
if [ "$(nproc)" -lt 2 ]; then
  echo "abuse.sh: needs 2 CPUs (server on one, load on the other)" >&2
  exit 1
fi

log "building (cargo build --release -p arbiter-server)"
cargo build --release -p arbiter-server >&2
ARBITER=$ROOT/target/release/arbiter

for port in "$APORT" "$DPORT"; do
  if port_open "$port"; then
    echo "abuse.sh: 127.0.0.1:$port is already taken; set APORT/DPORT" >&2
    exit 1
  fi
done

SERVER_PID=
DECOY_PID=
DIRS=()
stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
stop_servers() {
  stop_pid "$SERVER_PID"; SERVER_PID=
  stop_pid "$DECOY_PID"; DECOY_PID=
  if [ ${#DIRS[@]} -gt 0 ]; then rm -rf "${DIRS[@]}"; DIRS=(); fi
}
trap stop_servers EXIT INT TERM

# Wait until the server just started (pid $1) listens on port $2.
wait_port() {
  local pid=$1 port=$2
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "abuse.sh: the server exited at start (logs in $OUT)" >&2
      return 1
    fi
    if port_open "$port"; then return 0; fi
    sleep 0.1
  done
  echo "abuse.sh: nothing listens on 127.0.0.1:$port after 10 s" >&2
  return 1
}

# start_server PORT LOG [priority+cpu prefix…]: a fresh in-memory server, its pid in STARTED.
STARTED=
start_server() {
  local port=$1 logfile=$2; shift 2
  local dir; dir=$(mktemp -d)
  DIRS+=("$dir")
  "$@" "$ARBITER" serve --listen "127.0.0.1:$port" --data-dir "$dir" --database-url memory \
    --log warn >"$logfile" 2>&1 &
  STARTED=$!
}

W=(--rooms "$ROOMS" --clients "$CLIENTS" --interval-ms "$INTERVAL" --warmup "$WARMUP" --duration "$DURATION")

# row RUNDIR NAME LABEL [decoy] [bench flags…]
row() {
  local dir=$1 name=$2 label=$3; shift 3
  local decoy=0
  if [ "${1:-}" = decoy ]; then decoy=1; shift; fi
  local json="$dir/$name.json"
  start_server "$APORT" "$dir/$name.server.log" taskset -c "$SERVER_CPU"
  SERVER_PID=$STARTED
  wait_port "$SERVER_PID" "$APORT"
  local extra=()
  if [ "$decoy" = 1 ]; then
    start_server "$DPORT" "$dir/$name.decoy.log" chrt --idle 0 taskset -c "$LOAD_CPU"
    DECOY_PID=$STARTED
    wait_port "$DECOY_PID" "$DPORT"
    extra=(--abuse-url "ws://127.0.0.1:$DPORT/ws")
  fi
  sleep 0.5
  log "$name ($label): $*"
  local rc=0
  timeout "$ROW_TIMEOUT" taskset -c "$LOAD_CPU" "$ARBITER" bench --url "ws://127.0.0.1:$APORT/ws" \
    --server-pid "$SERVER_PID" --label "$label" --json "$json" --forwarded-for "${W[@]}" \
    "${extra[@]}" "$@" >"$dir/$name.txt" 2>&1 || rc=$?
  stop_servers
  if [ "$rc" != 0 ]; then
    echo "abuse.sh: row $name failed (exit $rc; see $dir/$name.txt)" >&2
    rm -f "$json"
  fi
  return 0
}

IFS=, read -r -a kinds <<<"$KINDS"
for run in $(seq 1 "$RUNS"); do
  dir=$OUT/run$run
  mkdir -p "$dir"
  # Files are numbered in the order the rows ran, which is the order of the tables.
  i=1
  row "$dir" 01-unloaded unloaded
  for kind in "${kinds[@]}"; do
    i=$((i + 1)); row "$dir" "$(printf %02d $i)-$kind" "$kind" --abuse "$kind"
  done
  if [ "$DECOY" = 1 ]; then
    for kind in "${kinds[@]}"; do
      i=$((i + 1)); row "$dir" "$(printf %02d $i)-decoy-$kind" "decoy $kind" decoy --abuse "$kind"
    done
  fi
  i=$((i + 1)); row "$dir" "$(printf %02d $i)-unloaded-again" "unloaded again"
done

# ratio RUNDIR LABEL: ack p99 of the row over the run's first unloaded row ("-" if missing).
ratio() {
  local base row
  base=$(jq -r '.ack_latency.p99_ms' "$1"/01-unloaded.json 2>/dev/null || echo 0)
  row=$(jq -r --arg l "$2" 'select(.label == $l) | .ack_latency.p99_ms' "$1"/*.json 2>/dev/null || true)
  if [ -z "$row" ] || [ "$base" = 0 ]; then echo -; return; fi
  awk -v r="$row" -v b="$base" 'BEGIN { printf "%.2f", r / b }'
}

{
  echo "# Issue 18, a well-behaved client under floods — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, server on CPU $SERVER_CPU, load on CPU $LOAD_CPU"
  echo "# well-behaved: $ROOMS rooms x $CLIENTS players acting every $INTERVAL ms ($((ROOMS * CLIENTS * 1000 / INTERVAL)) actions/s), schedule: arbiter bench's default (player i of n first acts at i/n x T); warm-up $WARMUP s, window $DURATION s"
  echo "# server: default limits, trusted_proxies 127.0.0.1, every generator connection with an X-Forwarded-For address of its own"
  echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  for run in $(seq 1 "$RUNS"); do
    shopt -s nullglob
    files=("$OUT/run$run"/*.json)
    [ ${#files[@]} -eq 0 ] && continue
    echo
    echo "## run $run"
    "$ARBITER" bench --compare "${files[@]}"
  done
  echo
  echo "## ack p99 over the run's unloaded ack p99 (target: at most 2)"
  header="row"
  for run in $(seq 1 "$RUNS"); do header="$header | run $run"; done
  echo "$header | met in every run"
  labels=("unloaded again")
  for kind in "${kinds[@]}"; do labels+=("$kind"); done
  if [ "$DECOY" = 1 ]; then for kind in "${kinds[@]}"; do labels+=("decoy $kind"); done; fi
  for label in "${labels[@]}"; do
    line="$label" met=yes
    for run in $(seq 1 "$RUNS"); do
      r=$(ratio "$OUT/run$run" "$label")
      line="$line | $r"
      if [ "$r" = - ] || awk -v r="$r" 'BEGIN { exit !(r > 2) }'; then met=no; fi
    done
    echo "$line | $met"
  done
} | tee "$OUT/summary.txt"
echo "(reports: $OUT)" >&2
