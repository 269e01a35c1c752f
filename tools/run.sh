#!/usr/bin/env bash
# tools/run.sh - the "run redge" command.
#
#   tools/run.sh [redge flags]     e.g. tools/run.sh --http 127.0.0.1:8080 --fsync always
#
# Runs tools/setup.sh (installs missing Debian packages when root, builds), then execs
# the server build/redge with the flags given, in the current directory (so relative
# paths such as the default --data-dir ./redge-data are relative to where you are).
# BUILD_DIR is honoured as in tools/setup.sh (relative to the repository root).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"
[[ "$BUILD_DIR" == /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"

# Setup's progress goes to stderr; stdout is the server's.
BUILD_DIR="$BUILD_DIR" "$ROOT/tools/setup.sh" >&2

if [[ ! -x "$BUILD_DIR/redge" ]]; then
  echo "run: $BUILD_DIR/redge was not built; see the output of tools/setup.sh above" >&2
  exit 1
fi
exec "$BUILD_DIR/redge" "$@"
