#!/usr/bin/env bash
# Sets up, builds the Debug configuration (ASan + UBSan, warnings as errors)
# and runs every test: unit, fuzz-corpus replay and integration.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
build=${SLATE_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DSLATE_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j"$(nproc)"
