#!/usr/bin/env bash
# Arbiter and Colyseus 0.18 side by side, in one run, on this machine, against what the machine
# allows: the target, knee and fan-out sections also run `bare` (target/release/arbiter-bare,
# crates/bench/src/bare.rs), a minimal WebSocket broadcast server with no game engine that
# speaks enough of Arbiter's protocol for `arbiter bench` (a counter, each patch encoded once
# and written to every member by the task that read the action). Those sections' tables end
# with every row's CPU per action, and each server's knee, as a fraction of bare's on the same
# workload (`arbiter bench --compare --reference bare`).
#
# Every row starts a fresh server pinned to one core (SERVER_CPU) and runs the load generator
# pinned to the other (LOAD_CPU): `arbiter bench` for Arbiter and bare, bench/colyseus/loadgen.js
# (the official @colyseus/sdk client) for Colyseus. All traffic goes to 127.0.0.1; every loop is
# bounded in count and every step in time. Reports (JSON, one per row) land in $OUT; the
# tables at the end come from `arbiter bench --compare`.
#
#   bench/compare.sh                 # everything (~10 minutes)
#   QUICK=1 bench/compare.sh         # shorter windows and fewer rows (~3 minutes)
#   ONLY=act,fanout bench/compare.sh # some sections: target, knee, fanout, durability, join, idle,
#                                    # tick
#   ONLY=metrics bench/compare.sh    # the target workload with metrics on and off, twice each
#                                    # (not in the default set)
#   SCHEDULE=clustered bench/compare.sh  # a room's players back to back (default: spread, a
#                                    # room's players far apart; every table names it)
#
# The bare server alone, by hand (the same flags as any row):
#   cargo build --release -p arbiter-server -p arbiter-bench
#   taskset -c 0 target/release/arbiter-bare --listen 127.0.0.1:17879 &
#   taskset -c 1 target/release/arbiter bench --url ws://127.0.0.1:17879/ws --label bare \
#     --rooms 250 --clients 4 --interval-ms 100 --schedule spread
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  WARMUP=${WARMUP:-2}; DURATION=${DURATION:-5}
else
  WARMUP=${WARMUP:-3}; DURATION=${DURATION:-10}
fi
ONLY=${ONLY:-target,knee,fanout,durability,join,idle,tick}
# When in each interval the players act, for both generators (see `arbiter bench --schedule`).
SCHEDULE=${SCHEDULE:-spread}
APORT=${APORT:-17878}
CPORT=${CPORT:-12567}
BPORT=${BPORT:-17879}
OUT=${OUT:-$ROOT/target/bench-compare/$(date -u +%Y%m%dT%H%M%SZ)}
ROW_TIMEOUT=${ROW_TIMEOUT:-240}
# The load generator is one address opening thousands of connections, each acting faster
# than a person: lift the limits a public server keeps on its clients (docs/security.md).
export ARBITER_RATE_ACT=off ARBITER_RATE_CHAT=off ARBITER_RATE_JOIN=off ARBITER_RATE_OTHER=off
export ARBITER_RATE_STRIKES=off ARBITER_RATE_READ_KIB=off ARBITER_RATE_HTTP=off ARBITER_RATE_CONNECT=off ARBITER_MAX_CONNECTIONS=1000000
export ARBITER_MAX_CONNECTIONS_PER_IP=1000000 ARBITER_MAX_CONNECTIONS_PER_PLAYER=1000000
export ARBITER_MAX_ROOMS_PER_PLAYER=1000000
mkdir -p "$OUT"

want() { [[ ",$ONLY," == *",$1,"* ]]; }
log() { printf '\n== %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# 10,000 idle clients need as many descriptors in the generator and in the server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)

if [ "$(nproc)" -lt 2 ]; then
  echo "compare.sh: needs 2 CPUs (server on one, load on the other)" >&2
  exit 1
fi

log "building (cargo build --release, npm ci)"
cargo build --release -p arbiter-server -p arbiter-bench >&2
ARBITER=$ROOT/target/release/arbiter
BARE=$ROOT/target/release/arbiter-bare
# `npm ci` first. The registry reached here lacks msgpackr-extract's macOS/Windows builds, so
# the lock file cannot list them and `npm ci` may refuse it; `npm install --no-save` then
# installs the same locked versions.
(cd bench/colyseus && { npm ci --no-audit --no-fund --loglevel=error >&2 2>/dev/null ||
  npm install --no-save --no-audit --no-fund --loglevel=error >&2; })

for port in "$APORT" "$CPORT" "$BPORT"; do
  if port_open "$port"; then
    echo "compare.sh: 127.0.0.1:$port is already taken; set APORT/CPORT/BPORT" >&2
    exit 1
  fi
done

SERVER_PID=
SERVER_DIR=
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
  if [ -n "$SERVER_DIR" ]; then rm -rf "$SERVER_DIR"; SERVER_DIR=; fi
}
trap stop_server EXIT INT TERM

