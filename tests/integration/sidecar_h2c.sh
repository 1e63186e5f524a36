#!/usr/bin/env bash
# slate-sidecar h2c (HTTP/2 with prior knowledge) on the same ports as
# HTTP/1.1, two hops: client -> outbound sidecar (front) -> inbound sidecar
# (back) -> nghttpd, with curl --http2-prior-knowledge, nghttp and h2load:
# small and 5 MB GETs and a 5 MB POST (nghttpd --echo-upload) compared by
# sha256, response trailers passed through, 50 and 2000 multiplexed
# requests, telemetry counting them, HTTP/1.1 on the same port, an upstream
# that refuses the preface (502), a stream timeout (504), too many headers
# (431), invalid frames (GOAWAY, still serving), and a SIGTERM drain that
# finishes an h2 stream in progress.
set -euo pipefail
sidecar=$1
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=helpers/common.sh
. "$here/helpers/common.sh"
for tool in nghttpd nghttp h2load curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (Debian nghttp2-server, nghttp2-client, curl)"
done

up=$(free_port); b_in=$(free_port); echo_port=$(free_port); legacy=$(free_port); hole=$(free_port)
mkdir "$dir/docroot"
echo hello >"$dir/docroot/small.txt"
head -c 5000000 /dev/urandom >"$dir/docroot/big.bin"
want_big=$(sha256sum <"$dir/docroot/big.bin" | cut -d' ' -f1)
# The h2c upstream: files, uploads echoed back, a trailer as gRPC sends one.
nghttpd --no-tls --echo-upload --trailer 'grpc-status: 0' -d "$dir/docroot" "$up" >"$dir/nghttpd.log" 2>&1 &
pids+=($!)
# HTTP/1.1-only upstreams: echo for HTTP/1.1 clients, legacy to refuse the
# HTTP/2 preface (and be ejected for it).
python3 "$here/helpers/echo_upstream.py" "$echo_port" echo & pids+=($!)
python3 "$here/helpers/echo_upstream.py" "$legacy" legacy & pids+=($!)
# An upstream that accepts connections and never answers.
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); time.sleep(600)' "$hole" & pids+=($!)
cat >"$dir/topo.json" <<JSON
{"clusters": ["west"], "network": {"rtt_ms": [[0.2]]},
 "services": [
   {"name": "front", "deployments": [{"cluster": "west", "capacity_rps": 1000}]},
   {"name": "back", "deployments": [{"cluster": "west", "capacity_rps": 1000, "endpoints": ["127.0.0.1:$b_in"]}]},
   {"name": "echo", "deployments": [{"cluster": "west", "capacity_rps": 1000, "endpoints": ["127.0.0.1:$echo_port"]}]},
   {"name": "legacy", "deployments": [{"cluster": "west", "capacity_rps": 1000, "endpoints": ["127.0.0.1:$legacy"]}]},
   {"name": "hole", "deployments": [{"cluster": "west", "capacity_rps": 1000, "endpoints": ["127.0.0.1:$hole"]}]}],
 "classes": [{"name": "req", "match": {"path_prefix": "/"},
              "calls": {"service": "back", "endpoint": "/"}}]}
JSON
for _ in $(seq 50); do
  curl -s -o /dev/null --http2-prior-knowledge "127.0.0.1:$up/small.txt" &&
    curl -s -o /dev/null "127.0.0.1:$echo_port/" && curl -s -o /dev/null "127.0.0.1:$legacy/" && break
  sleep 0.1
done
start_b() {
  "$sidecar" --topology "$dir/topo.json" --service back --cluster west --app "127.0.0.1:$up" \
    --outbound 127.0.0.1:0 --inbound "127.0.0.1:$b_in" --admin 127.0.0.1:0 \
    --port-file "$dir/b.json" 2>>"$dir/b.log" &
  sc_b=$!; pids+=($sc_b)
}
start_b
"$sidecar" --topology "$dir/topo.json" --service front --cluster west --app 127.0.0.1:1 \
  --outbound 127.0.0.1:0 --inbound 127.0.0.1:0 --admin 127.0.0.1:0 --timeout-s 2 \
  --port-file "$dir/a.json" 2>"$dir/a.log" &
