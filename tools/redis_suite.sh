#!/usr/bin/env bash
# tools/redis_suite.sh - Redis 7.0's own test suite (tests/unit) against a fresh redge.
#
#   tools/redis_suite.sh [--target redge|redis] [--logs DIR] [--tolerate-function-flush]
#                        REDIS_SRC [UNIT ...]
#
#   tools/redis_suite.sh /work/redis-7.0                     # every unit/ of the suite
#   tools/redis_suite.sh /work/redis-7.0 type/hash type/set  # some units
#   tools/redis_suite.sh --target redis /work/redis-7.0      # the same against redis-server
#
# REDIS_SRC is a Redis 7.0 source checkout (only its tests/ and runtest are used; nothing
# is built and nothing in REDIS_SRC is written). The script copies tests/ and runtest
# into a temporary directory, links src/redis-server, src/redis-cli and
# src/redis-benchmark there to the installed Debian binaries (a few tests exec them), and
# for each unit starts a fresh server, runs
#
#   ./runtest --host 127.0.0.1 --port PORT --single unit/X --durable --clients 1
#             --timeout 120 --tags "-needs:debug -needs:repl ... -slow"
#
# (the suite's external-server mode: it skips tests tagged external:skip itself; the
# denied tags are the features redge does not have: DEBUG, replication, maxmemory,
# CONFIG RESETSTAT, RESET-time stats, SAVE, PFDEBUG, LATENCY, a local process), stops the
# server and checks it did not die. --durable keeps a unit going after a test raises, so
# one unknown command fails its test rather than the whole unit (setup errors outside a
# test still abort the unit). Then it prints one line per unit: status, tests passed,
# failed, ignored, seconds, and the first failure.
#
# Status: pass (all run tests passed), none (no test ran: all skipped by tags or
# external:skip), FAIL (some failed), ABORT (the unit stopped on an exception), TIMEOUT,
# DIED (the server was not running after the unit). Exit status 0 when every unit
# passed or ran nothing, 1 otherwise, 2 on bad usage or a missing tool.
#
# --tolerate-function-flush is a diagnostic for servers without FUNCTION: the harness
# runs FLUSHALL and FUNCTION FLUSH before every test group, so without FUNCTION every
# unit aborts on its first line. With the flag the private copy's harness ignores an
# error from FUNCTION FLUSH (one line of tests/support/server.tcl, in the copy only), and
# the units run on to their own first failures. Not the suite's verdict: say so when
# quoting its results.
#
# Environment:
#   BUILD_DIR      build tree with redge, relative to the repository root (build)
#   REDIS_SERVER   redis-server for --target redis (/usr/bin/redis-server)
#   REDGE_ARGS     extra redge flags (none)
#   DENY_TAGS      the tags to skip (the list below); SLOW=1 drops "slow" from it
#   UNIT_TIMEOUT   hard limit per unit, seconds (600)
#   RUNTEST_ARGS   extra runtest arguments, e.g. "--singledb" or "--only /SADD"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"
[[ "$BUILD_DIR" == /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
REDGE="$BUILD_DIR/redge"
REDIS_SERVER="${REDIS_SERVER:-/usr/bin/redis-server}"
UNIT_TIMEOUT="${UNIT_TIMEOUT:-600}"
DEFAULT_DENY="needs:debug needs:repl needs:config-maxmemory needs:config-resetstat"
DEFAULT_DENY+=" needs:reset needs:save needs:pfdebug needs:latency needs:local-process"
[[ "${SLOW:-0}" == 1 ]] || DEFAULT_DENY+=" slow"
DENY_TAGS="${DENY_TAGS:-$DEFAULT_DENY}"

usage() {
  sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die() { echo "redis_suite: $*" >&2; exit 2; }

TARGET=redge LOGS="" TOLERATE_FUNCTION_FLUSH=0
while (($#)); do
  case "$1" in
    --target) TARGET="${2:-}"; shift 2 ;;
    --logs) LOGS="${2:-}"; shift 2 ;;
    --tolerate-function-flush) TOLERATE_FUNCTION_FLUSH=1; shift ;;
    -h | --help) usage ;;
    --*) die "unknown option $1" ;;
    *) break ;;
  esac
