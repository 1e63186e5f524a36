#!/usr/bin/env bash
# slate-controller's REST API with curl against the real daemon on loopback:
# auth, topology, solution, routes, long-poll (304 on timeout, 200 on a new
# version), ETag, exports, /metrics through promtool, learning from reports
# (routes shift away from a cluster whose latency rises with load), and a
# restart from the state dir serving the same version and table.
set -euo pipefail
ctl=$1
examples=$2
dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- controller log"; tail -20 "$dir/log" || true; exit 1; }

echo s3cret >"$dir/token"
auth=(-H 'Authorization: Bearer s3cret')
start() {
  rm -f "$dir/port"
  "$ctl" --listen 127.0.0.1:0 --port-file "$dir/port" --token-file "$dir/token" \
    --state-dir "$dir/state" "$@" 2>>"$dir/log" &
  pid=$!
  for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
  [ -s "$dir/port" ] || fail "controller did not start"
  url="http://127.0.0.1:$(cat "$dir/port")"
}
code() { curl -s -o "$dir/body" -w '%{http_code}' "$@"; }

start --period-ms 300 --damping 1
[ "$(code "$url/healthz")" = 200 ] || fail "healthz"
[ "$(code "$url/readyz")" = 503 ] || fail "readyz before a topology must be 503"
[ "$(code -X PUT --data-binary @"$examples/hotel-reservation.json" "$url/v1/topology")" = 401 ] ||
  fail "PUT without a token must be 401"
[ "$(code -X PUT "${auth[@]}" --data-binary @"$examples/hotel-reservation.json" "$url/v1/topology")" = 200 ] ||
  fail "PUT topology: $(cat "$dir/body")"
for _ in $(seq 100); do [ "$(code "$url/readyz")" = 200 ] && break; sleep 0.05; done
[ "$(code "$url/readyz")" = 200 ] || fail "readyz after the topology"
[ "$(code "$url/v1/topology")" = 200 ] && grep -q '"hotel-reservation"' "$dir/body" || fail "GET topology"
[ "$(code "$url/v1/solution")" = 200 ] || fail "GET solution"
python3 - "$dir/body" <<'PY' || fail "solution content"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["status"] == "optimal", s["status"]
assert s["lp"]["cols"] > 0 and s["classes"], "LP size and predictions expected"
assert all(c["latency_ms"] > 0 for c in s["classes"])
PY
[ "$(code -D "$dir/headers" "$url/v1/routes?cluster=us-west&service=frontend")" = 200 ] || fail "GET routes"
python3 - "$dir/body" <<'PY' || fail "routes content"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["version"] >= 1 and r["rules"], "rules expected"
for rule in r["rules"]:
    assert abs(sum(rule["weights"].values()) - 1) < 1e-9, rule
    assert rule["dst_service"] in r["endpoints"], "endpoints listed per destination"
PY
version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$dir/body")
etag=$(grep -i '^etag:' "$dir/headers" | tr -d '\r' | cut -d' ' -f2)
[ "$etag" = "\"$version\"" ] || fail "ETag $etag for version $version"
[ "$(code -H "If-None-Match: $etag" "$url/v1/routes?cluster=us-west&service=frontend")" = 304 ] ||
  fail "If-None-Match of the current version must be 304"
[ "$(code "$url/v1/routes?cluster=mars")" = 404 ] || fail "unknown cluster must be 404"
[ "$(code "$url/v1/routes")" = 400 ] || fail "missing cluster must be 400"

# Long-poll: nothing new for 1 s -> 304 after about 1 s (damping 1 + an unchanged
# optimum publishes nothing new).
t0=$(date +%s%N)
c=$(code "$url/v1/routes?cluster=us-west&service=frontend&version=$version&wait_s=1")
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
[ "$c" = 304 ] || fail "long-poll without change answered $c"
[ "$ms" -ge 900 ] || fail "long-poll returned after $ms ms, before its wait"
echo "long-poll timeout: 304 after $ms ms"
# A new topology publishes a new version: the waiting poll returns at once with it.
( sleep 0.5; curl -s -X PUT "${auth[@]}" --data-binary @"$examples/online-boutique.json" "$url/v1/topology" >/dev/null ) &
t0=$(date +%s%N)
c=$(code "$url/v1/routes?cluster=us-west&service=&version=$version&wait_s=20")
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
wait $!
[ "$c" = 200 ] || fail "long-poll across a publish answered $c"
[ "$ms" -lt 5000 ] || fail "long-poll woke only after $ms ms"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["version"]; assert v > int(sys.argv[2]), v' "$dir/body" "$version" ||
  fail "long-poll must return a newer version"
