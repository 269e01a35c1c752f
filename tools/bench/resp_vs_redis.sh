#!/usr/bin/env bash
# tools/bench/resp_vs_redis.sh - redge against a real redis-server, side by side.
#
#   tools/bench/resp_vs_redis.sh
#   N=50000 REPEAT=3 tools/bench/resp_vs_redis.sh
#
# Starts build/redge (--fsync everysec) and redis-server (AOF, appendfsync everysec)
# on free loopback ports, each with a fresh data directory, and runs
#   redis-benchmark -c 50 -n N -t set,get,lpush,lpop,rpop --csv -q [-P 16]
# against each, alternating redge/redis: first unpipelined, then with -P 16. Then fresh
# instances with redge --fsync always vs redis --appendfsync always, unpipelined.
# Prints ops/s tables with redge/redis ratios and target lines (informational: the
# exit status is 0 unless something failed to run).
#
# Environment: N requests per test (200000); REPEAT runs per test, median taken (1);
# BUILD_DIR (build, relative to the repo root); REDIS_SERVER (/usr/bin/redis-server);
# TMPDIR where the data directories go (/tmp); put it on the disk you care about,
# since fsync on tmpfs is free.
# Note: redis-benchmark runs its tests in a fixed order; LPOP and RPOP pop the list
# that LPUSH filled (so RPOP runs on an emptied list after LPOP took N elements).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tools/bench/servers.sh
source "$ROOT/tools/bench/servers.sh"
bench_init resp_vs_redis
N="${N:-200000}" REPEAT="${REPEAT:-1}" CLIENTS=50 PIPELINE=16
TESTS=set,get,lpush,lpop,rpop
NAMES=(SET GET LPUSH LPOP RPOP)

[[ "$N" =~ ^[1-9][0-9]*$ && "$REPEAT" =~ ^[1-9][0-9]*$ ]] || die "N and REPEAT must be positive integers"

declare -A RES  # "section|server|TEST" -> space-separated rps of each repeat
# bench SECTION SERVER PORT [extra redis-benchmark args]
bench() {
  local out name rps
  out="$(redis-benchmark -h 127.0.0.1 -p "$3" -c "$CLIENTS" -n "$N" -t "$TESTS" --csv -q "${@:4}")" ||
    die "redis-benchmark against $2 failed"
  while IFS=, read -r name rps _; do
    name="${name//\"/}" rps="${rps//\"/}"
    [[ "$name" == test ]] || RES["$1|$2|$name"]+="$rps "
  done <<<"$out"
  for name in "${NAMES[@]}"; do
    [[ -n "${RES["$1|$2|$name"]:-}" ]] || die "no $name result from $2; output: $out"
  done
}

# table SECTION TITLE TARGET: prints the table and appends the target line to TARGETS.
TARGETS=""
table() {
  local name a b ratio verdicts=""
  printf '\n%s\n%-7s %14s %14s %8s\n' "$2" test "redge ops/s" "redis ops/s" ratio
  for name in "${NAMES[@]}"; do
    a="$(median <<<"${RES["$1|redge|$name"]}")" b="$(median <<<"${RES["$1|redis|$name"]}")"
    ratio="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
    printf '%-7s %14s %14s %8s\n' "$name" "$a" "$b" "$ratio"
    verdicts+="${verdicts:+,} $name $ratio $(awk -v r="$ratio" -v t="$3" 'BEGIN { print (r >= t ? "PASS" : "BELOW") }')"
  done
  TARGETS+="$(printf 'target %-12s ratio >= %s:%s' "$1" "$3" "$verdicts")"$'\n'
}

echo "redge vs $("$REDIS_SERVER" --version | head -n 1 | cut -d' ' -f1-3); -c $CLIENTS -n $N, REPEAT=$REPEAT," \
  "$(nproc) CPUs, data in $TMP ($(df -T "$TMP" | awk 'NR == 2 { print $2 }'))"

start_redge everysec; start_redis everysec
echo "everysec: redge port $REDGE_PORT, redis port $REDIS_PORT"
for section in unpipelined pipelined; do
  extra=(); [[ $section == pipelined ]] && extra=(-P "$PIPELINE")
  for ((r = 0; r < REPEAT; r++)); do
    bench "$section" redge "$REDGE_PORT" "${extra[@]}"
    bench "$section" redis "$REDIS_PORT" "${extra[@]}"
  done
done
bench_stop "$REDGE_PID"; bench_stop "$REDIS_PID"

start_redge always; start_redis always
echo "always: redge port $REDGE_PORT, redis port $REDIS_PORT"
for ((r = 0; r < REPEAT; r++)); do
  bench fsync-always redge "$REDGE_PORT"
  bench fsync-always redis "$REDIS_PORT"
done
bench_stop "$REDGE_PID"; bench_stop "$REDIS_PID"

table unpipelined "unpipelined (-c $CLIENTS, fsync everysec)" 0.8
table pipelined "pipelined (-c $CLIENTS -P $PIPELINE, fsync everysec)" 0.5
table fsync-always "fsync always (redge --fsync always, redis --appendfsync always, -c $CLIENTS)" 1.0
printf '\n%s' "$TARGETS"
