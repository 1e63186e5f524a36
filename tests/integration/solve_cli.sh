#!/bin/sh
# Integration test of slate-solve: every example and the embedded default
# solve (exit 0) with sensible output; bad input exits 1 with the file path
# (and JSON path) in the message.
#   solve_cli.sh <path to slate-solve> <examples dir>
set -eu

SOLVE=$1
EXAMPLES=$2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/slate-solve-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Checks one --json document: required members, weights summing to 1 per
# rule, utilization and latency numbers present.
check_json() {
    python3 - "$1" <<'PY'
import json, math, sys
doc = json.load(open(sys.argv[1]))
for key in ("lp", "classes", "deployments", "routes", "egress_usd_per_hour", "latency_ms_rps"):
    assert key in doc, "missing " + key
assert doc["lp"]["rows"] > 0 and doc["lp"]["cols"] > 0, doc["lp"]
assert doc["classes"], "no class with demand"
for c in doc["classes"]:
    assert c["latency_ms"] is not None and c["latency_ms"] > 0, c
    assert c["latency_cp_ms"] <= c["latency_ms"] + 1e-9, c
rules = doc["routes"]["rules"]
assert rules, "no routing rules"
for r in rules:
    s = sum(r["weights"].values())
    assert abs(s - 1) < 1e-9, (r, s)
    assert all(w > 0 for w in r["weights"].values()), r
assert doc["egress_usd_per_hour"] >= 0
PY
}

n=0
for f in "$EXAMPLES"/*.json; do
    case $(basename "$f") in
    *profiles*|*scenario*) continue ;; # not topologies
    esac
    # Only topology documents (with "clusters") are solved here.
    grep -q '"clusters"' "$f" || continue
    n=$((n + 1))
    "$SOLVE" --json "$f" >"$TMP/out.json" 2>"$TMP/err" || fail "$f: exit $? ($(cat "$TMP/err"))"
    check_json "$TMP/out.json" || fail "$f: bad JSON output"
    "$SOLVE" "$f" >"$TMP/out.txt" 2>"$TMP/err" || fail "$f: text mode exit $?"
    grep -q "routing rules" "$TMP/out.txt" || fail "$f: no routing section"
    grep -q "^LP: " "$TMP/out.txt" || fail "$f: no LP size line"
done
[ "$n" -gt 0 ] || fail "no example topology in $EXAMPLES"

# The embedded default (hotel-reservation) in both modes, with options.
"$SOLVE" --json >"$TMP/default.json" || fail "embedded default: exit $?"
check_json "$TMP/default.json" || fail "embedded default: bad JSON"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["topology"]=="hotel-reservation", d["topology"]' \
    "$TMP/default.json" || fail "embedded default is not hotel-reservation"
"$SOLVE" --all --segments 8 --u-max 0.9 >"$TMP/default.txt" || fail "embedded default text: exit $?"
grep -q "hotels" "$TMP/default.txt" || fail "text output lacks the hotels class"

# An egress budget of 0 leaves no egress.
"$SOLVE" --json --egress-budget 0 >"$TMP/budget.json" || fail "budget 0: exit $?"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["egress_usd_per_hour"] < 1e-9, d["egress_usd_per_hour"]' \
    "$TMP/budget.json" || fail "budget 0 still pays egress"

# --demand changes the demand that is solved.
"$SOLVE" --json --demand hotels@us-south=50 >"$TMP/demand.json" || fail "--demand: exit $?"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
rows = [c for c in d["classes"] if c["class"] == "hotels" and c["cluster"] == "us-south"]
assert rows and abs(rows[0]["rps"] - 50) < 1e-9, rows' "$TMP/demand.json" || fail "--demand not applied"

# Bad input: exit 1 and the path in the message.
printf '{"clusters": ["a"], "network": {"rtt_ms": [[0.5]]}, "services": [], "classes": [{"name": "k", "calls": {"service": "ghost"}}]}' >"$TMP/bad.json"
set +e
"$SOLVE" "$TMP/bad.json" >/dev/null 2>"$TMP/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "bad topology: exit $rc, expected 1"
grep -q "$TMP/bad.json" "$TMP/err" || fail "bad topology: message lacks the file path: $(cat "$TMP/err")"
grep -q "classes\[0\]" "$TMP/err" || fail "bad topology: message lacks the JSON path: $(cat "$TMP/err")"

set +e
"$SOLVE" "$TMP/missing.json" >/dev/null 2>"$TMP/err"
rc=$?
"$SOLVE" --u-max 2 >/dev/null 2>&1
rc2=$?
"$SOLVE" --demand nosuch@us-west=5 >/dev/null 2>&1
rc3=$?
"$SOLVE" --help >"$TMP/help"
rc4=$?
set -e
[ "$rc" -eq 1 ] || fail "missing file: exit $rc, expected 1"
grep -q "missing.json" "$TMP/err" || fail "missing file: message lacks the path"
[ "$rc2" -eq 1 ] || fail "--u-max 2: exit $rc2, expected 1"
[ "$rc3" -eq 1 ] || fail "unknown class in --demand: exit $rc3, expected 1"
[ "$rc4" -eq 0 ] && grep -q "usage: slate-solve" "$TMP/help" || fail "--help"

echo "solve_cli: $n examples and the embedded default solved; bad input rejected"