echo "long-poll wake-up on publish: 200 after $ms ms"

# Exports: parsed back as YAML and checked for their shape and exact weights.
[ "$(code "$url/v1/export/envoy?cluster=us-west&service=frontend")" = 200 ] || fail "envoy export"
cp "$dir/body" "$dir/envoy.yaml"
[ "$(code "$url/v1/export/istio?cluster=us-west&service=frontend")" = 200 ] || fail "istio export"
cp "$dir/body" "$dir/istio.yaml"
python3 - "$dir/envoy.yaml" "$dir/istio.yaml" <<'PY' || fail "export YAML shape"
import sys, yaml
envoy = yaml.safe_load(open(sys.argv[1]))
assert envoy["name"] and envoy["virtual_hosts"], envoy
routes = 0
for vh in envoy["virtual_hosts"]:
    assert vh["domains"][0] == vh["name"]
    for r in vh["routes"]:
        clusters = r["route"]["weighted_clusters"]["clusters"]
        assert sum(c["weight"] for c in clusters) == 10000, clusters
        assert all(c["name"].startswith(vh["name"] + ".") for c in clusters)
        routes += 1
docs = list(yaml.safe_load_all(open(sys.argv[2])))
vs = [d for d in docs if d["kind"] == "VirtualService"]
dr = [d for d in docs if d["kind"] == "DestinationRule"]
assert vs and len(vs) == len(dr), [d["kind"] for d in docs]
for v in vs:
    assert v["apiVersion"] == "networking.istio.io/v1beta1"
    for h in v["spec"]["http"]:
        assert sum(d["weight"] for d in h["route"]) == 100, h
        assert "baggage" in h["match"][0]["headers"]
subsets = {s["name"] for d in dr for s in d["spec"]["subsets"]}
assert subsets <= {"us-west", "us-east", "us-central", "us-south"}, subsets
print(f"exports: envoy {routes} routes, istio {len(vs)} VirtualServices + {len(dr)} DestinationRules parsed")
PY

# /metrics passes promtool.
curl -s "$url/metrics" >"$dir/metrics"
promtool check metrics <"$dir/metrics" || fail "promtool rejected /metrics"
grep -q '^slate_route_table_version ' "$dir/metrics" || fail "version metric"

# Learning: back@a's latency rises with its load; the routes for front@a
# must shift part of the calls to b within a few periods.
cat >"$dir/two.json" <<'JSON'
{"name": "two", "clusters": ["a", "b"],
 "network": {"rtt_ms": [[0.2, 2], [2, 0.2]]},
 "services": [
   {"name": "front", "service_time_ms": 1, "deployments": [{"cluster": "a", "capacity_rps": 1000}]},
   {"name": "back", "service_time_ms": 1, "deployments": [{"cluster": "a", "capacity_rps": 1000},
                                                         {"cluster": "b", "capacity_rps": 1000}]}],
 "classes": [{"name": "req", "calls": {"service": "front", "endpoint": "/",
              "children": [{"service": "back", "endpoint": "/b"}]}}],
 "demand": [{"class": "req", "cluster": "a", "rps": 100}]}
JSON
[ "$(code -X PUT "${auth[@]}" --data-binary @"$dir/two.json" "$url/v1/topology")" = 200 ] || fail "PUT two"
sleep 1
weight_b() {
  curl -s "$url/v1/routes?cluster=a&service=front" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print(max([x["weights"].get("b",0) for x in r["rules"] if x["dst_service"]=="back"] or [0]))'
}
before=$(weight_b)
python3 - "$url" <<'PY' || fail "posting reports"
import json, sys, time, urllib.request
url = sys.argv[1]
def bucket(v):
    if v < 16: return v
    e = v.bit_length() - 1
    return 16 + 8 * (e - 4) + ((v >> (e - 3)) & 7)
def hist(n, us):
    return {"count": n, "sum_us": n * us, "buckets": [[bucket(us), n]]}
