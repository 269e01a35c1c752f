#!/usr/bin/env bash
# tools/setup.sh - everything redge needs on a fresh Debian 12 machine, then a build.
#
#   sudo tools/setup.sh [extra cmake -D options]   e.g. sudo tools/setup.sh -DREDGE_SANITIZE=ON
#
# 1. Installs the Debian packages listed below that are missing (apt-get, as root only;
#    as another user it prints the command to run and exits 1).
# 2. Installs the npm packages of tests/frameworks/bullmq (npm ci, pinned by its lockfile).
# 3. Configures and builds: cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ...
#
# Safe to run again: packages already installed are not touched and the build is
# incremental. BUILD_DIR (default: build, relative to the repository root) picks the
# build tree. When run as root on a checkout owned by another user (sudo), the build
# runs as that user, so build/ stays writable for tools/run.sh and tools/test.sh
# without sudo.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"

# What the project needs now. Add a package here when code starts needing it.
PACKAGES=(
  build-essential cmake ccache pkg-config        # toolchain
  librocksdb-dev                                 # store/
  libcpp-httplib-dev nlohmann-json3-dev          # edge/ HTTP API
  libspdlog-dev                                  # logs
  liblua5.1-0-dev lua-cjson-dev lua-bitop-dev    # Lua scripting (EVAL, FUNCTION)
  libgtest-dev                                   # tests/unit
  redis-server redis-tools python3-redis python3-pytest  # compat tests, benchmarks
  nodejs node-redis                              # the Node.js legacy worker example
  python3-prometheus-client                      # tests/integration: parses /metrics
  python3-jwt python3-cryptography               # tests/integration: JWTs, JWKS, test CAs
  dpkg-dev file systemd                          # package suite: .deb Depends, systemd-analyze
  curl ca-certificates git
  chromium python3-websocket fonts-dejavu-core  # tests/browser: headless Chromium over CDP
  libnss3-tools                                  # tests/browser: certutil trusts the test CA (HTTPS)
  python3-celery python3-kombu python3-channels-redis python3-django-channels  # tests/frameworks
  python3-daphne python3-socketio python3-rq     # tests/frameworks: real Redis frameworks
  python3-fastapi python3-uvicorn                # tests/celery: the FastAPI example of docs/celery.md
  tcl                                            # tools/redis_suite.sh: Redis's own tests
  clang-14 libclang-rt-14-dev                    # tools/fuzz.sh: libFuzzer, ASan+UBSan tree
  gdb                                            # fuzz targets: thread dump on a stall
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == installed ]] || missing+=("$pkg")
done

if ((${#missing[@]} > 0)); then
  if ((EUID != 0)); then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run this as root (or run 'sudo tools/setup.sh'):" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#PACKAGES[@]} Debian packages present"
fi

# Build as the owner of the checkout (see above); as is when that is us or root.
# shellcheck source=tools/as_owner.sh
source "$ROOT/tools/as_owner.sh"

# npm: NodeSource's nodejs (what this machine kind ships) includes it; Debian's nodejs
# needs the separate npm package.
if ! command -v npm >/dev/null; then
  if ((EUID != 0)); then
    echo "setup: npm is missing; run: apt-get install -y --no-install-recommends npm" >&2
    exit 1
  fi
  echo "setup: installing npm"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm
fi
# tests/frameworks/bullmq: BullMQ from the npm registry, at the versions its committed
# package-lock.json pins, installed into that folder only (never globally).
echo "setup: npm ci in tests/frameworks/bullmq"
(cd "$ROOT/tests/frameworks/bullmq" && as_owner npm ci --no-audit --no-fund --loglevel=error)

echo "setup: building in $BUILD_DIR"
as_owner cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "$@"
as_owner cmake --build "$BUILD_DIR" -j"$(nproc)"
echo "setup: done ($BUILD_DIR)"
