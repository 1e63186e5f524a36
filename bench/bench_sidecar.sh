#!/usr/bin/env bash
# slate-sidecar benchmark (issue 5): the two-hop path client -> outbound
# sidecar -> inbound sidecar -> upstream, against (a) the client talking to
# the upstream directly and (b) the same two hops through HAProxy 2.6 as
# plain proxies, all on loopback on the same 2 shared cores, one run each.
# The upstream is HAProxy answering 200 itself (fast enough not to be the
# bottleneck). Throughput with wrk (HTTP/1.1, keep-alive); latency at a fixed
# moderate rate with slate-load (open loop); the sidecars' CPU seconds per
# 1000 requests and peak RSS from /proc. SLATE_BENCH_ROUNDS=N (default 3)
# repeats the HTTP/1.1 throughput pair N times, alternately (the table shows
# round 1, the CPU figure covers all); SLATE_BENCH_LAT_ROUNDS=N (default 5)
# does the same for the three latency runs, SLATE_BENCH_LAT_SECONDS (default
# 5) long each. Then the same two-hop comparison for h2c
# (HTTP/2 with prior knowledge) with h2load: HAProxy and the upstream detect
# the preface on their plain binds, HAProxy's hops talk `proto h2` to the
# next one, the sidecars keep h2 end to end. Prints measurements; fails on
# none.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SLATE_BENCH_BUILD:-$root/build-release}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target slate-sidecar slate-load -j2 >/dev/null
duration=${SLATE_BENCH_SECONDS:-10}
# HTTP/1.1 throughput rounds: HAProxy and slate measured alternately this
# many times (the ratio's median is printed too), so that a neighbour's load
# on the shared cores lands on both sides rather than on one run.
rounds=${SLATE_BENCH_ROUNDS:-3}
rate=${SLATE_BENCH_RATE:-1000}
lat_seconds=${SLATE_BENCH_LAT_SECONDS:-5}
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
port() { python3 -c 'import socket,random
while True:
    p=random.randrange(20000,32000); s=socket.socket()
    try: s.bind(("127.0.0.1",p)); print(p); break
    except OSError: pass'; }
up=$(port); h1=$(port); h2=$(port); h2c1=$(port); h2c2=$(port); a_out=$(port); a_in=$(port); a_adm=$(port); b_out=$(port); b_in=$(port); b_adm=$(port)
cat >"$dir/haproxy.cfg" <<CFG
global
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend upstream
  bind 127.0.0.1:$up
  http-request return status 200 content-type text/plain string "ok"
frontend hop1
  bind 127.0.0.1:$h1
  default_backend to_hop2
backend to_hop2
  server s 127.0.0.1:$h2
frontend hop2
  bind 127.0.0.1:$h2
  default_backend to_upstream
backend to_upstream
  server s 127.0.0.1:$up
frontend hop1_h2c
  bind 127.0.0.1:$h2c1
  default_backend to_hop2_h2c
backend to_hop2_h2c
  server s 127.0.0.1:$h2c2 proto h2
frontend hop2_h2c
  bind 127.0.0.1:$h2c2
  default_backend to_upstream_h2c
backend to_upstream_h2c
  server s 127.0.0.1:$up proto h2
CFG
ulimit -n 65536 2>/dev/null || true
haproxy -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 &
pids+=($!)
cat >"$dir/topo.json" <<JSON
{"clusters": ["west"], "network": {"rtt_ms": [[0.1]]},
 "services": [{"name": "front", "deployments": [{"cluster": "west", "capacity_rps": 100000}]},
              {"name": "back", "deployments": [{"cluster": "west", "capacity_rps": 100000,
                                               "endpoints": ["127.0.0.1:$b_in"]}]}],
 "classes": [{"name": "get", "match": {"path_prefix": "/"}, "calls": {"service": "back", "endpoint": "/"}}]}
JSON
sc() { "$build/sidecar/slate-sidecar" --topology "$dir/topo.json" --log-level warn "$@" 2>>"$dir/sidecar.log" & pids+=($!); }
sc --service front --cluster west --app "127.0.0.1:1" --outbound "127.0.0.1:$a_out" --inbound "127.0.0.1:$a_in" --admin "127.0.0.1:$a_adm"
pid_a=$!
sc --service back --cluster west --app "127.0.0.1:$up" --outbound "127.0.0.1:$b_out" --inbound "127.0.0.1:$b_in" --admin "127.0.0.1:$b_adm"
pid_b=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "127.0.0.1:$up/" && curl -s -o /dev/null "127.0.0.1:$a_adm/healthz" &&
    curl -s -o /dev/null "127.0.0.1:$b_adm/healthz" && break
  sleep 0.05
done
got=$(curl -s -H "Host: back" "127.0.0.1:$a_out/"); [ "$got" = ok ] || { echo "two-hop path does not work: $got"; cat "$dir/sidecar.log"; exit 1; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks=$(getconf CLK_TCK)
wrk_run() { wrk -t2 -c32 -d"${duration}s" "$@" 2>&1; }
rps() { awk '/Requests\/sec/ {print $2}'; }
total() { awk '/requests in/ {print $1}'; }

direct=$(wrk_run "http://127.0.0.1:$up/")
ticks_used=0 n=0 round_ratios=()
for ((r = 1; r <= rounds; r++)); do
  hap_r=$(wrk_run "http://127.0.0.1:$h1/")
  c0=$(( $(cpu $pid_a) + $(cpu $pid_b) ))
  slate_r=$(wrk_run -H 'Host: back' "http://127.0.0.1:$a_out/")
  c1=$(( $(cpu $pid_a) + $(cpu $pid_b) ))
  ticks_used=$((ticks_used + c1 - c0)) n=$((n + $(echo "$slate_r" | total)))
  round_ratios+=("$(python3 -c "print(round($(echo "$slate_r" | rps) / $(echo "$hap_r" | rps), 3))")")
  [ "$r" = 1 ] && { hap=$hap_r; slate=$slate_r; }
done
cpu_per_1000=$(python3 -c "print(round($ticks_used / $ticks / $n * 1000, 4))")

lat() { # latency at a fixed rate through TARGET
  "$build/testbed/slate-load" --topology "$dir/topo.json" --target "west=$1" --rate "get@west=$rate" \
    --duration "$lat_seconds" --no-progress --json "$dir/lat.json" >/dev/null
  python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["total"]; print("%.3f %.3f %.3f %d" % (t["p50_ms"], t["p90_ms"], t["p99_ms"], t["errors"]))' "$dir/lat.json"
}
# Latency rounds: direct, HAProxy and slate measured in turn this many times
# (the order rotates each round), so that a neighbour's burst on the shared
# cores lands on all three rather than on one; the table shows round 1, the
# added p90's median over the rounds is printed too.
lat_rounds=${SLATE_BENCH_LAT_ROUNDS:-5}
added=()
for ((r = 1; r <= lat_rounds; r++)); do
  order=("direct" "hap" "slate")
  for ((i = 0; i < (r - 1) % 3; i++)); do order=("${order[@]:1}" "${order[0]}"); done
  for w in "${order[@]}"; do
    case $w in
      direct) ld_r=$(lat "127.0.0.1:$up") ;;
      hap) lh_r=$(lat "127.0.0.1:$h1") ;;
      slate) ls_r=$(lat "127.0.0.1:$a_out") ;;
    esac
  done
  [ "$r" = 1 ] && { ld=$ld_r; lh=$lh_r; ls_=$ls_r; }
  added+=("$(python3 -c 'import sys; d, h, s = (float(a.split()[1]) for a in sys.argv[1:4]); print("%.3f/%.3f" % (h - d, s - d))' "$ld_r" "$lh_r" "$ls_r")")