# Wait until the server just started (SERVER_PID) listens on the port.
wait_port() {
  local port=$1
  for _ in $(seq 1 100); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "compare.sh: the server exited at start (logs in $OUT)" >&2
      return 1
    fi
    if port_open "$port"; then return 0; fi
    sleep 0.1
  done
  echo "compare.sh: nothing listens on 127.0.0.1:$port after 10 s" >&2
  return 1
}

# start_arbiter [database-url] [durability] [more serve flags…]
start_arbiter() {
  SERVER_DIR=$(mktemp -d)
  local db=${1:-memory} durability=${2:-strict}
  shift $(( $# < 2 ? $# : 2 ))
  [ "$db" = sqlite ] && db="sqlite://$SERVER_DIR/arbiter.db"
  taskset -c "$SERVER_CPU" "$ARBITER" serve --listen "127.0.0.1:$APORT" --data-dir "$SERVER_DIR" \
    --database-url "$db" --durability "$durability" --log warn "$@" >"$OUT/arbiter-server.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$APORT"
}

# start_colyseus immediate|50
start_colyseus() {
  PORT=$CPORT PATCH=$1 taskset -c "$SERVER_CPU" node bench/colyseus/server.js \
    >"$OUT/colyseus-server.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$CPORT"
}

# The reference: the bare broadcast server (no engine, nothing kept, no limits).
start_bare() {
  taskset -c "$SERVER_CPU" "$BARE" --listen "127.0.0.1:$BPORT" >"$OUT/bare-server.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$BPORT"
}

# row NAME TARGET(arbiter|bare|colyseus-immediate|colyseus-50ms|arbiter-sqlite-…) LABEL ARGS…
# ARGS are long options understood by both generators.
row() {
  local name=$1 target=$2 label=$3; shift 3
  local json="$OUT/$name.json"
  case $target in
    arbiter) start_arbiter memory ;;
    arbiter-no-metrics) start_arbiter memory strict --no-metrics ;;
    arbiter-sqlite-strict) start_arbiter sqlite strict ;;
    arbiter-sqlite-relaxed) start_arbiter sqlite relaxed ;;
    colyseus-immediate) start_colyseus immediate ;;
    colyseus-50ms) start_colyseus 50 ;;
    bare) start_bare ;;
  esac
  sleep 0.5
  log "$name ($label): $*"
  # A server that could not bind its port (another process took it since the start) has
  # exited by now, while the port still answers: measure nothing rather than a stranger.
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "compare.sh: row $name: the server exited at start (logs in $OUT)" >&2
    stop_server
    return 0
  fi
  local rc=0
  if [[ $target == arbiter* || $target == bare ]]; then
    local port=$APORT
    [ "$target" = bare ] && port=$BPORT
    timeout "$ROW_TIMEOUT" taskset -c "$LOAD_CPU" "$ARBITER" bench --url "ws://127.0.0.1:$port/ws" \
      --server-pid "$SERVER_PID" --label "$label" --json "$json" "$@" >&2 || rc=$?
  else
    timeout "$ROW_TIMEOUT" taskset -c "$LOAD_CPU" node bench/colyseus/loadgen.js \
      --url "ws://127.0.0.1:$CPORT" --server-pid "$SERVER_PID" --label "$label" --json "$json" "$@" \
      >/dev/null || rc=$?
  fi
  stop_server
  if [ "$rc" != 0 ]; then echo "compare.sh: row $name failed (exit $rc)" >&2; rm -f "$json"; fi
  return 0
}

# p99 update latency of a row, ms (999999 when the row failed).
p99() { jq -r '.update_latency.p99_ms // 999999' "$OUT/$1.json" 2>/dev/null || echo 999999; }
over() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

W=(--warmup "$WARMUP" --duration "$DURATION" --schedule "$SCHEDULE")

if want target; then
  # The headline workload: 1,000 clients in 250 rooms acting 10×/s (10,000 actions/s).
  row target-bare bare bare --rooms 250 --clients 4 --interval-ms 100 "${W[@]}"
  row target-arbiter arbiter arbiter --rooms 250 --clients 4 --interval-ms 100 "${W[@]}"
  row target-colyseus-imm colyseus-immediate colyseus-immediate --rooms 250 --clients 4 --interval-ms 100 "${W[@]}"
  row target-colyseus-50 colyseus-50ms colyseus-50ms --rooms 250 --clients 4 --interval-ms 100 "${W[@]}"
  # The same row again: the spread between two runs.
  row target-arbiter-repeat arbiter arbiter --rooms 250 --clients 4 --interval-ms 100 "${W[@]}"
fi

