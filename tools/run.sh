#!/usr/bin/env bash
# tools/run.sh - the "run redge" command.
#
#   tools/run.sh [--no-demo] [redge flags]   e.g. tools/run.sh --http 127.0.0.1:8080 --fsync always
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

# The demo worker (worker/examples/legacy_python_worker.py) serves queue "demo" over RESP,
# unless --no-demo is given. It follows a --resp flag if there is one.
demo=1
resp="127.0.0.1:6379"
args=()
for ((i = 1; i <= $#; i++)); do
  a="${!i}"
  case "$a" in
    --no-demo) demo=0 ;;
    --resp) args+=("$a"); i=$((i + 1)); resp="${!i}"; args+=("$resp") ;;
    --resp=*) resp="${a#--resp=}"; args+=("$a") ;;
    *) args+=("$a") ;;
  esac
done
if [[ "$resp" == off ]]; then demo=0; fi

if ((demo == 0)); then
  exec "$BUILD_DIR/redge" "${args[@]}"
fi

"$BUILD_DIR/redge" "${args[@]}" &
redge_pid=$!
trap 'kill "$redge_pid" 2>/dev/null; kill "$worker_pid" 2>/dev/null; wait' EXIT INT TERM
# The worker retries its connection until redge listens.
(
  until /usr/bin/python3 -c "import redis,sys; redis.Redis.from_url('redis://$resp').ping()" \
      2>/dev/null; do
    kill -0 "$redge_pid" 2>/dev/null || exit 0
    sleep 0.2
  done
  exec /usr/bin/python3 "$ROOT/worker/examples/legacy_python_worker.py" --url "redis://$resp" \
    --queue demo
) &
worker_pid=$!
cat >&2 <<MSG
run: redge is starting with a demo worker on queue "demo". Try:
  curl -s -X POST localhost:8080/v1/queues/demo/jobs -d '{"prompt":"hi"}'
  curl -N localhost:8080/v1/jobs/<id>/events
MSG
wait "$redge_pid"
