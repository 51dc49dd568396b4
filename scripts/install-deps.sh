#!/usr/bin/env bash
# Installs every Debian and npm package that arca's build, server, tests and
# benchmarks need. Idempotent: safe to run again on a machine that has them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ "$(id -u)" != 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg (e.g. unattended-upgrades at boot) instead of failing.
apt_opts=(-o DPkg::Lock::Timeout=600)
apt-get "${apt_opts[@]}" update -q
apt-get "${apt_opts[@]}" install -y -q --no-install-recommends \
  build-essential cmake pkg-config git ca-certificates openssl curl \
  libboost1.81-dev libboost-system1.81-dev libboost-url1.81-dev \
  libssl-dev nlohmann-json3-dev libsqlite3-dev libspdlog-dev libfmt-dev \
  libcli11-dev libgtest-dev libgmock-dev libcurl4-openssl-dev \
  python3 python3-hvac python3-pytest python3-requests \
  nginx-light wrk procps iproute2 psmisc \
  etcd-server etcd-client golang-etcd-server-dev \
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
  libcjose-dev libjansson-dev libldns-dev bind9 bind9-utils bind9-dnsutils

# Node.js may come from another Debian source already; install it only if absent.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get "${apt_opts[@]}" install -y -q --no-install-recommends nodejs npm
fi

# node-vault and oidc-provider for the integration tests, inside the repo's test folder.
if [ ! -d "$here/test/integration/node/node_modules/node-vault" ] ||
   [ ! -d "$here/test/integration/node/node_modules/oidc-provider" ]; then
  (cd "$here/test/integration/node" && npm install --no-audit --no-fund --loglevel=error)
fi
