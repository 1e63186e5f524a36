#!/usr/bin/env bash
# Span ingest on slate-sidecar's admin port (issue 5, item 5): Zipkin v2 JSON
# at POST /api/v2/spans and OTLP/HTTP JSON at POST /v1/traces, posted with
# curl. Asserts the answers a Zipkin server / OTLP receiver gives (202 empty,
# 200 {} and partialSuccess), 400 with the JSON path for bad payloads, 413
# past 1 MiB (with Content-Length and chunked), 415 and 405; the counters in
# /stats and /metrics (promtool); a span of a trace the proxy carried counted
# as deduplicated; and the exact counts, latency and self-time sums the
# spans add to the windows the sidecar reports to the real slate-controller
# (read through helpers/selftime_app.py report-tee, which keeps a copy of
# every report and the controller's answer).
set -euo pipefail
sidecar=$1
ctl=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=helpers/common.sh
. "$here/helpers/common.sh"

west=$(free_port); east=$(free_port); app=$(free_port); cport=$(free_port); tport=$(free_port)
python3 "$here/helpers/echo_upstream.py" "$west" west & pids+=($!)
python3 "$here/helpers/echo_upstream.py" "$east" east & pids+=($!)
python3 "$here/helpers/echo_upstream.py" "$app" app & pids+=($!)
# Two classes with the same call tree: "req" for what the proxy carries,
# "spanned" for what the spans report, so the report entries of the spans
# can be checked exactly.
cat >"$dir/topo.json" <<JSON
{"clusters": ["west", "east"],
 "network": {"rtt_ms": [[0.2, 20], [20, 0.2]]},
 "services": [
   {"name": "front", "deployments": [{"cluster": "west", "capacity_rps": 1000}]},
   {"name": "back", "deployments": [
       {"cluster": "west", "capacity_rps": 1000, "endpoints": ["127.0.0.1:$west"]},
       {"cluster": "east", "capacity_rps": 1000, "endpoints": ["127.0.0.1:$east"]}]}],
 "classes": [
   {"name": "req", "match": {"path_prefix": "/headers"},
    "calls": {"service": "front", "endpoint": "/headers", "children": [{"service": "back", "endpoint": "/b"}]}},
   {"name": "spanned", "match": {"path_prefix": "/spanned"},
    "calls": {"service": "front", "endpoint": "/spanned", "children": [{"service": "back", "endpoint": "/b"}]}}],
 "demand": [{"class": "req", "cluster": "west", "rps": 10}, {"class": "spanned", "cluster": "west", "rps": 10}]}
JSON
echo tok >"$dir/token"
"$ctl" --listen "127.0.0.1:$cport" --token-file "$dir/token" --state-dir "$dir/state" \
  --topology "$dir/topo.json" --period-ms 300 2>"$dir/controller.log" & pids+=($!)
python3 "$here/helpers/selftime_app.py" report-tee "$tport" "127.0.0.1:$cport" "$dir/reports.jsonl" \
  2>"$dir/tee.log" & pids+=($!)
for _ in $(seq 100); do
  curl -s -o /dev/null "127.0.0.1:$cport/healthz" && curl -s -o /dev/null "127.0.0.1:$tport/healthz" &&
    curl -s -o /dev/null "127.0.0.1:$app/" && break
  sleep 0.05
done
curl -s -o /dev/null "127.0.0.1:$tport/healthz" || fail "controller, tee or app did not start"
"$sidecar" --topology "$dir/topo.json" --service front --cluster west --app "127.0.0.1:$app" \
  --outbound 127.0.0.1:0 --inbound 127.0.0.1:0 --admin 127.0.0.1:0 --port-file "$dir/ports.json" \
  --controller "127.0.0.1:$tport" --token-file "$dir/token" --window-ms 200 2>"$dir/sidecar.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$dir/ports.json" ] && break; sleep 0.05; done