done
rss_a=$(awk '/VmHWM/ {print $2}' "/proc/$pid_a/status")
rss_b=$(awk '/VmHWM/ {print $2}' "/proc/$pid_b/status")

printf "throughput, wrk -t2 -c32 -d%ss (req/s)\n" "$duration"
printf "  %-34s %10s\n" "direct" "$(echo "$direct" | rps)" "HAProxy, two hops" "$(echo "$hap" | rps)" \
  "slate-sidecar, two hops" "$(echo "$slate" | rps)"
echo "  slate / HAProxy: ${round_ratios[0]}"
if [ "$rounds" -gt 1 ]; then
  echo "  slate / HAProxy in $rounds alternating rounds: ${round_ratios[*]} (median" \
    "$(python3 -c 'import statistics,sys; print(statistics.median(map(float, sys.argv[1:])))' "${round_ratios[@]}"))"
fi
printf "latency at %s req/s open loop, slate-load (p50 / p90 / p99 ms, errors)\n" "$rate"
printf "  %-34s %s\n" "direct" "$ld" "HAProxy, two hops" "$lh" "slate-sidecar, two hops" "$ls_"
python3 - "$ld" "$lh" "$ls_" <<'PY'
import sys
d, h, s = ([float(x) for x in a.split()[:3]] for a in sys.argv[1:4])
print("  added over direct, p50/p90/p99 ms: HAProxy %.3f/%.3f/%.3f, slate %.3f/%.3f/%.3f"
      % tuple([h[i] - d[i] for i in range(3)] + [s[i] - d[i] for i in range(3)]))
