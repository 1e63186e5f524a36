#!/usr/bin/env bash
# slate-sidecar against the real slate-controller on loopback: the sidecar
# receives routing tables by long-poll, reports windows; with the controller
# stopped it keeps routing (fail static, no failed request) and backlogs its
# windows; after the controller restarts the backlog is delivered, nothing
# dropped. /metrics of the sidecar passes promtool.
set -euo pipefail
sidecar=$1
ctl=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=helpers/common.sh
. "$here/helpers/common.sh"
cpid=
cleanup_extra() { [ -z "$cpid" ] || kill "$cpid" 2>/dev/null; }

west=$(free_port); east=$(free_port); app=$(free_port); cport=$(free_port)
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
 "classes": [{"name": "req", "match": {"path_prefix": "/headers"},
              "calls": {"service": "front", "endpoint": "/headers",
                        "children": [{"service": "back", "endpoint": "/b"}]}}],
 "demand": [{"class": "req", "cluster": "west", "rps": 50}]}
JSON
echo tok >"$dir/token"
start_ctl() {
  "$ctl" --listen "127.0.0.1:$cport" --token-file "$dir/token" --state-dir "$dir/state" \
    --topology "$dir/topo.json" --period-ms 300 2>>"$dir/controller.log" &
  cpid=$!
  for _ in $(seq 100); do curl -s -o /dev/null "127.0.0.1:$cport/healthz" && return; sleep 0.05; done
  fail "controller did not start"
}
start_ctl
for _ in $(seq 50); do curl -s -o /dev/null "127.0.0.1:$app/" && break; sleep 0.1; done
"$sidecar" --topology "$dir/topo.json" --service front --cluster west --app "127.0.0.1:$app" \
  --outbound 127.0.0.1:0 --inbound 127.0.0.1:0 --admin 127.0.0.1:0 --port-file "$dir/ports.json" \
  --controller "127.0.0.1:$cport" --token-file "$dir/token" --window-ms 200 2>"$dir/sidecar.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$dir/ports.json" ] && break; sleep 0.05; done
port() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$dir/ports.json" "$1"; }
in=$(port inbound); out=$(port outbound); adm=$(port admin)
stat() { curl -s "127.0.0.1:$adm/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
for _ in $(seq 100); do [ "$(stat '["routes_version"]')" -ge 1 ] && break; sleep 0.1; done
[ "$(stat '["routes_version"]')" -ge 1 ] || fail "no routing table received by long-poll"
echo "ok: table version $(stat '["routes_version"]') received"

traffic() { # N requests in at the ingress and N calls out to back
  curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$in/headers?[1-$1]" >"$dir/codes_in"
  curl -s -o /dev/null -w '%{http_code}\n' -H 'baggage: slate-class=req' -x "http://127.0.0.1:$out" "http://back/b?[1-$1]" >"$dir/codes_out"
  [ "$(cat "$dir/codes_in" "$dir/codes_out" | grep -vc '^200$' || true)" = 0 ] || fail "requests failed: $(sort "$dir/codes_in" "$dir/codes_out" | uniq -c)"
}
traffic 100
for _ in $(seq 50); do [ "$(stat '["control"]["reports_sent"]')" -ge 1 ] && break; sleep 0.1; done
received=$(curl -s "127.0.0.1:$cport/metrics" | awk '/^slate_reports_received_total/ {print $2}')
[ "${received:-0}" -ge 1 ] || fail "the controller received no report"
echo "ok: reports delivered ($received accepted by the controller)"

# Controller away: routing continues from the last table, windows backlog.
kill -TERM "$cpid"; wait "$cpid" || true; cpid=
traffic 100
sleep 1
[ "$(stat '["control"]["backlog_windows"]')" -ge 1 ] || fail "windows must be kept while the controller is away"
echo "ok: controller stopped: 200 requests, 0 failed; backlog $(stat '["control"]["backlog_windows"]') windows"
curl -s "127.0.0.1:$adm/metrics" | promtool check metrics || fail "sidecar /metrics rejected by promtool"

# Back: the backlog is delivered, nothing dropped.
start_ctl
for _ in $(seq 100); do [ "$(stat '["control"]["backlog_windows"]')" = 0 ] && break; sleep 0.1; done
[ "$(stat '["control"]["backlog_windows"]')" = 0 ] || fail "backlog not delivered after the restart"
[ "$(stat '["control"]["reports_dropped"]')" = 0 ] || fail "windows were dropped"
received=$(curl -s "127.0.0.1:$cport/metrics" | awk '/^slate_reports_received_total/ {print $2}')
[ "${received:-0}" -ge 1 ] || fail "the restarted controller received nothing"
echo "ok: controller back: backlog delivered ($received reports accepted), 0 windows dropped"
echo "PASS sidecar_control"
