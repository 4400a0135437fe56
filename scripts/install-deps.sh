#!/usr/bin/env bash
# Installs what partwatch needs to build, test and demo, from Debian's
# packages only.  Idempotent and quick when everything is already there.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libpq-dev libconcurrentqueue-dev libspdlog-dev libfmt-dev
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libgtest-dev
  postgresql-15 postgresql-client-15 postgresql-15-partman
  libcpp-httplib-dev prometheus-cpp-dev prometheus prometheus-alertmanager
  libsimdjson-dev postgresql-15-wal2json
  curl python3 libxxhash-dev libzstd-dev
  liblz4-dev zlib1g-dev  # WAL page images and compressed segments (replay --wal-dir)
  gzip lz4 zstd  # the tests compress archived segments as archivers do
  chromium  # headless, for the HTML replay report's browser test (report_tests)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