done
(($# >= 1)) || usage
SRC="$(realpath "$1")"; shift
[[ "$TARGET" == redge || "$TARGET" == redis ]] || die "--target must be redge or redis"
[[ -f "$SRC/tests/test_helper.tcl" && -f "$SRC/runtest" ]] ||
  die "$SRC is not a Redis source checkout (no tests/test_helper.tcl or runtest)"
command -v tclsh8.6 >/dev/null || command -v tclsh >/dev/null ||
  die "tclsh not found (apt-get install tcl)"
for tool in redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install redis-tools)"
done
if [[ "$TARGET" == redge ]]; then
  [[ -x "$REDGE" ]] || die "$REDGE not built (cmake --build build -j2 --target redge)"
else
  command -v "$REDIS_SERVER" >/dev/null || die "$REDIS_SERVER not found"
fi

# The units: the arguments (with or without "unit/"), else every unit/ entry of the
# suite's own list in test_helper.tcl, in its order.
UNITS=()
if (($#)); then
  for u in "$@"; do
    u="${u%.tcl}"; u="${u#tests/}"; [[ "$u" == unit/* ]] || u="unit/$u"
    [[ -f "$SRC/tests/$u.tcl" ]] || die "no such unit: $SRC/tests/$u.tcl"
    UNITS+=("$u")
  done
else
  mapfile -t UNITS < <(sed -n '/^set ::all_tests {/,/^}/ s/^ *\(unit\/[^ ]*\) *$/\1/p' \
    "$SRC/tests/test_helper.tcl")
  ((${#UNITS[@]})) || die "found no unit/ entries in $SRC/tests/test_helper.tcl"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/redis-suite.XXXXXX")"
if [[ -z "$LOGS" ]]; then LOGS="$(mktemp -d "${TMPDIR:-/tmp}/redis-suite-logs.XXXXXX")"; fi
mkdir -p "$LOGS"; LOGS="$(realpath "$LOGS")"
SERVER_PID=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private copy of the suite: runtest writes tests/tmp, and the tests that exec
# src/redis-* find the installed binaries there. Nothing is built.
cp -a "$SRC/tests" "$SRC/runtest" "$WORK/"
mkdir -p "$WORK/src"
for bin in redis-server redis-cli redis-benchmark; do
  ln -s "$(command -v "$bin" || echo "/usr/bin/$bin")" "$WORK/src/$bin"
done
rm -rf "$WORK/tests/tmp"; mkdir -p "$WORK/tests/tmp"
if ((TOLERATE_FUNCTION_FLUSH)); then
  sed -i 's/^\( *\)r function flush$/\1catch {r function flush}/' "$WORK/tests/support/server.tcl"
  grep -q '^ *catch {r function flush}$' "$WORK/tests/support/server.tcl" ||
    die "--tolerate-function-flush: no 'r function flush' line in tests/support/server.tcl"
fi

stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  local i
  for ((i = 0; i < 200; i++)); do  # up to ~10 s, then SIGKILL
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# start_server NAME: a fresh server for one unit; sets SERVER_PID, PORT, SERVER_LOG.
start_server() {
  local dir="$WORK/server-$1" i attempt
  mkdir -p "$dir"
  SERVER_LOG="$LOGS/$1.server.log"
  if [[ "$TARGET" == redge ]]; then
    : >"$dir/stdout"
    # shellcheck disable=SC2086  # REDGE_ARGS is a list of flags
    "$REDGE" --resp 127.0.0.1:0 --http 127.0.0.1:0 --data-dir "$dir/data" \
      --log-level warn --log-format text ${REDGE_ARGS:-} >"$dir/stdout" 2>"$SERVER_LOG" &
    SERVER_PID=$!
    for ((i = 0; i < 400; i++)); do  # up to ~20 s
      PORT="$(sed -n 's/^redge ready resp_port=\([0-9][0-9]*\).*/\1/p' "$dir/stdout")"
      [[ -n "$PORT" ]] && return 0
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.05
    done
    die "redge did not become ready: $(tail -n 5 "$SERVER_LOG")"
  fi
  # redis-server cannot report a kernel-chosen port: try random free ones.
  for ((attempt = 0; attempt < 10; attempt++)); do
    PORT=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && continue  # in use
    "$REDIS_SERVER" --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$dir" --daemonize no >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    for ((i = 0; i < 400; i++)); do
      if redis-cli -h 127.0.0.1 -p "$PORT" info server 2>/dev/null |
        grep -q "^process_id:$SERVER_PID"; then
        return 0
      fi
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.05
    done
    stop_server
  done
  die "redis-server did not become ready: $(tail -n 5 "$SERVER_LOG")"
}

# summarize UNIT LOG RC DIED SECS: one line of the table.
summarize() {
  local unit="$1" log="$2" rc="$3" died="$4" secs="$5" ok err ign status first
  ok="$(grep -c '^\[ok\]: ' "$log" || true)"
  err="$(grep -c '^\[err\]: ' "$log" || true)"
  ign="$(grep -cE '^\[(ignore|skip)\]: ' "$log" || true)"
  if ((died)); then status=DIED
  elif ((rc == 124 || rc == 137)) || grep -q '^\[TIMEOUT\]' "$log"; then status=TIMEOUT
  elif grep -q '^\[exception\]' "$log"; then status=ABORT
  elif ((err > 0)); then status=FAIL
  elif ((rc != 0)) || ! grep -q 'All tests passed without errors' "$log"; then status=ABORT
  elif ((ok == 0)); then status=none
  else status=pass
  fi
  # The first failure: an [err] line and its message, or the exception's first lines.
  # Under --durable the harness cuts the first 10 characters off a message that is not
  # an assertion ("ERR unknow" of "ERR unknown command") and prints the whole error on
  # the next line: take that line when it ends with the cut one.
  first="$(awk '
    /^\[err\]: / { sub(/^\[err\]: /, ""); name = $0; getline msg; getline full
                   n = length(msg)
                   if (n > 0 && length(full) > n && substr(full, length(full) - n + 1) == msg)
                     msg = full
                   print name " => " msg; exit }
    /^\[exception\]: / { sub(/^\[exception\]: Executing test client: /, "");
                         sub(/^\[exception\]: /, ""); print "exception: " $0; exit }
    /^\[TIMEOUT\]/ { print "timeout"; exit }' "$log" | cut -c1-220)"
  [[ "$status" == ABORT && -z "$first" ]] && first="$(grep -v '^\[' "$log" | grep . | tail -n 1 | cut -c1-220)"
  [[ "$status" == DIED ]] && first="server died: $(tail -n 1 "$SERVER_LOG" | cut -c1-180)"
  printf '%-28s %-7s %4s %4s %4s %5s  %s\n' "$unit" "$status" "$ok" "$err" "$ign" "$secs" "$first"
  [[ "$status" == pass || "$status" == none ]]
}

IFS=' ' read -r -a deny <<<"$DENY_TAGS"
tags=""; for t in "${deny[@]}"; do tags+="${tags:+ }-$t"; done
# shellcheck disable=SC2206  # RUNTEST_ARGS is a list of arguments
extra=(${RUNTEST_ARGS:-})

echo "redis_suite: $(basename "$SRC") tests/unit against $TARGET, ${#UNITS[@]} unit(s);" \
  "denied tags: $DENY_TAGS; logs in $LOGS"
((TOLERATE_FUNCTION_FLUSH)) &&
  echo "redis_suite: DIAGNOSTIC RUN: the harness ignores FUNCTION FLUSH errors (--tolerate-function-flush)"
SUMMARY=() failed=0
for unit in "${UNITS[@]}"; do
  name="${unit//\//_}"
  start_server "$name"
  log="$LOGS/$name.log"
  start=$SECONDS rc=0
  (cd "$WORK" && TERM=dumb timeout -k 10 "$UNIT_TIMEOUT" ./runtest --host 127.0.0.1 \
    --port "$PORT" --single "$unit" --durable --clients 1 --timeout 120 \
    --tags "$tags" "${extra[@]}") >"$log" 2>&1 </dev/null || rc=$?
  died=0; kill -0 "$SERVER_PID" 2>/dev/null || died=1
  stop_server
  line="$(summarize "$unit" "$log" "$rc" "$died" $((SECONDS - start)))" || failed=1
  echo "$line"
  SUMMARY+=("$line")
done

echo
printf '%-28s %-7s %4s %4s %4s %5s  %s\n' unit status ok err ign secs "first failure"
printf '%s\n' "${SUMMARY[@]}"
echo "redis_suite: logs in $LOGS (UNIT.log: runtest output, UNIT.server.log: the server's)"
exit "$failed"
