# tools/bench/servers.sh - sourced by the side-by-side benchmarks (resp_vs_redis.sh,
# types_vs_redis.sh, streams_vs_redis.sh, zset_ranks.sh): their common start
# (bench_init), and build/redge and redis-server started on free loopback ports with
# fresh data directories, and stopped.
#
# The sourcing script sets ROOT (the checkout) and calls bench_init first. Every server
# started is recorded in BENCH_PIDS so that the exit trap ends them all.
# shellcheck shell=bash

BENCH_PIDS=()
BENCH_NAME=bench

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

# bench_init NAME [TOOL...]: sets BUILD_DIR (default build, relative to ROOT), REDGE,
# REDIS_SERVER (default /usr/bin/redis-server) and TMP (a fresh directory under $TMPDIR,
# named after NAME, removed at exit, as every server started is ended); die() messages
# start with NAME. Dies unless redge is built and redis-server, redis-benchmark, redis-cli
# and each TOOL are installed.
bench_init() {
  BENCH_NAME="$1"
  shift
  BUILD_DIR="${BUILD_DIR:-build}"
  [[ "$BUILD_DIR" == /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
  REDGE="$BUILD_DIR/redge"
  REDIS_SERVER="${REDIS_SERVER:-/usr/bin/redis-server}"
  [[ -x "$REDGE" ]] || die "$REDGE not built (cmake --build build -j2)"
  local t
  for t in "$REDIS_SERVER" redis-benchmark redis-cli; do
    command -v "$t" >/dev/null || die "$t not found (apt-get install redis-server redis-tools)"
  done
  for t in "$@"; do
    command -v "$t" >/dev/null || die "$t not found"
  done
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/redge-$BENCH_NAME.XXXXXX")"
  trap bench_exit EXIT
  trap 'exit 130' INT TERM
}

# The EXIT trap of bench_init: ends the servers and removes TMP.
bench_exit() {
  bench_cleanup
  rm -rf "$TMP"
}

# bench_cleanup: ends every server started (the script's only background children).
bench_cleanup() {
  local p
  for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# bench_stop PID: stops one server and reaps it.
bench_stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# start_redge FSYNC: sets REDGE_PID, REDGE_PORT. Port 0 lets the kernel pick; redge
# prints "redge ready resp_port=N" on stdout once it listens.
start_redge() {
  local dir="$TMP/redge-$1-$RANDOM" i
  mkdir -p "$dir"; : >"$dir/stdout"  # exists before the first poll
  "$REDGE" --resp 127.0.0.1:0 --http 127.0.0.1:0 --data-dir "$dir/data" --fsync "$1" \
    --log-format text >"$dir/stdout" 2>"$dir/log" &
  REDGE_PID=$!; BENCH_PIDS+=("$REDGE_PID"); REDGE_PORT=
  for ((i = 0; i < 400; i++)); do  # up to ~20 s
    REDGE_PORT="$(sed -n 's/^redge ready resp_port=\([0-9][0-9]*\).*/\1/p' "$dir/stdout")"
    [[ -n "$REDGE_PORT" ]] && return 0
    kill -0 "$REDGE_PID" 2>/dev/null || break
    sleep 0.05
  done
  die "redge (--fsync $1) did not become ready: $(tail -n 5 "$dir/log")"
}

# start_redis APPENDFSYNC: sets REDIS_PID, REDIS_PORT. redis-server has no ephemeral
# port, so try random unused high ports; ready when INFO shows our own process id.
start_redis() {
  local dir="$TMP/redis-$1-$RANDOM" port pid attempt i
  mkdir -p "$dir"
  for ((attempt = 0; attempt < 10; attempt++)); do
    port=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue  # in use
    "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save '' --appendonly yes \
      --appendfsync "$1" --dir "$dir" --daemonize no >"$dir/log" 2>&1 &
    pid=$!; BENCH_PIDS+=("$pid")
    for ((i = 0; i < 400; i++)); do
      # shellcheck disable=SC2034  # REDIS_PID, REDIS_PORT are read by the sourcing script
      if redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null | grep -q "^process_id:$pid"; then
        REDIS_PID=$pid REDIS_PORT=$port; return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    bench_stop "$pid"
  done
  die "redis-server (--appendfsync $1) did not become ready: $(tail -n 5 "$dir/log")"
}

# median: the median of the numbers on stdin (whitespace separated), as an integer.
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {
  m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%.0f", m }'; }
