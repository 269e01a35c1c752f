#!/usr/bin/env bash
# tools/bench/types_vs_redis.sh - hashes, sets, sorted sets and Lua on redge against a
# real redis-server, side by side.
#
#   tools/bench/types_vs_redis.sh
#   N=50000 REPEAT=3 tools/bench/types_vs_redis.sh
#
# Starts build/redge (--fsync everysec) and redis-server (AOF, appendfsync everysec) on
# free loopback ports with fresh data directories (tools/bench/servers.sh) and runs
# redis-benchmark -c 50 -n N -r KEYSPACE --csv, one test per run, alternating redge and
# redis, first unpipelined and then with -P 16:
#   SADD, SPOP (pops what SADD added), HSET, ZADD, ZPOPMIN (pops what ZADD added): -t
#   EVAL: the custom command  EVAL "<SCRIPT>" 1 counter:__rand_int__  (INCR + EXPIRE)
# Each section starts from FLUSHALL. A test the server answers with an error (redge
# without the command: ERR unknown command) shows the error instead of a rate; the
# script goes on with the others. Prints ops/s and the ratio redge/redis per test.
#
# Environment: N requests per test (100000); REPEAT runs per test, median taken (1);
# KEYSPACE for -r (100000); BUILD_DIR (build); REDIS_SERVER (/usr/bin/redis-server);
# TMPDIR where the data directories go (/tmp).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tools/bench/servers.sh
source "$ROOT/tools/bench/servers.sh"
bench_init types_vs_redis
N="${N:-100000}" REPEAT="${REPEAT:-1}" KEYSPACE="${KEYSPACE:-100000}" CLIENTS=50 PIPELINE=16
NAMES=(SADD SPOP HSET ZADD ZPOPMIN EVAL)
SCRIPT="local n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], 60) return n"

for v in "$N" "$REPEAT" "$KEYSPACE"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "N, REPEAT and KEYSPACE must be positive integers"
done

# test_args NAME: the redis-benchmark arguments that select the test.
test_args() {
  case "$1" in
    EVAL) printf '%s\n' EVAL "$SCRIPT" 1 'counter:__rand_int__' ;;
    *) printf '%s\n' -t "${1,,}" ;;
  esac
}

declare -A RES ERR  # "section|server|TEST" -> rps of each repeat / the first error
# bench SECTION SERVER PORT NAME [extra redis-benchmark args]: one test, one run.
bench() {
  local key="$1|$2|$4" out args rps
  [[ -z "${ERR[$key]:-}" ]] || return 0  # it failed before: do not repeat the error
  mapfile -t args < <(test_args "$4")
  if ! out="$(redis-benchmark -h 127.0.0.1 -p "$3" -c "$CLIENTS" -n "$N" -r "$KEYSPACE" \
    --csv "${@:5}" "${args[@]}" 2>"$TMP/err")"; then
    ERR[$key]="$(grep -m1 . "$TMP/err" || echo "redis-benchmark failed")"
    ERR[$key]="${ERR[$key]#Error from server: }"
    return 0
  fi
  # The last CSV line: "name",rps,avg,min,p50,p95,p99,max. The name may hold commas
  # (the EVAL script), so count the fields from the end.
  rps="$(tail -n 1 <<<"$out" | awk -F, '{ gsub(/"/, "", $(NF-6)); print $(NF-6) }')"
  [[ "$rps" =~ ^[0-9.]+$ ]] || die "no rate in the output of $4 against $2: $out"
  RES[$key]+="$rps "
}

# table SECTION TITLE
table() {
  local name a b ratio
  printf '\n%s\n%-8s %14s %14s %8s\n' "$2" test "redge ops/s" "redis ops/s" ratio
  for name in "${NAMES[@]}"; do
    a="${ERR["$1|redge|$name"]:+error}" b="${ERR["$1|redis|$name"]:+error}"
    [[ -n "$a" ]] || a="$(median <<<"${RES["$1|redge|$name"]:-}")"
    [[ -n "$b" ]] || b="$(median <<<"${RES["$1|redis|$name"]:-}")"
    ratio=n/a
    if [[ "$a" != error && "$b" != error && "$b" != 0 ]]; then
      ratio="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
    fi
    printf '%-8s %14s %14s %8s\n' "$name" "$a" "$b" "$ratio"
  done
  for name in "${NAMES[@]}"; do
    for server in redge redis; do
      [[ -z "${ERR["$1|$server|$name"]:-}" ]] ||
        printf '  %s %s: %s\n' "$server" "$name" "${ERR["$1|$server|$name"]}"
    done
  done
}

echo "redge vs $("$REDIS_SERVER" --version | head -n 1 | cut -d' ' -f1-3); -c $CLIENTS -n $N" \
  "-r $KEYSPACE, REPEAT=$REPEAT, $(nproc) CPUs, data in $TMP ($(df -T "$TMP" | awk 'NR == 2 { print $2 }'))"
echo "EVAL script: $SCRIPT"
start_redge everysec; start_redis everysec
echo "redge port $REDGE_PORT, redis port $REDIS_PORT (fsync everysec both)"
for section in unpipelined pipelined; do
  extra=(); [[ $section == pipelined ]] && extra=(-P "$PIPELINE")
  for ((r = 0; r < REPEAT; r++)); do
    redis-cli -p "$REDGE_PORT" FLUSHALL >/dev/null || die "FLUSHALL on redge failed"
    redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null || die "FLUSHALL on redis failed"
    for name in "${NAMES[@]}"; do
      bench "$section" redge "$REDGE_PORT" "$name" "${extra[@]}"
      bench "$section" redis "$REDIS_PORT" "$name" "${extra[@]}"
    done
  done
done
kill -0 "$REDGE_PID" 2>/dev/null || die "redge died during the benchmark: $(tail -n 5 "$TMP"/redge-*/log)"
bench_stop "$REDGE_PID"; bench_stop "$REDIS_PID"

table unpipelined "unpipelined (-c $CLIENTS, fsync everysec)"
table pipelined "pipelined (-c $CLIENTS -P $PIPELINE, fsync everysec)"
