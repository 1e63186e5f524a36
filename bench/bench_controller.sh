#!/usr/bin/env bash
# slate-controller benchmark (issue 4): report ingestion with wrk posting a
# realistic report (Online Boutique frontend, ~3 KB) while the control loop
# runs, next to GET /healthz measured the same way in the same run (the
# reference: the same server doing no work); then 5000 concurrent long-polls
# held open (suspended, no thread each) with the daemon's RSS, and how fast
# they are all answered when a new version is published.
# A benchmark, not a test: it prints measurements and never fails on them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-release
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target slate-controller -j2 >/dev/null
duration=${SLATE_BENCH_SECONDS:-10}
dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ulimit -n 20000 2>/dev/null || true
echo benchtoken >"$dir/token"
"$build/controller/slate-controller" --listen 127.0.0.1:0 --port-file "$dir/port" \
  --token-file "$dir/token" --period-ms 1000 --log-level warn --threads 2 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$dir/port")"
curl -s -o /dev/null -X PUT -H 'Authorization: Bearer benchtoken' \
  --data-binary @"$root/examples/online-boutique.json" "$url/v1/topology"
sleep 1.5

python3 - "$dir/report.json" <<'PY'
import json, sys, time
def bucket(v):
    if v < 16: return v
    e = v.bit_length() - 1
    return 16 + 8 * (e - 4) + ((v >> (e - 3)) & 7)
def hist(n, lo):
    # n requests spread over 12 buckets from lo us up
    bs = {}
    for i in range(n):
        us = lo + (i % 12) * lo // 4
        bs[bucket(us)] = bs.get(bucket(us), 0) + 1
    return {"count": n, "sum_us": sum(lo + (i % 12) * lo // 4 for i in range(n)),
            "buckets": [[b, c] for b, c in sorted(bs.items())]}
now = int(time.time() * 1000)
classes = ["home", "product", "cart", "checkout"]
out = []
for k in classes:
    for dst in ["productcatalogservice"]:
        out.append({"class": k, "dst_service": dst, "dst_cluster": "us-west", "count": 120,
                    "errors": 0, "latency": hist(120, 900), "request_bytes": 24000, "response_bytes": 96000})
rep = {"service": "frontend", "cluster": "us-west", "instance": "frontend-us-west-0",
       "address": "127.0.0.1:15006", "window": {"start_ms": now - 1000, "end_ms": now},
       "inbound": [{"class": k, "count": 120, "ingress": 120, "errors": 0, "inflight_mean": 3.2,
                    "latency": hist(120, 4000), "self_time": hist(120, 1500)} for k in classes],
       "outbound": out}
open(sys.argv[1], "w").write(json.dumps(rep))
PY
bytes=$(wc -c <"$dir/report.json")
cat >"$dir/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer benchtoken"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$dir/report.json", "rb")
wrk.body = f:read("*all")
f:close()
EOF
run_wrk() { wrk -t2 -c32 -d"${duration}s" --latency "$@" 2>&1; }
echo "report size: $bytes bytes; wrk -t2 -c32 -d${duration}s on 2 shared cores"
ref=$(run_wrk "$url/healthz")
rep=$(run_wrk -s "$dir/post.lua" "$url/v1/reports")
rps() { awk '/Requests\/sec/ {print $2}'; }
p99() { awk '$1 == "99%" {print $2}'; }
non2xx() { awk '/Non-2xx/ {print $4}'; }
ref_rps=$(echo "$ref" | rps)
rep_rps=$(echo "$rep" | rps)
received=$(curl -s "$url/metrics" | awk '/^slate_reports_received_total/ {print $2}')
printf "%-28s %12s %10s\n" "endpoint" "req/s" "p99"
printf "%-28s %12s %10s\n" "GET /healthz (reference)" "$ref_rps" "$(echo "$ref" | p99)"
printf "%-28s %12s %10s\n" "POST /v1/reports" "$rep_rps" "$(echo "$rep" | p99)"
echo "reports/s as a fraction of the reference: $(python3 -c "print(round($rep_rps / $ref_rps, 3))")"
echo "non-2xx report answers: $(echo "$rep" | non2xx || true); reports accepted in total: $received"
echo "solves during the run: $(curl -s "$url/metrics" | awk '/solves_total\{result="ok"\}/ {print $2}')"

# 5000 long-polls, on a fresh daemon whose loop publishes nothing by itself
# (a 10-minute period), so every poll waits until the publish below.
kill "$pid"
wait "$pid" 2>/dev/null || true
rm -f "$dir/port"
"$build/controller/slate-controller" --listen 127.0.0.1:0 --port-file "$dir/port" \
  --token-file "$dir/token" --period-ms 600000 --log-level warn --threads 2 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$dir/port")"
curl -s -o /dev/null -X PUT -H 'Authorization: Bearer benchtoken' \
  --data-binary @"$root/examples/online-boutique.json" "$url/v1/topology"
for _ in $(seq 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ] && break; sleep 0.05; done
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
python3 - "$(cat "$dir/port")" "$url" "$pid" "$root/examples/online-boutique.json" <<'PY'
import asyncio, json, sys, time, urllib.request
port, url, pid, topo = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
N = 5000
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
version = json.load(urllib.request.urlopen(url + "/v1/routes?cluster=us-west&service=frontend"))["version"]
async def poll(results):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(f"GET /v1/routes?cluster=us-west&service=frontend&version={version}&wait_s=60 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await w.drain()
    line = await r.readline()
    results.append((time.time(), line.split()[1].decode() if line else "closed"))
    w.close()
async def main():
    results = []
    tasks = []
    for i in range(N):
        tasks.append(asyncio.create_task(poll(results)))
        if i % 500 == 499:
            await asyncio.sleep(0.05)
    await asyncio.sleep(2)
    held = rss()
    waiting = [l for l in urllib.request.urlopen(url + "/metrics").read().decode().splitlines() if l.startswith("slate_long_polls_waiting")]
    t0 = time.time()
    # Publish: a new topology (the demand scaled) makes a new version.
    doc = json.load(open(topo))
    for d in doc.get("demand", []):
        d["rps"] *= 1.5
    req = urllib.request.Request(url + "/v1/topology", data=json.dumps(doc).encode(), method="PUT",
                                 headers={"Authorization": "Bearer benchtoken"})
    urllib.request.urlopen(req)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    done = max(t for t, _ in results) - t0
    codes = {}
    for _, c in results:
        codes[c] = codes.get(c, 0) + 1
    print(f"{N} long-polls held: {waiting[0] if waiting else '?'}; controller RSS {held} kB while holding them")
    print(f"after a publish all {N} were answered within {done:.2f} s; status codes {codes}")
asyncio.run(main())
PY
echo "controller RSS before the long-polls: ${rss0} kB"
