#!/usr/bin/env bash
# The live demo, short (issue 6's ctest version): the controller, 51
# emulated services and their sidecars (Hotel Reservation on 3 regions,
# scale 1/20, WAN emulated) under the same open-loop load, one phase with
# waterfall and one with slate; us-west's load starts at half and doubles at
# 22 s (the overload starts); control period 2 s; profiles not refitted
# (--no-learn: the topology's profiles are the services' real ones here, and
# refits still settling made the drift before the step as large as the step's
# move in some runs; learning is tested in controller_api.sh and the
# simulator's closed loop). Asserts: slate's mean
# end-to-end latency is lower than waterfall's (ratio printed), slate has no
# failed or unfinished request, slate's mean latency per ingress region is
# within a factor of 1.6 of what slate-sim's closed loop predicts for the
# same scenario (the simulator checked against reality; regions see 100-700
# requests per phase, so a region's mean alone varies by 10-20% from run to
# run), no process reported a sanitizer error, and slate's routing at
# us-west's ingress (the rules of the classes with >= 5% of its demand; see
# live_demo.py) moves within 3 control periods of the step and by more than
# it drifted in the 3 periods before.
#
# That last check alone may repeat the demo once. It rests on one step in
# one ~30 s run: the controller sees ~100 requests per 2 s period, and in
# 2 of ~25 runs on 2 shared cores (2026-12-03) the first tables after the
# step moved the weights by less than 0.05 (0.046, 0.049) and the 0.05 move
# came 3.4 and 5.3 periods after the step (1.1-1.6 periods in the others).
# A second miss fails the test; a repeat is printed.
set -euo pipefail
bindir=$1
root=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Runs the demo into $out/run$1; returns 0, 1 (a hard check failed) or 3
# (only the step reaction missed). Called under ||, so errexit is off inside:
# every step checks its own status.
run_demo() {
  local dir="$out/run$1"
  python3 "$root/testbed/live_demo.py" --bin "$bindir" --topology "$root/examples/hotel-reservation.json" \
    --duration 32 --step-at 22 --scale 20 --policies waterfall,slate --period-ms 2000 --sim-check \
    --controller-arg=--no-learn --out "$dir" |
    grep -E '^(live demo|phase|waterfall|slate|\(failed)|lower than|load step|live slate against|  us-)' ||
    { echo "FAIL: the live demo did not complete"; return 1; }
  if grep -l 'AddressSanitizer\|runtime error:\|LeakSanitizer' "$dir"/*/*.log; then
    echo "FAIL: a process reported a sanitizer error"
    return 1
  fi
  python3 - "$dir/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
w, s = r["waterfall"]["total"], r["slate"]["total"]
st = r["slate"]["streams"]
failed = sum(x["status_5xx"] + x["status_4xx"] + x["transport_errors"] + x["refused"] + x["unanswered"]
             for x in st)
print(f"slate mean {s['mean_ms']:.1f} ms vs waterfall {w['mean_ms']:.1f} ms: "
      f"{w['mean_ms'] / s['mean_ms']:.2f}x lower; slate failed or unfinished: {failed}")
assert s["mean_ms"] < w["mean_ms"], "slate must beat waterfall in the overload scenario"
assert failed == 0, "slate must not fail requests"
for region, c in r["sim_check"].items():
    assert 1 / 1.6 <= c["ratio"] <= 1.6, "%s: live %.1f ms vs simulated %.1f ms" % (
        region, c["live_mean_ms"], c["sim_mean_ms"])
print("live/sim per region: " + ", ".join("%s %.2f" % (k, v["ratio"]) for k, v in r["sim_check"].items()))
shift = r["slate"].get("shift_after_step_s")
move = r["slate"].get("move_after_step") or 0
drift = r["slate"].get("drift_before_step") or 0
print("weights after the step: moved after %s s (period 2 s); largest move in 3 periods after %.3f, "
      "drift in 3 periods before %.3f" % (shift, move, drift))
if shift is None or shift > 3 * 2.0:
    print("MISS: slate's weights did not shift within 3 control periods")
    sys.exit(3)
if not move > drift:
    print("MISS: the step's move did not stand out from the drift before it")
    sys.exit(3)
PY
}

rc=0
run_demo 1 || rc=$?
if [ "$rc" -eq 3 ]; then
  echo "step reaction missed in run 1; repeating the demo once"
  rc=0
  run_demo 2 || rc=$?
fi
if [ "$rc" -ne 0 ]; then
  echo "FAIL live_demo_short"
  exit 1
fi
echo "PASS live_demo_short"
