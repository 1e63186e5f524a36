#!/usr/bin/env bash
# slate-controller under bad input: every case gets the right status and a
# JSON error, and the daemon keeps serving (/healthz checked after each).
# Also: kill -9 during a flood of topology PUTs leaves a state dir that loads.
set -euo pipefail
ctl=$1
examples=$2
dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$dir/log" || true; exit 1; }
echo tok >"$dir/token"
auth=(-H 'Authorization: Bearer tok')
start() {
  rm -f "$dir/port"
  "$ctl" --listen 127.0.0.1:0 --port-file "$dir/port" --token-file "$dir/token" \
    --state-dir "$dir/state" --conn-timeout-s 2 --period-ms 200 "$@" 2>>"$dir/log" &
  pid=$!
  for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
  [ -s "$dir/port" ] || fail "controller did not start"
  url="http://127.0.0.1:$(cat "$dir/port")"
}
code() { curl -s -o "$dir/body" -w '%{http_code}' "$@"; }
alive() { [ "$(curl -s -o /dev/null -w "%{http_code}" "$url/healthz")" = 200 ] || fail "daemon stopped serving after: $1"; }
expect() { # expect CODE WHAT curl-args...
  local want=$1 what=$2
  shift 2
  local got
  got=$(code "$@")
  [ "$got" = "$want" ] || fail "$what: expected $want, got $got ($(head -c 300 "$dir/body"))"
  if [ "$want" -ge 400 ] && [ -s "$dir/body" ]; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "error" in d and "path" in d' "$dir/body" ||
      fail "$what: error body is not {error, path}"
  fi
  alive "$what"
  echo "ok: $what -> $got"
}

start
expect 409 "report before any topology" -X POST "${auth[@]}" \
  --data '{"service":"frontend","cluster":"us-west","instance":"i","window":{"start_ms":0,"end_ms":1000}}' "$url/v1/reports"
expect 200 "valid topology" -X PUT "${auth[@]}" --data-binary @"$examples/online-boutique.json" "$url/v1/topology"
expect 400 "malformed topology JSON" -X PUT "${auth[@]}" --data '{"clusters": [' "$url/v1/topology"
expect 400 "topology with wrong types" -X PUT "${auth[@]}" --data '{"clusters": 5}' "$url/v1/topology"
grep -q '"problems"' "$dir/body" || fail "topology errors must list the problems"
expect 400 "topology with a negative capacity" -X PUT "${auth[@]}" \
  --data '{"clusters":["a"],"network":{"rtt_ms":[[1]]},"services":[{"name":"s","deployments":[{"cluster":"a","capacity_rps":-5}]}],"classes":[{"name":"k","calls":{"service":"s"}}]}' "$url/v1/topology"
[ "$(code "$url/v1/topology")" = 200 ] && grep -q 'online-boutique' "$dir/body" || fail "a rejected topology must leave the old one"
echo "ok: rejected topologies left the previous one in place"
expect 400 "report: malformed JSON" -X POST "${auth[@]}" --data '{"service":' "$url/v1/reports"
expect 400 "report: NaN literal" -X POST "${auth[@]}" --data '{"service":"frontend","cluster":"us-west","instance":"i","window":{"start_ms":NaN,"end_ms":1}}' "$url/v1/reports"
expect 400 "report: negative count" -X POST "${auth[@]}" \
  --data '{"service":"frontend","cluster":"us-west","instance":"i","window":{"start_ms":0,"end_ms":1000},"inbound":[{"class":"home","count":-3,"latency":{"count":0,"sum_us":0,"buckets":[]},"self_time":{"count":0,"sum_us":0,"buckets":[]}}]}' "$url/v1/reports"
grep -q 'inbound\[0\].count' "$dir/body" || fail "negative count must be reported at its path"
expect 400 "report: unknown service" -X POST "${auth[@]}" \
  --data '{"service":"cartt","cluster":"us-west","instance":"i","window":{"start_ms":0,"end_ms":1000}}' "$url/v1/reports"
grep -q 'unknown service' "$dir/body" || fail "unknown service must be named"
expect 400 "report: unknown destination cluster" -X POST "${auth[@]}" \
  --data '{"service":"frontend","cluster":"us-west","instance":"i","window":{"start_ms":0,"end_ms":1000},"outbound":[{"class":"home","dst_service":"cartservice","dst_cluster":"mars","count":0,"latency":{"count":0,"sum_us":0,"buckets":[]}}]}' "$url/v1/reports"