for i in range(16):
    n = [15, 30, 45, 60][i % 4]
    load = n / 0.3                       # requests per second over one period
    us = int(1000 + 200 * load)          # 1 ms + 0.2 ms per req/s: steep
    now = int(time.time() * 1000)
    rep = {"service": "back", "cluster": "a", "instance": "back-a-0", "address": "127.0.0.1:1",
           "window": {"start_ms": now - 300, "end_ms": now},
           "inbound": [{"class": "req", "count": n, "latency": hist(n, us), "self_time": hist(n, us)}]}
    req = urllib.request.Request(url + "/v1/reports", data=json.dumps(rep).encode(), method="POST",
                                 headers={"Authorization": "Bearer s3cret"})
    assert urllib.request.urlopen(req).status == 202
    time.sleep(0.3)
PY
after=$(weight_b)
echo "learning: weight of cluster b for front@a -> back: before $before, after $after"
python3 -c 'import sys; b, a = float(sys.argv[1]), float(sys.argv[2]); assert b == 0 and a >= 0.2, (b, a)' "$before" "$after" ||
  fail "routes did not shift away from the slow cluster"
curl -s "$url/v1/profiles/back/a" | grep -q '"form"' || fail "learned profile readable"
# An instance ages out 3 periods (0.9 s) after its last report: report
# again right before asking, so a slow machine does not age it out first.
now=$(date +%s%3N)
rep='{"service": "back", "cluster": "a", "instance": "back-a-0", "address": "127.0.0.1:1",'
rep+=" \"window\": {\"start_ms\": $((now - 300)), \"end_ms\": $now}}"
[ "$(code -X POST "${auth[@]}" --data-binary "$rep" "$url/v1/reports")" = 202 ] || fail "report"
[ "$(code "$url/v1/routes?cluster=a&service=front")" = 200 ] || fail "routes after learning"
grep -q '127.0.0.1:1' "$dir/body" || fail "a reporting instance's address is an endpoint"

# Restart from the state dir: same version and table, served before any solve.
curl -s "$url/v1/routes?cluster=a&service=front" >"$dir/routes_before"
kill -TERM "$pid"; wait "$pid" || fail "SIGTERM must exit 0"
pid=
start --period-ms 60000
curl -s "$url/v1/routes?cluster=a&service=front" >"$dir/routes_after"
python3 - "$dir/routes_before" "$dir/routes_after" <<'PY' || fail "restart lost the published table"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["version"] == b["version"], (a["version"], b["version"])
key = lambda r: (r["class"], r["src_service"], r["dst_service"])
wa = {key(r): r["weights"] for r in a["rules"]}
wb = {key(r): r["weights"] for r in b["rules"]}
assert wa.keys() == wb.keys()
for k in wa:
    for c in set(wa[k]) | set(wb[k]):
        assert abs(wa[k].get(c, 0) - wb[k].get(c, 0)) < 1e-12, (k, wa[k], wb[k])
print("restart: version", b["version"], "and", len(wb), "rules restored")
PY
# A JSON config file, and SIGHUP reloading --topology: a bad file is
# rejected (the old topology stays), a good one replaces it.
kill -TERM "$pid"; wait "$pid" || fail "SIGTERM must exit 0"
pid=
cp "$examples/hotel-reservation.json" "$dir/reload.json"
cat >"$dir/config.json" <<JSON
{"listen_host": "127.0.0.1", "listen_port": 0, "token_file": "$dir/token",
 "topology": "$dir/reload.json", "period_ms": 200, "damping_step": 1, "learn": false}
JSON
rm -f "$dir/port"
"$ctl" --config "$dir/config.json" --port-file "$dir/port" 2>>"$dir/log" &
pid=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$dir/port")"
for _ in $(seq 100); do [ "$(code "$url/readyz")" = 200 ] && break; sleep 0.05; done
[ "$(code "$url/readyz")" = 200 ] || fail "controller from a config file not ready"
[ "$(code -X PUT --data x "$url/v1/solve")" = 401 ] || fail "the config's token must be required"
echo '{"clusters": [' >"$dir/reload.json"
kill -HUP "$pid"; sleep 0.5
[ "$(code "$url/v1/topology")" = 200 ] && grep -q '"hotel-reservation"' "$dir/body" || fail "a bad reload must keep the topology"
cp "$examples/online-boutique.json" "$dir/reload.json"
kill -HUP "$pid"
for _ in $(seq 50); do code "$url/v1/topology" >/dev/null; grep -q '"online-boutique"' "$dir/body" && break; sleep 0.1; done
grep -q '"online-boutique"' "$dir/body" || fail "SIGHUP did not load the new topology"
echo "ok: config file; SIGHUP rejected a bad topology file and loaded a good one"
echo "PASS controller_api"
