#!/usr/bin/env bash
# tools/fuzz.sh - builds the libFuzzer targets of tests/fuzz and runs each of them.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]     e.g. tools/fuzz.sh 60; tools/fuzz.sh 1800 http_api
#
# SECONDS per target (default 60). TARGETs are names without the fuzz_ prefix (default:
# every target). The build is its own tree, BUILD_DIR (default build-fuzz), configured with
# clang++-14, -DREDGE_FUZZ=ON (ASan + UBSan + coverage), RelWithDebInfo. Each target starts
# from its seeds (tests/fuzz/corpus/<target>, read only) plus what earlier runs found
# (BUILD_DIR/fuzz-corpus/<target>, where new inputs go). FUZZ_JOBS targets run at once
# (default 1; CI uses 2 on its 2 cores).
#
# A finding (crash, sanitizer report, timeout, out-of-memory, leak) is saved as
# BUILD_DIR/fuzz-artifacts/<target>/crash-* (or timeout-*, oom-*, leak-*) and fails the
# run; reproduce it with `BUILD_DIR/fuzz/fuzz_<target> <file>` (REDGE_FUZZ_TRACE=1 prints
# the commands or requests of a server target's input).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build-fuzz}"
SECONDS_PER_TARGET="${1:-60}"
shift || true
FUZZ_JOBS="${FUZZ_JOBS:-1}"
CXX_FOR_FUZZ="${CXX_FOR_FUZZ:-clang++-14}"

if ! command -v "$CXX_FOR_FUZZ" >/dev/null; then
  echo "fuzz: $CXX_FOR_FUZZ not found (tools/setup.sh installs clang-14 and libclang-rt-14-dev)" >&2
  exit 1
fi
[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || { echo "fuzz: SECONDS must be a number" >&2; exit 2; }

# Per target: libFuzzer flags beyond the common ones. The server targets run redge's own
# threads, whose caches make libFuzzer's per-input leak check both slow and wrong (LSan
# still checks for leaks when the process exits); their inputs are command sequences, so
# short ones go a long way.
declare -A FLAGS=(
  [resp_parser]="-max_len=16384"
  [http_parser]="-max_len=16384"
  [config]="-max_len=8192"
  [job_json]="-max_len=8192 -detect_leaks=0"
  [resp_commands]="-max_len=4096 -detect_leaks=0"
  [http_api]="-max_len=4096 -detect_leaks=0"
  [restore]="-max_len=40000 -detect_leaks=0"
)
ALL_TARGETS=(resp_parser http_parser config job_json resp_commands http_api restore)
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
  [[ -n "${FLAGS[$t]+x}" ]] || { echo "fuzz: unknown target '$t' (${ALL_TARGETS[*]})" >&2; exit 2; }
done

if [[ "${FUZZ_SKIP_BUILD:-}" != 1 ]]; then  # 1: run the binaries already in BUILD_DIR/fuzz
  echo "fuzz: building in $BUILD_DIR ($CXX_FOR_FUZZ, ASan+UBSan+libFuzzer)"
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$CXX_FOR_FUZZ" -DREDGE_FUZZ=ON >/dev/null
  cmake --build "$BUILD_DIR" -j2 --target fuzz_targets
fi

# A sanitizer report aborts (the build makes UBSan fatal); allocator misuse too.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:allocator_may_return_null=0:detect_stack_use_after_return=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# OpenSSL's per-thread error queues are not leaks of ours (tests/lsan.supp says why).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}"

run_target() {
  local t="$1" work="$BUILD_DIR/fuzz-corpus/$1" art="$BUILD_DIR/fuzz-artifacts/$1"
  mkdir -p "$work" "$art"
  # shellcheck disable=SC2086
  "$BUILD_DIR/fuzz/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=30 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$art/" ${FLAGS[$t]} \
    "$work" "tests/fuzz/corpus/$t"
}

declare -A PIDS=()
results=()
failed=0
finish() {  # finish TARGET: waits for it and records the outcome
  local t="$1" rc=0 log="$BUILD_DIR/fuzz-artifacts/$1.log" stats
  wait "${PIDS[$t]}" || rc=$?
  # (|| true: a target that never started has no stats, and its failure is reported below)
  stats="$({ grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
    "$log" || true; } | sed 's/^stat:://; s/: */=/' | tr '\n' ' ')"
  local cov
  cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)"
  if ((rc == 0)); then
    results+=("$t ok (${SECONDS_PER_TARGET}s; $cov; $stats)")
  else
    results+=("$t FAILED (exit $rc; see $log and $BUILD_DIR/fuzz-artifacts/$t/)")
    failed=1
    echo "==> fuzz_$t failed; the end of its log:" >&2
    tail -60 "$log" >&2
    # CI keeps only the log: print each finding (up to 8 KiB) so it can be replayed
    # elsewhere with `base64 -d > file && BUILD_DIR/fuzz/fuzz_<target> file`.
    local f
    for f in "$BUILD_DIR/fuzz-artifacts/$t"/{crash,timeout,oom,leak,slow-unit}-*; do
      [[ -f "$f" ]] || continue
      if (($(stat -c %s "$f") <= 8192)); then
        echo "==> $f (base64):" >&2
        base64 -w 0 "$f" >&2
        echo >&2
      fi
    done
  fi
  unset "PIDS[$t]"
}

mkdir -p "$BUILD_DIR/fuzz-artifacts"
for t in "${TARGETS[@]}"; do
  while ((${#PIDS[@]} >= FUZZ_JOBS)); do
    # Wait for the oldest running target.
    for running in "${!PIDS[@]}"; do
      finish "$running"
      break
    done
  done
  echo "fuzz: fuzz_$t for ${SECONDS_PER_TARGET}s (${FLAGS[$t]})"
  run_target "$t" >"$BUILD_DIR/fuzz-artifacts/$t.log" 2>&1 &
  PIDS[$t]=$!
done
for running in "${!PIDS[@]}"; do finish "$running"; done

echo
for r in "${results[@]}"; do echo "fuzz: $r"; done
exit "$failed"
