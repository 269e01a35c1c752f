#!/usr/bin/env bash
# tools/test.sh - the one command that runs every test of redge.
#
#   sudo tools/test.sh        (root only needed when Debian packages are missing)
#
# Runs tools/setup.sh first (packages + build), so it works on a fresh Debian 12 machine,
# then each suite listed under "The suites" below, even after one fails, and ends with a
# summary line. Exits non-zero if setup or any suite failed. BUILD_DIR is honoured as in
# tools/setup.sh and exported to the Python suites as REDGE_BUILD_DIR (absolute).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export BUILD_DIR="${BUILD_DIR:-build}"
REDGE_BUILD_DIR="$(realpath -m "$BUILD_DIR")"
export REDGE_BUILD_DIR

if ! tools/setup.sh; then
  echo "test: SUMMARY: setup or build failed; no tests were run" >&2
  exit 1
fi

# Tests run as the owner of the checkout (as tools/setup.sh builds), so a 'sudo' run
# leaves no root-owned files in the build tree.
# shellcheck source=tools/as_owner.sh
source "$ROOT/tools/as_owner.sh"

results=()
failed=0
# Each suite's output is also kept here; the end of a failed suite's output is printed
# again just before the summary, so that a CI log cut in the middle still shows it.
SUITE_LOGS="$(mktemp -d /tmp/redge-test-logs.XXXXXX)"
failed_logs=()
trap 'rm -rf "$SUITE_LOGS"' EXIT

# logged NAME COMMAND...: runs COMMAND with its output shown and kept for NAME.
logged() {
  local log
  log="$SUITE_LOGS/$(tr -c 'A-Za-z0-9_\n' '_' <<<"$1").log"
  shift
  { "$@" 2>&1 | tee "$log"; } || return $?
}

# suite_failed NAME: records NAME's log to be shown again at the end.
suite_failed() {
  failed=1
  failed_logs+=("$1")
}

# run_suite NAME COMMAND...: runs one suite and records its outcome.
run_suite() {
  local name="$1" rc=0 t0=$SECONDS
  shift
  echo
  echo "==> $name: $*"
  logged "$name" as_owner "$@" || rc=$?
  if ((rc == 0)); then
    results+=("$name passed ($((SECONDS - t0)) s)")
  else
    results+=("$name FAILED (exit $rc, $((SECONDS - t0)) s)")
    suite_failed "$name"
  fi
}

