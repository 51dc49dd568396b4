#!/usr/bin/env bash
# Installs everything, builds arca and runs every test: the unit tests
# (GoogleTest through CTest) and the integration tests (python3-hvac,
# node-vault and the arca CLI against real servers on loopback).
# Exits non-zero if anything fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

bash scripts/install-deps.sh
jobs="$(nproc)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"

unit=ok
integration=ok
echo "== unit tests"
ctest --test-dir build --output-on-failure --no-tests=error -j "$jobs" --timeout 300 || unit=FAIL

echo "== integration tests"
ARCA_BIN="$here/build/arca" /usr/bin/python3 -m pytest -q -p no:cacheprovider test/integration ||
  integration=FAIL

echo "== summary: unit tests $unit, integration tests $integration"
[ "$unit" = ok ] && [ "$integration" = ok ]
