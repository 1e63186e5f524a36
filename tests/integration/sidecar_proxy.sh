#!/usr/bin/env bash
# slate-sidecar with real clients on loopback: curl as HTTP_PROXY and with
# Host-based requests, large and chunked uploads, keep-alive, weighted
# routing by class (10,000 requests against a 0.7/0.3 table), an upstream
# killed (retried elsewhere, ejected, no failures), the inbound side
# (classification, baggage and traceparent), bad input, and a SIGTERM drain.
set -euo pipefail
sidecar=$1
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=helpers/common.sh
. "$here/helpers/common.sh"

west=$(free_port); east=$(free_port); app=$(free_port)
python3 "$here/helpers/echo_upstream.py" "$west" west & pids+=($!)
python3 "$here/helpers/echo_upstream.py" "$east" east & pids+=($!)
python3 "$here/helpers/echo_upstream.py" "$app" app & pids+=($!)
cat >"$dir/topo.json" <<JSON
{"clusters": ["west", "east"],
 "network": {"rtt_ms": [[0.2, 20], [20, 0.2]]},
 "services": [
   {"name": "front", "deployments": [{"cluster": "west", "capacity_rps": 1000}]},
   {"name": "back", "deployments": [
       {"cluster": "west", "capacity_rps": 1000, "endpoints": ["127.0.0.1:$west"]},
       {"cluster": "east", "capacity_rps": 1000, "endpoints": ["127.0.0.1:$east"]}]}],
 "classes": [
   {"name": "req", "match": {"method": "GET", "path_prefix": "/headers"},
    "calls": {"service": "front", "endpoint": "/headers", "children": [{"service": "back", "endpoint": "/b"}]}},
   {"name": "other", "match": {"path_prefix": "/other"},
    "calls": {"service": "front", "endpoint": "/other", "children": [{"service": "back", "endpoint": "/o"}]}}]}
JSON
cat >"$dir/routes.json" <<'JSON'
{"version": 3, "rules": [
  {"class": "req", "src_service": "front", "src_cluster": "west", "dst_service": "back",
   "weights": {"west": 0.7, "east": 0.3}},
  {"class": "other", "src_service": "front", "src_cluster": "west", "dst_service": "back",
   "weights": {"east": 1}}]}
JSON
for _ in $(seq 50); do
  curl -s -o /dev/null "127.0.0.1:$west/" && curl -s -o /dev/null "127.0.0.1:$east/" &&
    curl -s -o /dev/null "127.0.0.1:$app/" && break
  sleep 0.1
done
"$sidecar" --topology "$dir/topo.json" --service front --cluster west --app "127.0.0.1:$app" \
  --outbound 127.0.0.1:0 --inbound 127.0.0.1:0 --admin 127.0.0.1:0 --routes "$dir/routes.json" \
  --port-file "$dir/ports.json" --seed 5 2>"$dir/sidecar.log" &
sc=$!; pids+=($sc)
for _ in $(seq 100); do [ -s "$dir/ports.json" ] && break; sleep 0.05; done
port() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$dir/ports.json" "$1"; }
out=$(port outbound); in=$(port inbound); adm=$(port admin)
proxy=(-x "http://127.0.0.1:$out")

