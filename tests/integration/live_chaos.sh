#!/usr/bin/env bash
# The live demo's chaos phase, short (issue 6): Hotel Reservation on 3
# regions (scale 1/20, WAN emulated, 2 s control period) under open-loop load
# with slate; after 5 s the controller is stopped for 30 s (sidecars keep
# their tables) and restarted from its state dir; 5 s later one region's
# search instance (app and sidecar) is killed. Asserts, by when requests were
# sent: no request fails while the controller is away or after it restarts,
# the error rate from 2 control periods after the kill on is under 0.1%,
# nothing is left unanswered, and no process reported a sanitizer error.
set -euo pipefail
bindir=$1
root=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python3 "$root/testbed/live_demo.py" --bin "$bindir" --topology "$root/examples/hotel-reservation.json" \
  --duration 3 --scale 20 --policies slate --period-ms 2000 --chaos --chaos-duration 50 --out "$out" |
  sed -n '/^chaos phase/,$p'
if grep -l 'AddressSanitizer\|runtime error:\|LeakSanitizer' "$out"/*/*.log; then
  echo "FAIL: a process reported a sanitizer error"
  exit 1
fi
python3 - "$out/results.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["chaos"]
w = c["windows"]
assert [x["after"].split(" ")[0] for x in w] == ["before", "controller", "controller", "killed"], w
for x in w[:3]:
    assert x["ok"] > 0, "no traffic in a window: %s" % x
    assert x["failed"] == 0, "requests failed %s" % x["after"]
rate = c["settled_failed"] / max(1, c["settled_ok"] + c["settled_failed"])
print("after the kill: %d failed in its first 2 periods, %d of %d (%.3f%%) from then on"
      % (w[3]["failed"] - c["settled_failed"], c["settled_failed"],
         c["settled_ok"] + c["settled_failed"], 100 * rate))
assert rate < 0.001, "the error rate must be back under 0.1% within 2 control periods"
assert c["unfinished"] == 0, "requests left unanswered"
PY
echo "PASS live_chaos"
