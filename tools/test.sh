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
owner="$(stat -c %U "$ROOT")"
as_owner() {
  if ((EUID == 0)) && [[ "$owner" != root && "$owner" != UNKNOWN ]]; then
    runuser -u "$owner" -- "$@"
  else
    "$@"
  fi
}

results=()
failed=0

# run_suite NAME COMMAND...: runs one suite and records its outcome.
run_suite() {
  local name="$1" rc=0
  shift
  echo
  echo "==> $name: $*"
  as_owner "$@" || rc=$?
  if ((rc == 0)); then
    results+=("$name passed")
  else
    results+=("$name FAILED (exit $rc)")
    failed=1
  fi
}

# run_pytest NAME DIR...: the Python suites in DIRs, with Debian's python3 (it has
# python3-redis and python3-pytest). Skipped while the directories hold no test_*.py.
run_pytest() {
  local name="$1" rc=0 dirs=() d
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
  as_owner env PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    "${dirs[@]}" || rc=$?
  if ((rc == 0)); then
    results+=("$name passed")
  elif ((rc == 5)); then  # pytest: no tests collected
    results+=("$name skipped (no tests collected)")
  else
    results+=("$name FAILED (exit $rc)")
    failed=1
  fi
}

# --- The suites: every test of redge is listed here. ------------------------------
# GoogleTest unit tests and the crash test (per-test timeouts are set in CMake).
run_suite "ctest (unit, crash)" \
  ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error -j2
# Real redge processes and real Redis clients.
run_pytest "pytest (integration, compat)" tests/integration tests/compat
# ------------------------------------------------------------------------------------

echo
summary="$(printf '%s; ' "${results[@]}")"
if ((failed)); then
  echo "test: SUMMARY: FAILED: ${summary%; }"
  exit 1
fi
echo "test: SUMMARY: OK: ${summary%; }"
