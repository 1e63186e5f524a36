#!/usr/bin/env bash
# Simulator benchmark (issue 3): discrete-event throughput in simulated calls
# per second of wall time (one core: the simulator is single-threaded), per
# example scenario with the slate policy, next to a reference measured in
# the same run (SHA-256 over 256 MB with Python's hashlib, in MB/s) so runs
# on noisy shared machines can be compared; then every example scenario's
# table with all policies. Prints measurements; fails on none.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-release
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target slate-sim -j2 >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ref=$(python3 -c '
import hashlib, time
b = bytes(1 << 20); t = time.perf_counter(); h = hashlib.sha256()
for _ in range(256): h.update(b)
print(round(256 / (time.perf_counter() - t), 1))')
echo "reference: sha256 ${ref} MB/s (same run)"
printf "%-40s %12s %10s %14s %12s\n" scenario calls wall_s "calls/s" "per ref MB/s"
for s in "$root"/examples/scenario-*.json; do
  name=$(basename "$s" .json)
  t0=$(date +%s.%N)
  "$build/sim/slate-sim" "$s" --policies slate --mode des --json "$dir/$name.json" >/dev/null
  t1=$(date +%s.%N)
  python3 - "$dir/$name.json" "$t0" "$t1" "$name" "$ref" <<'PY'
import json, sys
row = [r for r in json.load(open(sys.argv[1]))["rows"] if r["mode"] == "des"][0]
wall = float(sys.argv[3]) - float(sys.argv[2])
calls = row["simulated_calls"]
print("%-40s %12d %10.2f %14.0f %12.0f" % (sys.argv[4], calls, wall, calls / wall, calls / wall / float(sys.argv[5])))
PY
done
echo "(wall time includes loading the scenario and solving slate's LP per timeline segment)"
for s in "$root"/examples/scenario-*.json; do
  echo
  echo "== $(basename "$s" .json), all policies, discrete-event"
  "$build/sim/slate-sim" "$s" --policies all --mode des
done
