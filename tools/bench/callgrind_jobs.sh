#!/usr/bin/env bash
# tools/bench/callgrind_jobs.sh - instructions redge executes per job, counted by
# valgrind's callgrind: a figure that does not move with the machine's load, unlike CPU
# time, so two builds can be compared on a noisy 2-core VM.
#
#   tools/bench/callgrind_jobs.sh [REDGE_BINARY ...]    default: build/redge
#
# For each binary: starts it under `valgrind --tool=callgrind --instr-atstart=no` on
# ephemeral ports with a fresh data directory (--fsync everysec), warms it with 100 jobs
# (not instrumented), switches instrumentation on, and runs build/bench/jobs_load for JOBS
# jobs (default 1,000, each with EVENTS progress events, default 3, and one SSE reader on
# a fresh connection) with RESP workers and then with HTTP workers, zeroing the counts
# before each run and dumping them after; prints the instructions (Ir) per job of each. Needs valgrind and build/bench/jobs_load
# (cmake --build build -j2 --target jobs_load).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JOBS="${JOBS:-1000}"
EVENTS="${EVENTS:-3}"
LOAD="$ROOT/${BUILD_DIR:-build}/bench/jobs_load"
((${#@})) || set -- "$ROOT/${BUILD_DIR:-build}/redge"
command -v valgrind >/dev/null || { echo "callgrind_jobs: valgrind is missing" >&2; exit 2; }
command -v callgrind_control >/dev/null || { echo "callgrind_jobs: callgrind_control is missing" >&2; exit 2; }
[[ -x "$LOAD" ]] || { echo "callgrind_jobs: $LOAD is not built" >&2; exit 2; }

TMP="$(mktemp -d /tmp/redge-callgrind.XXXXXX)"
PID=""
cleanup() {
  [[ -n "$PID" ]] && kill -9 "$PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

run_binary() {
  local bin="$1" dir="$TMP/run" out="$TMP/stdout"
  rm -rf "$dir" && mkdir -p "$dir"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$TMP/cg.%p" \
    "$bin" --resp 127.0.0.1:0 --http 127.0.0.1:0 --data-dir "$dir" --fsync everysec \
    --log-level warn --http-max-conns-per-ip 0 >"$out" 2>"$TMP/stderr" &
  PID=$!
  local ready="" i
  for i in $(seq 1 600); do
    ready="$(grep -m1 '^redge ready' "$out" || true)"
    [[ -n "$ready" ]] && break
    sleep 0.1
  done
  [[ -n "$ready" ]] || { echo "callgrind_jobs: $bin did not start under valgrind" >&2; tail -5 "$TMP/stderr" >&2; exit 1; }
  local resp http
  resp="$(sed -E 's/.*resp_port=([0-9]+).*/\1/' <<<"$ready")"
  http="$(sed -E 's/.*http_port=([0-9]+).*/\1/' <<<"$ready")"
  "$LOAD" --http "$http" --resp "$resp" --jobs 100 --queue warm >/dev/null
  callgrind_control -i on "$PID" >/dev/null 2>&1
  for kind in resp http; do
    rm -f "$TMP"/cg.*
    callgrind_control -z "$PID" >/dev/null 2>&1
    "$LOAD" --http "$http" --resp "$resp" --jobs "$JOBS" --events "$EVENTS" --worker "$kind" \
      --workers 4 --queue "m$kind" >/dev/null
    callgrind_control -d "$PID" >/dev/null 2>&1
    local file ir
    file="$(ls -t "$TMP"/cg.* | head -1)"
    ir="$(awk '/^summary:|^totals:/ {print $2; exit}' "$file")"
    printf '%-40s %-5s workers: %12s instructions per job (%s jobs, %s events each)\n' \
      "$(basename "$(dirname "$(dirname "$bin")")")/$(basename "$(dirname "$bin")")/$(basename "$bin")" \
      "$kind" "$((ir / JOBS))" "$JOBS" "$EVENTS"
  done
  kill -9 "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=""
}

for bin in "$@"; do run_binary "$bin"; done