PY
if [ "$lat_rounds" -gt 1 ]; then
  echo "  added p90 over direct (HAProxy/slate ms) in $lat_rounds rounds: ${added[*]}"
  python3 - "${added[@]}" <<'PY'
import statistics, sys
h = [float(a.split("/")[0]) for a in sys.argv[1:]]
s = [float(a.split("/")[1]) for a in sys.argv[1:]]
print("  median added p90: HAProxy %.3f ms, slate %.3f ms" % (statistics.median(h), statistics.median(s)))
PY
fi
echo "slate sidecars' CPU: ${cpu_per_1000} s per 1000 requests (both hops, telemetry on)"
echo "slate sidecars' peak RSS: outbound ${rss_a} kB, inbound ${rss_b} kB"

# ---- h2c: the same two hops, HTTP/2 with prior knowledge end to end ----
h2_run() { h2load -t2 -c32 -m10 -D "$duration" "$@" 2>&1; }
h2rps() { awk '/^finished in/ {print $4}'; }
h2done() { awk '/^requests:/ {print $8}'; }                 # succeeded
h2failed() { awk '/^requests:/ {print $10 + $12 + $14}'; } # failed + errored + timeout
got=$(curl -s --http2-prior-knowledge -w ' %{http_version}' -H "Host: back" "127.0.0.1:$a_out/")
[ "$got" = "ok 2" ] || { echo "two-hop h2c path does not work: $got"; exit 1; }
hdirect=$(h2_run "http://127.0.0.1:$up/")
hhap=$(h2_run "http://127.0.0.1:$h2c1/")
c0=$(( $(cpu $pid_a) + $(cpu $pid_b) ))
hslate=$(h2_run -H ':authority: back' "http://127.0.0.1:$a_out/")
c1=$(( $(cpu $pid_a) + $(cpu $pid_b) ))
n=$(echo "$hslate" | h2done)
h2_cpu_per_1000=$(python3 -c "print(round(($c1 - $c0) / $ticks / max($n, 1) * 1000, 4))")
printf "throughput h2c, h2load -t2 -c32 -m10 -D %ss (req/s, requests not succeeded)\n" "$duration"
for row in "direct|$hdirect" "HAProxy, two hops (proto h2)|$hhap" "slate-sidecar, two hops|$hslate"; do
  printf "  %-34s %10s %6s\n" "${row%%|*}" "$(echo "${row#*|}" | h2rps)" "$(echo "${row#*|}" | h2failed)"
done
echo "  slate / HAProxy (h2c): $(python3 -c "print(round($(echo "$hslate" | h2rps) / $(echo "$hhap" | h2rps), 3))")"
echo "slate sidecars' CPU (h2c): ${h2_cpu_per_1000} s per 1000 requests (both hops, telemetry on)"
echo "slate sidecars' peak RSS after h2c: outbound $(awk '/VmHWM/ {print $2}' "/proc/$pid_a/status") kB," \
  "inbound $(awk '/VmHWM/ {print $2}' "/proc/$pid_b/status") kB"