grep -q 'outbound\[0\].dst_cluster' "$dir/body" || fail "unknown cluster must be reported at its path"
expect 401 "report without a token" -X POST --data '{}' "$url/v1/reports"
expect 401 "report with a wrong token" -X POST -H 'Authorization: Bearer nope' --data '{}' "$url/v1/reports"
expect 401 "solve with a wrong scheme" -X POST -H 'Authorization: Basic dG9r' "$url/v1/solve"
expect 405 "DELETE topology" -X DELETE "$url/v1/topology"
expect 404 "unknown endpoint" "$url/v1/nothing"
expect 404 "unknown profile" "$url/v1/profiles/nope/us-west"
expect 400 "bad profile" -X PUT "${auth[@]}" --data '{"form":"mm1","t0_ms":-1}' "$url/v1/profiles/frontend/us-west"
expect 400 "bad long-poll wait" "$url/v1/routes?cluster=us-west&version=1&wait_s=9999"
# 100 MB body: refused from Content-Length, nothing buffered.
head -c 100000000 /dev/zero >"$dir/big"
expect 413 "100 MB body" -X PUT "${auth[@]}" --data-binary @"$dir/big" "$url/v1/topology"
rm -f "$dir/big"
# The same without a Content-Length (chunked): cut off while streaming.
expect 413 "chunked body over the limit" -X POST "${auth[@]}" -H 'Transfer-Encoding: chunked' \
  --data-binary @<(head -c 6000000 /dev/zero) "$url/v1/reports"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "RSS after the large bodies: ${rss} kB"
[ "$rss" -lt 400000 ] || fail "large bodies must not be buffered (RSS ${rss} kB)"
# Slow loris: header bytes slower than the 2 s idle timeout; the daemon drops
# the connection while answering others. (libmicrohttpd's timeout is an idle
# timeout: a client trickling a byte faster than that holds one connection
# slot, bounded by --conn-limit; the README says so.)
python3 - "$(cat "$dir/port")" "$url" <<'PY' || fail "slow-loris"
import socket, sys, time, urllib.request
port, url = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(10)
request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40
closed_after = None
t0 = time.time()
for i, byte in enumerate(request):
    try:
        s.send(bytes([byte]))
    except OSError:
        closed_after = time.time() - t0
        break
    # Others are served meanwhile.
    assert urllib.request.urlopen(url + "/healthz", timeout=5).status == 200
    time.sleep(3)
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            closed_after = time.time() - t0
            break
    except BlockingIOError:
        pass
    except OSError:
        closed_after = time.time() - t0
        break
    s.setblocking(True)
    s.settimeout(10)
assert closed_after is not None and closed_after < 8, f"slow client not dropped ({closed_after})"
print(f"ok: slow-loris client dropped after {closed_after:.1f} s")
PY
alive "slow-loris"

# kill -9 during a flood of PUTs: the state dir still loads.
for i in $(seq 200); do
  f=$([ $((i % 2)) = 0 ] && echo online-boutique || echo hotel-reservation)
  curl -s -o /dev/null -X PUT "${auth[@]}" --data-binary @"$examples/$f.json" "$url/v1/topology" || true
done &
flood=$!
sleep 1.5
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=
wait "$flood" 2>/dev/null || true
ls "$dir/state"
start --period-ms 60000
for _ in $(seq 100); do [ "$(code "$url/readyz")" = 200 ] && break; sleep 0.05; done
[ "$(code "$url/readyz")" = 200 ] || fail "state after kill -9 did not load"
[ "$(code "$url/v1/topology")" = 200 ] || fail "topology after kill -9"
echo "ok: restart after kill -9 during a PUT flood serves $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$dir/body")"
# A corrupt current file: the .prev copy is used, and the log says so.
kill -TERM "$pid"; wait "$pid" || true
pid=
[ -s "$dir/state/topology.json.prev" ] || fail "no previous copy kept"
head -c 100 "$dir/state/topology.json" >"$dir/state/topology.json.tmp" && mv "$dir/state/topology.json.tmp" "$dir/state/topology.json"
start --period-ms 60000
for _ in $(seq 100); do [ "$(code "$url/readyz")" = 200 ] && break; sleep 0.05; done
[ "$(code "$url/v1/topology")" = 200 ] || fail "a truncated topology.json must fall back to .prev"
grep -q 'event=state_fallback' "$dir/log" || fail "the fallback must be logged"
echo "ok: truncated topology.json: loaded its .prev copy and logged it"
# Both copies corrupt: a fresh start, the bad files kept aside.
kill -TERM "$pid"; wait "$pid" || true
pid=
echo '{"broken' >"$dir/state/topology.json"
echo '{"broken' >"$dir/state/topology.json.prev"
start --period-ms 60000
[ "$(code "$url/v1/topology")" = 404 ] || fail "with no usable state the daemon starts fresh"
ls "$dir/state" | grep -q 'topology.json.corrupt-' || fail "corrupt files must be kept aside, not deleted"
alive "fresh start"
echo "ok: both copies corrupt: fresh start, files kept as $(ls "$dir/state" | grep -c corrupt) .corrupt-* files"
echo "PASS controller_bad_input"