# run_pytest NAME DIR...: the Python suites in DIRs, with Debian's python3 (it has
# python3-redis and python3-pytest). Skipped while the directories hold no test_*.py.
run_pytest() {
  local name="$1" rc=0 dirs=() d t0=$SECONDS
  shift
  for d in "$@"; do
    if [[ -d "$d" ]] && [[ -n "$(find "$d" -name 'test_*.py' -print -quit)" ]]; then
      dirs+=("$d")
    fi
  done
  if ((${#dirs[@]} == 0)); then
    echo
    echo "==> $name: skipped (no test_*.py in $*)"
    results+=("$name skipped (no tests yet)")
    return
  fi
  echo
  echo "==> $name: pytest ${dirs[*]}"
  logged "$name" as_owner env PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m pytest -q \
    -p no:cacheprovider "${dirs[@]}" || rc=$?
  if ((rc == 0)); then
    results+=("$name passed ($((SECONDS - t0)) s)")
  elif ((rc == 5)); then  # pytest: no tests collected
    results+=("$name skipped (no tests collected)")
  else
    results+=("$name FAILED (exit $rc)")
    suite_failed "$name"
  fi
}

# run_suite_fn NAME FUNCTION: like run_suite for a function of this script, run in this
# shell (it decides itself what runs as the owner and what needs root).
run_suite_fn() {
  local name="$1" rc=0 t0=$SECONDS
  shift
  echo
  echo "==> $name: $*"
  logged "$name" "$@" || rc=$?
  if ((rc == 0)); then
    results+=("$name passed ($((SECONDS - t0)) s)")
  else
    results+=("$name FAILED (exit $rc, $((SECONDS - t0)) s)")
    suite_failed "$name"
  fi
}

# --- Sanitizer trees ------------------------------------------------------------------
# FUZZ_TREE: clang-14 with ASan + UBSan + libFuzzer coverage (-DREDGE_FUZZ=ON): the fuzz
# targets, and the same redge and unit tests for the ASan+UBSan suites (one compile
# serves both). TSAN_TREE: g++ with -DREDGE_TSAN=ON, the unit tests only.
FUZZ_TREE="${FUZZ_BUILD_DIR:-build-fuzz}"
TSAN_TREE="${TSAN_BUILD_DIR:-build-tsan}"

build_fuzz_tree() {
  as_owner cmake -S . -B "$FUZZ_TREE" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-14 -DREDGE_FUZZ=ON >/dev/null &&
    as_owner cmake --build "$FUZZ_TREE" -j2
}

build_tsan_tree() {
  as_owner cmake -S . -B "$TSAN_TREE" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREDGE_TSAN=ON \
    >/dev/null && as_owner cmake --build "$TSAN_TREE" -j2 --target redge_unit_tests
}

# sanitized TREE CMD...: runs CMD (as the owner) with every sanitizer report written to
# TREE/sanitizer-reports instead of a log nobody reads; fails when CMD fails or when any
# report was written, even by a server process a test stopped cleanly (LeakSanitizer
# reports at exit). UBSan aborts at its first report (the trees build it so).
sanitized() {
  local tree="$1" rc=0 reports f
  shift
  reports="$(realpath -m "$tree")/sanitizer-reports"
  rm -rf "$reports"
  as_owner mkdir -p "$reports"
  as_owner env ASAN_OPTIONS="log_path=$reports/asan:abort_on_error=1:detect_leaks=1" \
    UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1" \
    LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0" \
    TSAN_OPTIONS="log_path=$reports/tsan:second_deadlock_stack=1" "$@" || rc=$?
  for f in "$reports"/*; do
    [[ -e "$f" ]] || continue
    echo "sanitizer report $f:"
    head -150 "$f"
    rc=$((rc ? rc : 1))
  done
  return "$rc"
}

# package_suite: the Debian package and the files it ships. Builds it (the `package`
# target), checks the example config against `redge --help` and check-config, checks the
# unit with systemd-analyze verify (when present) and the .deb's contents, conffiles and
# Depends. Only as root with CI=true (a CI machine, which it may change) it also installs
# the .deb with dpkg -i, runs /usr/bin/redge --version, verifies the installed unit and
# removes the package again. A subshell, so `die` and the cleanup trap stay local.
package_suite() (
  die() {
    echo "package: FAILED: $*" >&2
    exit 1
  }
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT

  as_owner cmake --build "$BUILD_DIR" -j2 --target package || die "cmake --target package"
  version="$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$BUILD_DIR/CPackConfig.cmake")"
  [[ -n "$version" ]] || die "no CPACK_PACKAGE_VERSION in $BUILD_DIR/CPackConfig.cmake"
  deb="$BUILD_DIR/redge_${version}_$(dpkg --print-architecture).deb"
  [[ -f "$deb" ]] || die "$deb was not built"
  echo "package: built $deb"

  # The example config: every setting of --help is listed (commented out, so a new setting
  # cannot be forgotten), and both it and a copy with every line uncommented are valid,
  # but for `aclfile`, which the file offers as the alternative to its `user` line (the
  # two together are refused, and the copy with both must be).
  "$BUILD_DIR/redge" check-config systemd/redge.conf || die "check-config systemd/redge.conf"
  while read -r name; do
    grep -q "^#$name " systemd/redge.conf || die "systemd/redge.conf does not list '$name'"
  done < <("$BUILD_DIR/redge" --help | sed -n 's/^  --\([a-z-]*\).*/\1/p' | grep -vx config)
  sed -E 's/^#([a-z])/\1/' systemd/redge.conf >"$tmp/uncommented.conf"
  ! "$BUILD_DIR/redge" check-config "$tmp/uncommented.conf" 2>/dev/null ||
    die "systemd/redge.conf with both user and aclfile uncommented passed check-config"
  sed -E '/^#aclfile /!s/^#([a-z])/\1/' systemd/redge.conf >"$tmp/uncommented.conf"
  "$BUILD_DIR/redge" check-config "$tmp/uncommented.conf" >/dev/null ||
    die "systemd/redge.conf with every setting but aclfile uncommented"

  # The unit, with ExecStart= pointed at the build's binary (verify checks that the
  # executable exists). Any output is a warning and fails the suite.
  if command -v systemd-analyze >/dev/null; then
    sed "s|^ExecStart=/usr/bin/redge |ExecStart=$(realpath "$BUILD_DIR")/redge |" \
      systemd/redge.service >"$tmp/redge.service"
    out="$(systemd-analyze verify "$tmp/redge.service" 2>&1)" || die "systemd-analyze verify: $out"
    [[ -z "$out" ]] || die "systemd-analyze verify warned: $out"
    echo "package: systemd-analyze verify redge.service: clean"
  else
    echo "package: systemd-analyze not installed; unit not verified"
  fi

  contents="$(dpkg-deb -c "$deb")" || die "dpkg-deb -c $deb"
  echo "$contents"
  for f in ./usr/bin/redge ./lib/systemd/system/redge.service ./etc/redge/redge.conf; do
    grep -q " $f\$" <<<"$contents" || die "$deb lacks $f"
  done
  [[ "$(dpkg-deb -f "$deb" Version)" == "$version" ]] || die "package version is not $version"
  grep -qx /etc/redge/redge.conf <(dpkg-deb -I "$deb" conffiles) ||
    die "/etc/redge/redge.conf is not a conffile"
  depends="$(dpkg-deb -f "$deb" Depends)"
  echo "package: Depends: $depends"
  grep -q librocksdb <<<"$depends" || die "Depends lacks librocksdb"

  if ((EUID != 0)) || [[ "${CI:-}" != true ]]; then
    echo "package: not installed (that needs root and CI=true); contents checked"
    exit 0
  fi
  was_installed="$(dpkg-query -W -f='${db:Status-Status}' redge 2>/dev/null || true)"
  export DEBIAN_FRONTEND=noninteractive
  if ! dpkg -i "$deb"; then
    apt-get -f install -y --no-install-recommends || die "apt-get -f install (dependencies)"
  fi
  [[ "$(dpkg-query -W -f='${db:Status-Status}' redge)" == installed ]] || die "not installed"
  out="$(/usr/bin/redge --version)" || die "/usr/bin/redge --version failed"
  [[ "$out" == "redge $version" ]] || die "/usr/bin/redge --version printed '$out'"
  echo "package: installed; /usr/bin/redge --version: $out"
  conffiles="$(dpkg-query -W -f='${Conffiles}\n' redge)" || die "dpkg-query redge"
  grep -q '/etc/redge/redge.conf ' <<<"$conffiles" ||
    die "dpkg does not track /etc/redge/redge.conf as a conffile"
  if command -v systemd-analyze >/dev/null; then
    out="$(systemd-analyze verify /lib/systemd/system/redge.service 2>&1)" ||
      die "systemd-analyze verify (installed): $out"
    [[ -z "$out" ]] || die "systemd-analyze verify (installed) warned: $out"
  fi
  # Leave the machine as it was: a package installed only for this check goes again.
  if [[ "$was_installed" != installed ]]; then
    dpkg --purge redge || die "dpkg --purge redge"
  fi
)

# --- The suites: every test of redge is listed here. ------------------------------
# GoogleTest unit tests and the crash test (per-test timeouts are set in CMake).
run_suite "ctest (unit, crash)" \
  ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error -j2
# Real redge processes and real Redis clients.
run_pytest "pytest (integration, compat, browser)" tests/integration tests/compat tests/browser
# Real frameworks, unchanged, against a real redge: Celery, Django Channels (channels_redis),
# python-socketio's RedisManager, RQ.
run_pytest "pytest (frameworks)" tests/frameworks
# The Celery bridge: stock Celery workers on redge, what browsers see of their tasks
# (SSE, long-poll, headless Chromium with the example of docs/celery.md).
run_pytest "pytest (celery bridge)" tests/celery
# The whole system SIGKILLed 30 times under load, then checked (prints its figures).
run_suite "crash (whole system, 30 SIGKILLs)" env PYTHONDONTWRITEBYTECODE=1 \
  /usr/bin/python3 -m pytest -q -s -p no:cacheprovider tests/crash
# Mixed load for 2 minutes; fails if resources keep growing (tools/bench/soak).
run_suite "soak (2 minutes)" tools/bench/soak --minutes 2
# ASan + UBSan (clang-14): the fuzz targets for 60 s each, two at a time, then the unit
# and integration suites against the sanitized redge.
run_suite_fn "build: ASan+UBSan+libFuzzer tree ($FUZZ_TREE)" build_fuzz_tree
run_suite "fuzz (7 targets x 60 s, ASan+UBSan)" env BUILD_DIR="$FUZZ_TREE" FUZZ_JOBS=2 \
  FUZZ_SKIP_BUILD=1 tools/fuzz.sh 60
run_suite_fn "asan+ubsan: ctest (unit, crash)" sanitized "$FUZZ_TREE" \
  ctest --test-dir "$FUZZ_TREE" --output-on-failure --no-tests=error -j2
run_suite_fn "asan+ubsan: pytest (integration)" sanitized "$FUZZ_TREE" env \
  REDGE_BUILD_DIR="$(realpath -m "$FUZZ_TREE")" REDGE_TEST_TIME_SCALE=3 REDGE_SANITIZED=1 \
  PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration
# ThreadSanitizer: the unit tests of the store, the event loops and the jobs layer (the
# HTTP server tests run JobService on the loops); not the crash test, which only kills.
run_suite_fn "build: TSan tree ($TSAN_TREE)" build_tsan_tree
run_suite_fn "tsan: unit (store, event loop, jobs)" sanitized "$TSAN_TREE" \
  "$TSAN_TREE/tests/redge_unit_tests" '--gtest_filter=-CrashTest.*'
# The Debian package: built and checked; installed too as root on CI.
run_suite_fn "package" package_suite
# ------------------------------------------------------------------------------------

echo
for name in "${failed_logs[@]}"; do
  echo "==> $name FAILED; the end of its output:"
  tail -n 80 "$SUITE_LOGS/$(tr -c 'A-Za-z0-9_\n' '_' <<<"$name").log"
  echo
done
summary="$(printf '%s; ' "${results[@]}")"
if ((failed)); then
  echo "test: SUMMARY: FAILED: ${summary%; }"
  exit 1
fi
echo "test: SUMMARY: OK: ${summary%; }"