[ -s "$dir/ports.json" ] || fail "sidecar did not start"
port() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$dir/ports.json" "$1"; }
in=$(port inbound); adm=$(port admin)
stat() { curl -s "127.0.0.1:$adm/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['spans']['$1'])"; }

# post PATH FILE [curl args...]: prints the status code; the body goes to
# $dir/answer. Content-Type is application/json unless the arguments set one.
post() {
  local path=$1 file=$2 type=(-H 'Content-Type: application/json')
  shift 2
  case "$*" in *Content-Type:*) type=() ;; esac
  curl -s -m 20 -o "$dir/answer" -w '%{http_code}' "${type[@]}" "$@" \
    --data-binary @"$file" "http://127.0.0.1:$adm$path"
}
expect() { # expect CODE PATH FILE [curl args...]
  local want=$1 got
  shift
  got=$(post "$@") || fail "curl failed posting $2 to $1"
  [ "$got" = "$want" ] || fail "POST $1 ($2): $got, expected $want: $(head -c 300 "$dir/answer")"
}

# Zipkin: a SERVER span of 100 ms with two overlapping calls to back
# (10-30 ms, and 20-50 ms to east): union 40 ms, self-time 60 ms.
T=1700000000000000 # us
cat >"$dir/zipkin.json" <<JSON
[{"traceId": "5a1e0000000000000000000000000001", "id": "0000000000000001", "kind": "SERVER",
  "name": "get /spanned", "timestamp": $T, "duration": 100000,
  "localEndpoint": {"serviceName": "front", "ipv4": "127.0.0.1"},
  "tags": {"slate.class": "spanned", "http.status_code": "200"}, "annotations": []},
 {"traceId": "5a1e0000000000000000000000000001", "id": "0000000000000002", "parentId": "0000000000000001",
  "kind": "CLIENT", "timestamp": $((T + 10000)), "duration": 20000,
  "localEndpoint": {"serviceName": "front"}, "remoteEndpoint": {"serviceName": "back"}},
 {"traceId": "5a1e0000000000000000000000000001", "id": "0000000000000003", "parentId": "0000000000000001",
  "kind": "CLIENT", "timestamp": "$((T + 20000))", "duration": "30000",
  "localEndpoint": {"serviceName": "front"}, "remoteEndpoint": {"serviceName": "back"},
  "tags": {"slate.cluster": "east"}, "aFieldFromTheFuture": {"x": [1, 2]}}]
JSON
expect 202 /api/v2/spans "$dir/zipkin.json"
[ ! -s "$dir/answer" ] || fail "Zipkin's 202 has an empty body, got: $(cat "$dir/answer")"
echo "ok: Zipkin v2 spans: 202, empty body"

# OTLP: a SERVER span of 50 ms (times as strings) with a failed call of
# 20 ms (times as numbers) inside it: self-time 30 ms.
cat >"$dir/otlp.json" <<'JSON'
{"resourceSpans": [{
  "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "front"}}]},
  "scopeSpans": [{"scope": {"name": "test"}, "spans": [
    {"traceId": "07e10000000000000000000000000001", "spanId": "0000000000000001", "parentSpanId": "",
     "name": "GET /spanned", "kind": 2,
     "startTimeUnixNano": "1699999999990000000", "endTimeUnixNano": "1700000000040000000",
     "attributes": [{"key": "slate.class", "value": {"stringValue": "spanned"}},
                    {"key": "http.response.status_code", "value": {"intValue": "200"}}],
     "status": {}},
    {"traceId": "07e10000000000000000000000000001", "spanId": "0000000000000002",
     "parentSpanId": "0000000000000001", "kind": 3,
     "startTimeUnixNano": 1700000000000000000, "endTimeUnixNano": 1700000000020000000,
     "attributes": [{"key": "peer.service", "value": {"stringValue": "back"}}],
     "status": {"code": 2, "message": "upstream reset"}}]}]}]}
JSON
expect 200 /v1/traces "$dir/otlp.json"
[ "$(cat "$dir/answer")" = "{}" ] || fail "OTLP success must be {}, got: $(cat "$dir/answer")"
echo "ok: OTLP spans: 200 {}"