sc_a=$!; pids+=($sc_a)
for _ in $(seq 100); do [ -s "$dir/a.json" ] && [ -s "$dir/b.json" ] && break; sleep 0.05; done
port() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
out=$(port "$dir/a.json" outbound); adm_a=$(port "$dir/a.json" admin); adm_b=$(port "$dir/b.json" admin)
h2=(--http2-prior-knowledge -s)
stat() { # stat ADMIN_PORT SECTION KEY
  python3 -c 'import json,sys,urllib.request
s = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/stats"))
print(s[sys.argv[2]][sys.argv[3]])' "$@"
}

# GET through both hops, h2 end to end; Host and :authority both name the service.
got=$(curl "${h2[@]}" -w ' %{http_version}' -H 'Host: back' "http://127.0.0.1:$out/small.txt")
[ "$got" = "hello
 2" ] || fail "h2c GET small file: $got"
curl "${h2[@]}" -H 'Host: back' "http://127.0.0.1:$out/big.bin" -o "$dir/big.curl"
[ "$(sha256sum <"$dir/big.curl" | cut -d' ' -f1)" = "$want_big" ] || fail "5 MB GET (curl) differs"
nghttp -H ':authority: back' "http://127.0.0.1:$out/big.bin" >"$dir/big.nghttp"
[ "$(sha256sum <"$dir/big.nghttp" | cut -d' ' -f1)" = "$want_big" ] || fail "5 MB GET (nghttp) differs"
echo "ok: h2c GET of 6 B and 5 MB through two hops (curl, nghttp; sha256 equal)"

# POST: the body streams up to nghttpd, which echoes it back.
curl "${h2[@]}" -H 'Host: back' --data-binary @"$dir/docroot/big.bin" "http://127.0.0.1:$out/upload" \
  -o "$dir/post.curl"
[ "$(sha256sum <"$dir/post.curl" | cut -d' ' -f1)" = "$want_big" ] || fail "5 MB POST (curl) differs"
nghttp -H ':authority: back' -d "$dir/docroot/big.bin" "http://127.0.0.1:$out/upload" >"$dir/post.nghttp"
[ "$(sha256sum <"$dir/post.nghttp" | cut -d' ' -f1)" = "$want_big" ] || fail "5 MB POST (nghttp) differs"
echo "ok: h2c POST of 5 MB up and echoed back down (sha256 equal)"

# Trailers: nghttpd's grpc-status arrives after the data, in a HEADERS frame ending the stream.
nghttp -v -H ':authority: back' "http://127.0.0.1:$out/small.txt" >"$dir/trailer.txt"
python3 - "$dir/trailer.txt" <<'PY' || fail "response trailer not forwarded"
import re, sys
text = open(sys.argv[1]).read()
data = text.find("recv DATA frame")
trailer = text.find("grpc-status: 0", data)
assert data >= 0 and trailer > data, text
assert re.search(r"recv HEADERS frame <[^>]*>\s*; END_STREAM \| END_HEADERS", text[trailer:]), text
print("ok: response trailer (grpc-status) forwarded after the body")
PY

# Many concurrent streams on one connection, then on four connections.
nghttp -n -v -m 50 -H ':authority: back' "http://127.0.0.1:$out/small.txt" >"$dir/m50.txt"
n200=$(grep -c 'recv (stream_id=[0-9]*) :status: 200' "$dir/m50.txt" || true)
[ "$n200" = 50 ] || fail "nghttp -m 50: $n200 responses with 200"
# (Outbound telemetry is per class: the client propagates the class in baggage.)
out_before=$(stat "$adm_a" telemetry outbound); in_before=$(stat "$adm_b" telemetry inbound)
req_before=$(stat "$adm_a" proxy requests_out)
h2load -n 2000 -c 4 -m 10 -H ':authority: back' -H 'baggage: slate-class=req' \
  "http://127.0.0.1:$out/small.txt" >"$dir/h2load.txt"
grep -q '2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed' "$dir/h2load.txt" ||
  fail "h2load: $(grep requests: "$dir/h2load.txt")"
grep -q 'status codes: 2000 2xx' "$dir/h2load.txt" || fail "h2load: $(grep 'status codes' "$dir/h2load.txt")"
out_delta=$(( $(stat "$adm_a" telemetry outbound) - out_before ))
in_delta=$(( $(stat "$adm_b" telemetry inbound) - in_before ))
req_delta=$(( $(stat "$adm_a" proxy requests_out) - req_before ))
[ "$out_delta" = 2000 ] && [ "$in_delta" = 2000 ] && [ "$req_delta" = 2000 ] ||
  fail "each h2 request counted once: outbound +$out_delta, inbound +$in_delta, requests_out +$req_delta"
echo "ok: 50 streams on one connection; h2load 2000 x 200 over 4 connections; telemetry +2000 on both hops"

# HTTP/1.1 still works on the same port (HTTP_PROXY and Host forms).
[ "$(curl -s -x "http://127.0.0.1:$out" http://echo/x)" = echo ] || fail "HTTP/1.1 as HTTP_PROXY"
[ "$(curl -s -H 'Host: echo' "http://127.0.0.1:$out/x")" = echo ] || fail "HTTP/1.1 Host-based"
echo "ok: HTTP/1.1 on the same outbound port"

# An HTTP/1.1-only upstream answers the h2 preface with garbage: 502 with a reason.
got=$(curl "${h2[@]}" -w ' %{http_code}' -H 'Host: legacy' "http://127.0.0.1:$out/x")
[[ "$got" == *"refused the HTTP/2 preface"*" 502" ]] || fail "h2 to an HTTP/1.1 upstream: $got"
# An upstream that never answers: the stream times out (--timeout-s 2) with 504.
got=$(curl "${h2[@]}" -m 20 -w ' %{http_code}' -H 'Host: hole' "http://127.0.0.1:$out/x")
[[ "$got" == *"timed out"*" 504" ]] || fail "h2 to a silent upstream: $got"
# Too many header fields: 431.
many=(); for i in $(seq 140); do many+=(-H "x-h$i: v"); done
got=$(curl "${h2[@]}" -w ' %{http_code}' -H 'Host: back' "${many[@]}" "http://127.0.0.1:$out/small.txt")
[[ "$got" == *" 431" ]] || fail "140 header fields: $got"
echo "ok: 502 when the upstream refuses the preface, 504 on a stream timeout, 431 for too many fields"

# Invalid frames after the preface: GOAWAY with an error code, then the close.
badframes() {
  python3 - "$out" "$1" <<'PY'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex(sys.argv[2]))
data = b""
while True:
    chunk = s.recv(65536)  # a timeout (no close) raises: the test fails
    if not chunk:
        break
    data += chunk
codes = []
while len(data) >= 9:
    length, kind = int.from_bytes(data[:3], "big"), data[3]
    if kind == 7:  # GOAWAY: last stream id, error code
        codes.append(struct.unpack(">II", data[9:17])[1])
    data = data[9 + length:]
assert codes and codes[-1] != 0, codes
print(codes[-1])
PY
}
# A frame header announcing 16 MB (over the 16 KB maximum) before any SETTINGS.
code=$(badframes ffffffffffffffffffffffff) || fail "garbage after the preface: no GOAWAY and close"
# A SETTINGS frame whose length is not a multiple of 6 (FRAME_SIZE_ERROR, 6).
code2=$(badframes 0000050400000000000102030405) || fail "bad SETTINGS: no GOAWAY and close"
[ "$code2" = 6 ] || fail "bad SETTINGS answered with GOAWAY error $code2, want FRAME_SIZE_ERROR (6)"
[ "$(curl "${h2[@]}" -H 'Host: back' "http://127.0.0.1:$out/small.txt")" = hello ] ||
  fail "sidecar stopped serving h2 after invalid frames"
[ "$(curl -s -H 'Host: echo' "http://127.0.0.1:$out/x")" = echo ] ||
  fail "sidecar stopped serving HTTP/1.1 after invalid frames"
echo "ok: invalid frames closed with GOAWAY (errors $code, $code2); still serving h2 and HTTP/1.1"

# The inbound sidecar restarts: its GOAWAY retires the outbound sidecar's
# session to it, and the next h2 request opens a new one.
kill -TERM "$sc_b"
wait "$sc_b" || fail "inbound sidecar exit status after SIGTERM (leak or crash? see b.log)"
rm -f "$dir/b.json"
start_b
for _ in $(seq 100); do [ -s "$dir/b.json" ] && break; sleep 0.05; done
adm_b=$(port "$dir/b.json" admin)
got=$(curl "${h2[@]}" -w ' %{http_code}' -H 'Host: back' "http://127.0.0.1:$out/small.txt")
[ "$got" = "hello
 200" ] || fail "h2 request after the inbound sidecar restarted: $got"
echo "ok: inbound sidecar restarted (GOAWAY); the next h2 request went through a new session"

# SIGTERM drains: an h2 download in progress completes, the GOAWAY says so,
# the sidecar exits 0. The client is a minimal h2c reader (python, stdlib)
# that reads at 2 MB/s with the default 64 KB windows, so the stream is
# surely in progress when it sends SIGTERM itself, after 1 MB. (curl 7.88
# --limit-rate stops short after a GOAWAY by itself: not usable here.)
python3 - "$out" "$sc_a" >"$dir/drain.txt" <<'PY' || fail "slow h2 reader: $(cat "$dir/drain.txt")"
import hashlib, os, signal, socket, struct, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
def frame(kind, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + struct.pack(">I", stream) + payload
def literal(name, value):  # HPACK literal field without indexing, new name (< 127 bytes)
    return b"\x00" + bytes([len(name)]) + name.encode() + bytes([len(value)]) + value.encode()
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(10)
block = b"".join(literal(k, v) for k, v in [(":method", "GET"), (":scheme", "http"),
                                             (":path", "/big.bin"), (":authority", "back")])
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0) + frame(1, 0x5, 1, block))
buf, body, size, status, ended, goaway, signalled = b"", hashlib.sha256(), 0, None, False, [], False
while True:
    chunk = s.recv(16384)  # a timeout raises: the test fails
    if not chunk:
        break
    buf += chunk
    while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
        length, kind, flags = int.from_bytes(buf[:3], "big"), buf[3], buf[4]
        stream = struct.unpack(">I", buf[5:9])[0] & 0x7FFFFFFF
        payload, buf = buf[9:9 + length], buf[9 + length:]
        if kind == 4 and not flags & 1:
            s.sendall(frame(4, 1, 0))  # SETTINGS ACK
        elif kind == 1 and stream == 1:
            if status is None:
                status = payload[:1].hex()  # 88: indexed ":status: 200"
            ended |= bool(flags & 1)
        elif kind == 0 and stream == 1:
            body.update(payload)
            size += length
            ended |= bool(flags & 1)
            time.sleep(length / 2e6)
            if length:  # reopen the windows as this client consumes
                inc = struct.pack(">I", length)
                s.sendall(frame(8, 0, 0, inc) + (b"" if flags & 1 else frame(8, 0, 1, inc)))
            if size >= 1000000 and not signalled:
                os.kill(pid, signal.SIGTERM)
                signalled = True
        elif kind == 7:
            goaway.append(struct.unpack(">II", payload[:8]))
print(status, ended, size, body.hexdigest(), goaway)
assert signalled and status == "88" and ended and size == 5000000, "incomplete"
assert goaway == [(1, 0)], "want one GOAWAY(last stream 1, NO_ERROR)"
PY
read -r _ _ _ got_sha _ <"$dir/drain.txt"
[ "$got_sha" = "$want_big" ] || fail "drained download differs: $(cat "$dir/drain.txt")"
wait "$sc_a" || fail "outbound sidecar exit status after SIGTERM (leak or crash? see a.log)"
kill -TERM "$sc_b"
wait "$sc_b" || fail "inbound sidecar exit status after SIGTERM (leak or crash? see b.log)"
echo "ok: SIGTERM finished the h2 stream in progress; both sidecars exited 0"
echo "PASS sidecar_h2c"
