#!/usr/bin/env bash
# Runs every test: installs what is missing (Debian packages), builds, then
# runs the unit tests (decoder, policy, config) and the integration tests,
# which start their own throwaway PostgreSQL 15 (scripts/pgtmp).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure --timeout 900 "$@"
