#!/usr/bin/env bash
# The main job: sets up, builds the Release configuration and runs the live
# demo (testbed/live_demo.py): the controller, every emulated service and its
# sidecar of the Hotel Reservation example across 3 regions on loopback, with
# emulated inter-region delays, one phase per policy (waterfall, local,
# slate) under the same open-loop load; prints a table per policy, slate's
# routing weights, compares slate's per-region latency with slate-sim's
# closed loop on the same scenario and writes an SVG plot. Takes about 2
# minutes.
#   ./scripts/demo.sh [live_demo.py options, e.g. --duration 30 --policies waterfall,slate]
#   ./scripts/demo.sh --offline [slate-solve options]   solve the embedded example only
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
build=${SLATE_BUILD_DIR:-build-release}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
if [ "${1:-}" = "--offline" ]; then
  shift
  cmake --build "$build" -j"$(nproc)" --target slate-solve >/dev/null
  exec "$build/controller/slate-solve" "$@"
fi
cmake --build "$build" -j"$(nproc)" --target slate-controller slate-sidecar slate-demo-svc slate-load \
  slate-sim >/dev/null
exec python3 testbed/live_demo.py --bin "$build" --topology examples/hotel-reservation.json --sim-check "$@"
