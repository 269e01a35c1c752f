#!/usr/bin/env bash
# tools/bench/zset_ranks.sh - rank queries on one big sorted set, redge against a real
# redis-server side by side.
#
#   tools/bench/zset_ranks.sh
#   SIZE=1000000 N=20000 tools/bench/zset_ranks.sh
#
# Loads one sorted set of SIZE members (member m<12 digits> with score i, ZADD batches of
# 1,000 through redis-cli --pipe) into build/redge and redis-server (both fsync
# everysec), then runs redis-benchmark -c 50 -n N -r SIZE --csv, one command per run:
#   ZRANK       ZRANK big m__rand_int__              (a random member: any rank)
#   ZREVRANK    ZREVRANK big m__rand_int__
#   ZRANGE10    ZRANGE big __rand_int__ +inf BYSCORE LIMIT 0 10   (see below)
#   ZCOUNT      ZCOUNT big __rand_int__ +inf          (a count of a random tail)
#   ZADD        ZADD big __rand_int__ n__rand_int__   (inserts into random blocks)
# and prints ops/s and the ratio redge/redis per command. redis-benchmark draws a new
# random number for each __rand_int__ of a command, so an index range with a random start
# and a matching stop cannot be written; ZRANGE10 finds its start by score and reads 10
# members.
#
# Environment: SIZE (100000), N requests per command (20000), BUILD_DIR (build),
# REDIS_SERVER (/usr/bin/redis-server), TMPDIR for the data directories (/tmp).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tools/bench/servers.sh
source "$ROOT/tools/bench/servers.sh"
bench_init zset_ranks
SIZE="${SIZE:-100000}" N="${N:-20000}" CLIENTS=50

for v in "$SIZE" "$N"; do [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "SIZE and N must be positive"; done

NAMES=(ZRANK ZREVRANK ZRANGE10 ZCOUNT ZADD)
command_of() {
  case "$1" in
    ZRANK) printf '%s\n' ZRANK big 'm__rand_int__' ;;
    ZREVRANK) printf '%s\n' ZREVRANK big 'm__rand_int__' ;;
    ZRANGE10) printf '%s\n' ZRANGE big '__rand_int__' +inf BYSCORE LIMIT 0 10 ;;
    ZCOUNT) printf '%s\n' ZCOUNT big '__rand_int__' +inf ;;
    ZADD) printf '%s\n' ZADD big '__rand_int__' 'n__rand_int__' ;;
  esac
}

# load PORT: the set, as RESP through redis-cli --pipe.
load() {
  /usr/bin/python3 - "$SIZE" >"$TMP/load.resp" <<'PY'
import sys
size = int(sys.argv[1])
out = sys.stdout.buffer
def cmd(*args):
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))
for base in range(0, size, 1000):
    args = [b"ZADD", b"big"]
    for i in range(base, min(size, base + 1000)):
        args += [b"%d" % i, b"m%012d" % i]
    cmd(*args)
PY
  redis-cli -p "$1" --pipe <"$TMP/load.resp" >/dev/null || die "loading port $1 failed"
  [[ "$(redis-cli -p "$1" ZCARD big)" == "$SIZE" ]] || die "port $1 did not load $SIZE members"
}

declare -A RES
bench() {  # bench SERVER PORT NAME
  local out args
  mapfile -t args < <(command_of "$3")
  out="$(redis-benchmark -h 127.0.0.1 -p "$2" -c "$CLIENTS" -n "$N" -r "$SIZE" --csv "${args[@]}")" ||
    die "redis-benchmark $3 against $1 failed"
  RES["$1|$3"]="$(tail -n 1 <<<"$out" | awk -F, '{ gsub(/"/, "", $(NF-6)); print $(NF-6) }')"
}

echo "redge vs $("$REDIS_SERVER" --version | head -n 1 | cut -d' ' -f1-3); one sorted set of" \
  "$SIZE members; -c $CLIENTS -n $N -r $SIZE; $(nproc) CPUs"
start_redge everysec; start_redis everysec
load "$REDGE_PORT"; load "$REDIS_PORT"
for name in "${NAMES[@]}"; do
  bench redge "$REDGE_PORT" "$name"
  bench redis "$REDIS_PORT" "$name"
done
kill -0 "$REDGE_PID" 2>/dev/null || die "redge died during the benchmark"
bench_stop "$REDGE_PID"; bench_stop "$REDIS_PID"

printf '\n%-9s %14s %14s %8s   %s\n' command "redge ops/s" "redis ops/s" ratio "command line"
for name in "${NAMES[@]}"; do
  a="${RES["redge|$name"]}" b="${RES["redis|$name"]}"
  printf '%-9s %14s %14s %8s   %s\n' "$name" "$a" "$b" \
    "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0) ? (a / b) : 0 }')" \
    "$(command_of "$name" | tr '\n' ' ')"
done