# Without baggage there is no class: the default policy (local cluster).
[ "$(curl -s "${proxy[@]}" http://back/b)" = west ] || fail "HTTP_PROXY GET"
[ "$(curl -s -H 'Host: back.svc:8080' "http://127.0.0.1:$out/b")" = west ] || fail "Host-based GET"
[ "$(curl -s -H 'baggage: slate-class=other' "${proxy[@]}" http://back/b)" = east ] ||
  fail "class from baggage must select its rule"
echo "ok: HTTP_PROXY and Host forms, class rule from baggage"

head -c 8000000 /dev/urandom >"$dir/big"
want=$(sha256sum "$dir/big" | cut -d' ' -f1)
got=$(curl -s "${proxy[@]}" -X POST --data-binary @"$dir/big" http://back/upload)
[ "$(echo "$got" | cut -d' ' -f1-2)" = "$want 8000000" ] || fail "8 MB POST body: $got"
got=$(curl -s "${proxy[@]}" -X POST -H 'Transfer-Encoding: chunked' --data-binary @"$dir/big" http://back/upload)
[ "$(echo "$got" | cut -d' ' -f1-3)" = "$want 8000000 chunked" ] || fail "chunked upload: $got"
echo "ok: 8 MB body and chunked upload streamed intact (sha256)"

# Keep-alive: 50 requests over one client connection reuse upstream connections.
curl -s "${proxy[@]}" "http://back/b?[1-50]" >"$dir/ka"
[ "$(grep -c west "$dir/ka")" = 50 ] || fail "keep-alive requests"
python3 - "$adm" <<'PY' || fail "upstream connections must be reused"
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/stats"))["proxy"]
assert s["upstream_reuses"] >= 45, s
print("ok: keep-alive, upstream reuses", s["upstream_reuses"], "connections opened", s["upstream_conns_opened"])
PY

# Weighted routing: 10,000 requests of class req against 0.7 / 0.3.
curl -s -H 'baggage: k=v,slate-class=req' "${proxy[@]}" "http://back/b?[1-10000]" >"$dir/weighted"
python3 - "$dir/weighted" <<'PY' || fail "weighted routing out of bounds"
import math, sys
lines = open(sys.argv[1]).read().split()
n, w = len(lines), lines.count("west")
sd = math.sqrt(n * 0.7 * 0.3)
print(f"weighted: {w}/{n} to west, expected {0.7*n:.0f} +- {4*sd:.0f} (4 sd)")
assert n == 10000 and abs(w - 0.7 * n) <= 4 * sd
PY

# An upstream killed: idempotent requests retried on the other cluster.
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
# First, before east is ejected: a POST with a body whose rule says east.
# Its connection was refused, so nothing reached east: it goes to west.
got=$(curl -s -H 'baggage: slate-class=other' "${proxy[@]}" -X POST --data-binary 'body' http://back/b)
[ "$(echo "$got" | cut -d' ' -f4)" = west ] || fail "POST to a dead endpoint (connect refused): $got"
echo "ok: a POST whose connection was refused is sent to the other cluster ($got)"
curl -s -o /dev/null -w '%{http_code}\n' -H 'baggage: slate-class=req' "${proxy[@]}" "http://back/b?[1-200]" >"$dir/codes"
[ "$(grep -vc '^200$' "$dir/codes" || true)" = 0 ] || fail "requests failed after an upstream died: $(sort "$dir/codes" | uniq -c)"
python3 - "$adm" <<'PY' || fail "ejection/retry counters"
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/stats"))["proxy"]
assert s["retries"] >= 1 and s["ejections"] >= 1, s
print("ok: upstream killed: 200 x 200, retries", s["retries"], "ejections", s["ejections"])
PY
# east is ejected now: even a POST whose rule says east goes to a healthy
# cluster instead of failing (nothing was sent to the dead one).
got=$(curl -s -H 'baggage: slate-class=other' "${proxy[@]}" -X POST --data x http://back/b)
[ "$(echo "$got" | cut -d' ' -f4)" = west ] || fail "POST while east is ejected: $got"
echo "ok: while east is ejected, its traffic goes to west ($got)"

# Inbound: classified at the ingress, baggage and traceparent added.
curl -s "http://127.0.0.1:$in/headers" >"$dir/h1"
python3 - "$dir/h1" <<'PY' || fail "inbound classification / trace context"
import json, re, sys
h = json.load(open(sys.argv[1]))
assert "slate-class=req" in h.get("baggage", ""), h
assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", h.get("traceparent", "")), h
print("ok: inbound request classified, baggage", h["baggage"], "traceparent started")
PY
tp=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
curl -s -H "traceparent: $tp" -H 'baggage: slate-class=other' "http://127.0.0.1:$in/headers" >"$dir/h2"
python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); assert h["traceparent"]==sys.argv[2] and h["baggage"]=="slate-class=other", h' "$dir/h2" "$tp" ||
  fail "an incoming trace and class must pass through unchanged"

curl -s -H 'b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' "http://127.0.0.1:$in/headers" >"$dir/h3"
python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); assert h["traceparent"].startswith("00-80f198ee56343ba864fe8b2a57d3eff7-"), h' "$dir/h3" ||
  fail "a B3 trace must be continued as traceparent"
echo "ok: B3 input continued as W3C traceparent"

# Bad input: oversized headers, a malformed request line; still serving.
big=$(head -c 70000 /dev/zero | tr '\0' a)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" "${proxy[@]}" http://back/b)
[ "$code" = 431 ] || fail "oversized headers answered $code"
reply=$(printf 'GARBAGE\r\n\r\n' | python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read()); s.settimeout(5)
print(s.recv(100).decode().split("\r\n")[0])' "$out")
[[ "$reply" == "HTTP/1.1 400"* ]] || fail "malformed request line answered: $reply"
[ "$(curl -s "${proxy[@]}" http://back/b)" = west ] || fail "sidecar stopped serving after bad input"
echo "ok: 431 for oversized headers, 400 for a malformed request line, still serving"

# SIGTERM drains: a request in progress completes, then the sidecar exits 0.
curl -s -o "$dir/slow" -w '%{http_code}' "${proxy[@]}" http://back/slow >"$dir/slow_code" &
slow=$!
sleep 0.3
kill -TERM "$sc"
wait "$slow"
[ "$(cat "$dir/slow_code")" = 200 ] || fail "in-flight request during SIGTERM: $(cat "$dir/slow_code")"
wait "$sc" || fail "sidecar exit status after SIGTERM"
echo "ok: SIGTERM drained the in-flight request and exited 0"
echo "PASS sidecar_proxy"
