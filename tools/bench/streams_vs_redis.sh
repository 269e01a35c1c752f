#!/usr/bin/env bash
# tools/bench/streams_vs_redis.sh - streams and BullMQ on redge against a real
# redis-server, side by side.
#
#   tools/bench/streams_vs_redis.sh
#   N=50000 JOBS=20000 REPEAT=3 tools/bench/streams_vs_redis.sh
#
# Starts build/redge (--fsync everysec) and redis-server (AOF, appendfsync everysec) on
# free loopback ports with fresh data directories (tools/bench/servers.sh), then:
#  - XADD: redis-benchmark -c 50 -n N custom command `XADD bench:x * field value` (one
#    stream, every client), unpipelined and with -P 16;
#  - XREADGROUP + XACK: a stream of N entries with ids 1-1 .. N-1 (loaded with redis-cli
#    --pipe) and a group; then `XREADGROUP GROUP g c COUNT 1 STREAMS bench:g >` N times
#    (each reads the next new entry), then `XACK bench:g g __rand_int__-1` N times with
#    -r N (random pending ids; a repeat acks nothing, as it would on both servers);
#  - BullMQ: tests/frameworks/bullmq/bench.mjs (one Queue, one Worker with concurrency 8,
#    no-op processor, JOBS jobs added with addBulk): jobs/s from the first add to the last
#    completion. Needs `npm ci` in tests/frameworks/bullmq (tools/setup.sh does it).
# Prints ops/s (jobs/s) and the ratio redge/redis per test; REPEAT runs, median taken.
#
# Environment: N (100000), JOBS (20000), REPEAT (1), BUILD_DIR (build), REDIS_SERVER
# (/usr/bin/redis-server), TMPDIR (/tmp).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tools/bench/servers.sh
source "$ROOT/tools/bench/servers.sh"
bench_init streams_vs_redis node
N="${N:-100000}" JOBS="${JOBS:-20000}" REPEAT="${REPEAT:-1}" CLIENTS=50 PIPELINE=16
BULLMQ_DIR="$ROOT/tests/frameworks/bullmq"

[[ -d "$BULLMQ_DIR/node_modules/bullmq" ]] || die "BullMQ not installed: run tools/setup.sh"
for v in "$N" "$JOBS" "$REPEAT"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "N, JOBS and REPEAT must be positive integers"
done

declare -A RES  # "test|server" -> rates of each repeat
NAMES=("XADD" "XADD -P$PIPELINE" "XREADGROUP" "XACK" "BullMQ jobs/s")

# rb PORT ARGS...: one redis-benchmark run; prints its requests per second.
rb() {
  local port="$1" out
  shift
  out="$(redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" --csv "$@" 2>&1)" ||
    die "redis-benchmark $* on port $port: $out"
  tail -n 1 <<<"$out" | awk -F, '{ gsub(/"/, "", $(NF-6)); print $(NF-6) }'
}

run_server() {
  local server="$1" port="$2" rate
  redis-cli -p "$port" FLUSHALL >/dev/null
  RES["XADD|$server"]+="$(rb "$port" -n "$N" XADD bench:x '*' field value) "
  RES["XADD -P$PIPELINE|$server"]+="$(rb "$port" -n "$N" -P "$PIPELINE" XADD bench:y '*' field value) "
  awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "*5\r\n$4\r\nXADD\r\n$7\r\nbench:g\r\n$%d\r\n%d-1\r\n$1\r\nf\r\n$1\r\nv\r\n", length(i "-1"), i }' |
    redis-cli -p "$port" --pipe >/dev/null || die "loading bench:g into $server"
  redis-cli -p "$port" XGROUP CREATE bench:g g 0 >/dev/null
  RES["XREADGROUP|$server"]+="$(rb "$port" -n "$N" XREADGROUP GROUP g c COUNT 1 STREAMS bench:g '>') "
  RES["XACK|$server"]+="$(rb "$port" -n "$N" -r "$N" XACK bench:g g __rand_int__-1) "
  rate="$(cd "$BULLMQ_DIR" && FW_REDIS_URL="redis://127.0.0.1:$port/0" node bench.mjs "$JOBS" |
    sed -n 's/.*"jobs_per_s":\([0-9.]*\).*/\1/p')"
  [[ -n "$rate" ]] || die "BullMQ benchmark failed against $server"
  RES["BullMQ jobs/s|$server"]+="$rate "
}

echo "redge vs $("$REDIS_SERVER" --version | head -n 1 | cut -d' ' -f1-3); -c $CLIENTS -n $N," \
  "BullMQ JOBS=$JOBS, REPEAT=$REPEAT, $(nproc) CPUs, data in $TMP"
start_redge everysec; start_redis everysec
echo "redge port $REDGE_PORT, redis port $REDIS_PORT (fsync everysec both)"
for ((r = 0; r < REPEAT; r++)); do
  run_server redge "$REDGE_PORT"
  run_server redis "$REDIS_PORT"
done
kill -0 "$REDGE_PID" 2>/dev/null || die "redge died during the benchmark"
bench_stop "$REDGE_PID"; bench_stop "$REDIS_PID"

printf '\n%-16s %14s %14s %8s\n' test "redge ops/s" "redis ops/s" ratio
for name in "${NAMES[@]}"; do
  a="$(median <<<"${RES["$name|redge"]}")" b="$(median <<<"${RES["$name|redis"]}")"
  ratio="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
  printf '%-16s %14.0f %14.0f %8s\n' "$name" "$a" "$b" "$ratio"
done
