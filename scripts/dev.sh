#!/usr/bin/env bash
# Installs everything, builds arca and starts a dev server: in memory,
# initialised and unsealed, KV v2 at secret/, plain HTTP on 127.0.0.1:8200.
# Extra arguments go to `arca server -dev` (e.g. -dev-root-token-id=root).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target arca
exec ./build/arca server -dev "$@"
