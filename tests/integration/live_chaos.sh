#!/usr/bin/env bash
# The live demo's chaos phase, short (issue 6): Hotel Reservation on 3
# regions (scale 1/20, WAN emulated, 2 s control period) under open-loop load
# with slate; after 5 s the controller is stopped for 30 s (sidecars keep
# their tables) and restarted from its state dir; 10 s later one region's
# search instance (app and sidecar) is killed. Asserts, by when
# requests were sent: none fails while the controller is away or after it
# restarts (up to 2 s before the kill: requests in flight at the kill, whose
# calls the dead instance was serving, may fail), the error rate from 2
# control periods after the kill on is under 0.1%, nothing is left
# unanswered, and no process reported a sanitizer error. The phase drains
# 15 s: with search@us-east gone the two search instances left run at 97% of
# their capacity (53.5 of 55 req/s), so /hotels latency climbs to 5-7 s by
# the end of the load (measured, Release too); the drain is longer than
# slate-load's 10 s request timeout, so a hung request would be counted as
# failed and trip the error-rate assertion rather than hide.
set -euo pipefail
bindir=$1
root=$2
out=$(mktemp -d)
# Kept for a look when the test fails.
trap 'if [ $? = 0 ]; then rm -rf "$out"; else echo "logs kept in $out"; fi' EXIT
python3 "$root/testbed/live_demo.py" --bin "$bindir" --topology "$root/examples/hotel-reservation.json" \
  --duration 3 --scale 20 --policies slate --period-ms 2000 --chaos --chaos-duration 55 --out "$out" |
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
kill_at = w[3]["from_s"]
for x in w[:3]:
    assert x["ok"] > 0, "no traffic in a window: %s" % x
early = {int(k): n for k, n in c["failed_by_second"].items() if int(k) + 1 <= kill_at - 2}
assert not early, "requests failed before the kill (by second sent): %s" % early
rate = c["settled_failed"] / max(1, c["settled_ok"] + c["settled_failed"])
inflight = sum(n for k, n in c["failed_by_second"].items() if int(k) + 1 > kill_at - 2)
print("controller away 30 s and restarted: 0 failed; killed instance: %d failed (sent in the 2 s "
      "before the kill or the 2 periods after), %d of %d (%.3f%%) from 2 periods after on"
      % (inflight - c["settled_failed"], c["settled_failed"],
         c["settled_ok"] + c["settled_failed"], 100 * rate))
assert rate < 0.001, "the error rate must be back under 0.1% within 2 control periods"
if c["unfinished"]:
    r = json.load(open(sys.argv[1].replace("results.json", "chaos/load-slate.json")))
    print("unanswered:", [(x["class"], x["cluster"], x["unanswered"]) for x in r["streams"] if x["unanswered"]])
assert c["unfinished"] == 0, "requests left unanswered"
PY
echo "PASS live_chaos"