# OTLP partial success: one valid (INTERNAL, feeds nothing), one invalid.
cat >"$dir/partial.json" <<'JSON'
{"resourceSpans": [{"scopeSpans": [{"spans": [
  {"traceId": "07e10000000000000000000000000002", "spanId": "0000000000000001", "kind": 1,
   "startTimeUnixNano": "1", "endTimeUnixNano": "2"},
  {"traceId": "07e10000000000000000000000000002", "spanId": "xyz", "kind": 1,
   "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]}
JSON
expect 200 /v1/traces "$dir/partial.json"
python3 - "$dir/answer" <<'PY' || fail "partialSuccess: $(cat "$dir/answer")"
import json, sys
ps = json.load(open(sys.argv[1]))["partialSuccess"]
assert ps["rejectedSpans"] == "1", ps
assert "resourceSpans[0].scopeSpans[0].spans[1].spanId: expected 16 hex characters" in ps["errorMessage"], ps
PY
echo "ok: OTLP partialSuccess names the rejected span"

# Bad payloads: 400 with the path of the problem.
cat >"$dir/bad_zipkin.json" <<'JSON'
[{"traceId": "0000000000000001", "id": "0000000000000001"},
 {"traceId": "0000000000000001", "id": "0000000000000002"},
 {"traceId": "0000000000000001", "id": "0000000000000003"},
 {"traceId": "4bf92f35", "id": "0000000000000004"}]
JSON
expect 400 /api/v2/spans "$dir/bad_zipkin.json"
python3 - "$dir/answer" <<'PY' || fail "Zipkin 400 body: $(cat "$dir/answer")"
import json, sys
a = json.load(open(sys.argv[1]))
assert a["path"] == "spans[3].traceId", a
assert a["problems"][0]["message"].startswith("expected 16 or 32 hex characters"), a
PY
printf '{"resourceSpans": [' >"$dir/bad_otlp.json"
expect 400 /v1/traces "$dir/bad_otlp.json"
python3 - "$dir/answer" <<'PY' || fail "OTLP 400 body: $(cat "$dir/answer")"
import json, sys
a = json.load(open(sys.argv[1]))
assert a["code"] == 3 and "malformed JSON near byte" in a["message"], a
PY
echo "ok: bad payloads: 400 naming spans[3].traceId / malformed JSON"

# Over 1 MiB: 413 with Content-Length (refused before the body is read) and
# chunked (refused while reading).
python3 -c 'import sys; sys.stdout.write("[" + " " * (1024 * 1024) + "]")' >"$dir/big.json"
expect 413 /api/v2/spans "$dir/big.json"
expect 413 /v1/traces "$dir/big.json" -H 'Transfer-Encoding: chunked'
expect 415 /v1/traces "$dir/otlp.json" -H 'Content-Type: application/x-protobuf'
grep -q "OTLP protobuf is not supported" "$dir/answer" || fail "415 reason: $(cat "$dir/answer")"
expect 415 /api/v2/spans "$dir/zipkin.json" -H 'Content-Encoding: gzip'
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$adm/api/v2/spans")
[ "$code" = 405 ] || fail "GET /api/v2/spans: $code, expected 405"
echo "ok: 413 past 1 MiB (Content-Length and chunked), 415 for protobuf and gzip, 405 for GET"

# A request the proxy carries (trace D), then the app's own SERVER span of
# it: the proxy measured it, so the span is skipped as deduplicated.
D=d0d00000000000000000000000000001
got=$(curl -s -o /dev/null -w '%{http_code}' -H "traceparent: 00-$D-00000000000000aa-01" \
  "http://127.0.0.1:$in/headers")
[ "$got" = 200 ] || fail "inbound request through the proxy: $got"
cat >"$dir/dup.json" <<JSON
[{"traceId": "$D", "id": "00000000000000ab", "parentId": "00000000000000aa", "kind": "SERVER",
  "timestamp": $T, "duration": 1000, "localEndpoint": {"serviceName": "front"},
  "tags": {"slate.class": "spanned"}}]
JSON
expect 202 /api/v2/spans "$dir/dup.json"
[ "$(stat deduplicated)" = 1 ] || fail "the span of a proxied trace must be deduplicated: $(stat deduplicated)"
echo "ok: a span of a trace the proxy carried counted as deduplicated"

# Counters: accepted 3 + 2 + 1 + 1, rejected 1 (partial) + 4 (bad Zipkin).
curl -s "127.0.0.1:$adm/stats" >"$dir/stats.json"
python3 - "$dir/stats.json" <<'PY' || fail "/stats spans: $(cat "$dir/stats.json")"
import json, sys
s = json.load(open(sys.argv[1]))["spans"]
want = {"accepted": 7, "rejected": 5, "deduplicated": 1, "ignored": 1, "inbound": 2, "outbound": 3,
        "requests": 4, "requests_rejected": 4}
assert {k: s[k] for k in want} == want, s
PY
curl -s "127.0.0.1:$adm/metrics" >"$dir/metrics.txt"
promtool check metrics <"$dir/metrics.txt" || fail "sidecar /metrics rejected by promtool"
grep -qx 'slate_sidecar_spans_received_total{result="accepted"} 7' "$dir/metrics.txt" &&
  grep -qx 'slate_sidecar_spans_received_total{result="rejected"} 5' "$dir/metrics.txt" &&
  grep -qx 'slate_sidecar_spans_deduplicated_total 1' "$dir/metrics.txt" ||
  fail "/metrics span counters: $(grep span "$dir/metrics.txt")"
echo "ok: /stats and /metrics count 7 accepted, 5 rejected, 1 deduplicated (promtool passes)"

# The windows the controller received: class "spanned" holds exactly the
# two SERVER spans and three calls.
summary() {
  python3 - "$dir/reports.jsonl" <<'PY'
import json, sys
inb = {"count": 0, "errors": 0, "ingress": 0, "lat": 0, "self": 0, "self_n": 0}
out = {}
statuses = set()
try:
    lines = open(sys.argv[1]).read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    try:
        rec = json.loads(line)
    except ValueError:
        continue  # a line the tee is still writing
    statuses.add(rec["status"])
    for e in rec["report"].get("inbound", []):
        if e["class"] == "spanned":
            inb["count"] += e["count"]
            inb["errors"] += e["errors"]
            inb["ingress"] += e["ingress"]
            inb["lat"] += e["latency"]["sum_us"]
            inb["self"] += e["self_time"]["sum_us"]
            inb["self_n"] += e["self_time"]["count"]
    for e in rec["report"].get("outbound", []):
        if e["class"] == "spanned":
            o = out.setdefault(f'{e["dst_service"]}@{e["dst_cluster"]}', [0, 0, 0])
            o[0] += e["count"]
            o[1] += e["errors"]
            o[2] += e["latency"]["sum_us"]
print(json.dumps({"inbound": inb, "outbound": dict(sorted(out.items())), "statuses": sorted(statuses)},
                 sort_keys=True))
PY
}
want='{"inbound": {"count": 2, "errors": 0, "ingress": 2, "lat": 150000, "self": 90000, "self_n": 2}, "outbound": {"back@east": [1, 0, 30000], "back@west": [2, 1, 40000]}, "statuses": [202]}'
for _ in $(seq 100); do [ "$(summary)" = "$want" ] && break; sleep 0.1; done
[ "$(summary)" = "$want" ] || fail "reports of class spanned: $(summary), expected $want"
received=$(curl -s "127.0.0.1:$cport/metrics" | awk '/^slate_reports_received_total/ {print $2}')
echo "ok: reports carry the spans: 2 requests (latency 150 ms, self-time 90 ms in sum), calls 2 to" \
  "back@west (1 failed), 1 to back@east; the controller accepted all ${received:-0} reports"
echo "PASS sidecar_spans"