if want knee; then
  # Rooms of 4 acting every 100 ms; more rooms until p99 action→update passes 50 ms twice.
  # Steps of 2,500 actions/s between 15,000 and 25,000, where the knees lie on this machine.
  if [ "$QUICK" = 1 ]; then STEPS="250 500 750"; else STEPS="125 250 375 438 500 563 625 750 875 1000"; fi
  for target in bare arbiter colyseus-immediate colyseus-50ms; do
    misses=0
    for r in $STEPS; do
      row "knee-$target-$r" "$target" "$target" --rooms "$r" --clients 4 --interval-ms 100 "${W[@]}"
      if over "$(p99 "knee-$target-$r")" 50; then misses=$((misses + 1)); fi
      [ "$misses" -ge 2 ] && break
    done
  done
fi

if want fanout; then
  # Rooms of 2 players and 50 spectators, players acting 5×/s, up to 160 rooms: 8,320 sockets
  # and 83,200 frames/s, where the servers part.
  if [ "$QUICK" = 1 ]; then FAN="20 40"; else FAN="20 40 80 160"; fi
  for r in $FAN; do
    for target in bare arbiter colyseus-immediate colyseus-50ms; do
      row "fanout-$target-$r" "$target" "$target" --rooms "$r" --clients 2 --spectators 50 --interval-ms 200 "${W[@]}"
    done
  done
fi

if want durability; then
  # The target workload with rooms on SQLite (reported apart: memory rows keep nothing).
  row durability-relaxed arbiter-sqlite-relaxed arbiter-sqlite-relaxed --rooms 250 --clients 4 --interval-ms 100 "${W[@]}"
  row durability-strict arbiter-sqlite-strict arbiter-sqlite-strict --rooms 250 --clients 4 --interval-ms 100 "${W[@]}"
fi

if want metrics; then
  # The target workload with Prometheus metrics recorded (the default) and switched off,
  # alternating, twice each: what leaving metrics on costs.
  for i in 1 2; do
    row "metrics-on-$i" arbiter "arbiter, metrics on" --rooms 250 --clients 4 --interval-ms 100 "${W[@]}"
    row "metrics-off-$i" arbiter-no-metrics "arbiter, metrics off" --rooms 250 --clients 4 --interval-ms 100 "${W[@]}"
  done
fi

if want tick; then
  # Real-time rooms: rooms of 8 players ticking at 30 Hz (the `drift` game, the same room on
  # both servers), every player sending a steering input every tick; more rooms per row.
  # Colyseus runs setSimulationInterval(33 ms) and sends each tick's patch at once.
  if [ "$QUICK" = 1 ]; then TICKROOMS="25 50"; else TICKROOMS="10 25 50 75"; fi
  for r in $TICKROOMS; do
    row "tick-arbiter-$r" arbiter arbiter --workload tick --rooms "$r" --clients 8 --tick-ms 33 "${W[@]}"
    row "tick-colyseus-$r" colyseus-immediate colyseus --workload tick --rooms "$r" --clients 8 --tick-ms 33 "${W[@]}"
  done
  # Every tick kept on SQLite, acknowledged inputs durable before their ack (strict).
  row tick-arbiter-sqlite-strict-50 arbiter-sqlite-strict arbiter-sqlite-strict --workload tick --rooms 50 --clients 8 --tick-ms 33 "${W[@]}"
fi

if want join; then
  # 2,000 clients joining (500 rooms of 4) as fast as each server takes them.
  row join-arbiter arbiter arbiter --workload join --rooms 500 --clients 4 --concurrency 256
  row join-colyseus colyseus-immediate colyseus-immediate --workload join --rooms 500 --clients 4 --concurrency 64
fi

if want idle; then
  # Idle clients in rooms of 50: server memory per connection.
  N=10000
  if [ "$NOFILE" -lt $((N + 200)) ]; then N=$(( (NOFILE - 200) / 50 * 50 )); fi
  row idle-arbiter arbiter arbiter --workload idle --rooms $((N / 50)) --clients 50 --duration 3 --concurrency 256
  # Colyseus joins through HTTP matchmaking; 2,000 keep its row within the time bound.
  row idle-colyseus colyseus-immediate colyseus-immediate --workload idle --rooms 40 --clients 50 --duration 3 --concurrency 64
fi

shopt -s nullglob
files=("$OUT"/*.json)
if [ ${#files[@]} -eq 0 ]; then
  echo "compare.sh: no row produced a report" >&2
  exit 1
fi
{
  echo "# Arbiter vs Colyseus, against a bare server — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, server on CPU $SERVER_CPU, load on CPU $LOAD_CPU"
  echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  for section in target knee fanout durability metrics tick join idle; do
    sf=("$OUT"/"$section"-*.json)
    [ ${#sf[@]} -eq 0 ] && continue
    echo
    echo "## $section"
    "$ARBITER" bench --compare "${sf[@]}" --reference bare
  done
} | tee "$OUT/summary.txt"
echo "(reports: $OUT)" >&2
