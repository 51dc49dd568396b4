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

status=0
echo "== unit tests"
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 300 || status=1

echo "== integration tests"
ARCA_BIN="$here/build/arca" /usr/bin/python3 -m pytest -q -p no:cacheprovider test/integration || status=1

exit "$status"
