#!/bin/sh
# Integration test of slate-sim on the SLATE benchmark scenario: exit 0, a
# table row for every requested policy in both modes, CSV and JSON written,
# slate's analytic mean latency not above waterfall's; bad input exits
# non-zero with the JSON path in the message.
#   sim_cli.sh <path to slate-sim> <examples dir>
set -eu

SIM=$1
EXAMPLES=$2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/slate-sim-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

POLICIES=local,equal,spray,waterfall,envoy-locality,rings,slate
SCEN=$EXAMPLES/scenario-slate-benchmark.json

# A short DES run keeps the test fast: --max-requests bounds it.
"$SIM" "$SCEN" --policies $POLICIES --mode both --max-requests 40000 \
    --csv "$TMP/out.csv" --json "$TMP/out.json" >"$TMP/out.txt" 2>"$TMP/err" ||
    fail "exit $? ($(cat "$TMP/err"))"
cat "$TMP/out.txt"
for p in $(echo $POLICIES | tr , ' '); do
    n=$(grep -c "^$p " "$TMP/out.txt" || true)
    [ "$n" -eq 2 ] || fail "policy $p: $n table rows, expected 2 (analytic, des)"
done

python3 - "$TMP/out.csv" "$TMP/out.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {(r["policy"], r["mode"]): r for r in rows}
assert len(rows) == 14, len(rows)
for r in rows:
    assert r["status"] == "ok", r
wf = float(by[("waterfall", "analytic")]["mean_ms"])
sl = float(by[("slate", "analytic")]["mean_ms"])
assert sl <= wf, ("slate analytic mean above waterfall's", sl, wf)
assert abs(float(by[("waterfall", "analytic")]["mean_vs_waterfall"]) - 1) < 1e-12
doc = json.load(open(sys.argv[2]))
assert doc["topology"] == "alibaba-fanout", doc["topology"]
assert len(doc["rows"]) == 14
des = [r for r in doc["rows"] if r["mode"] == "des"]
for r in des:
    assert r["requests"] > 0 and r["per_class"], r["policy"]
    assert r["p50_ms"] <= r["p99_ms"], r
PY

# p2c-ewma exists only in the DES.
"$SIM" "$SCEN" --policies p2c-ewma,waterfall --mode des --max-requests 20000 >"$TMP/p2c.txt" ||
    fail "p2c-ewma run: exit $?"
grep -q "^p2c-ewma " "$TMP/p2c.txt" || fail "no p2c-ewma row"

# --plot: SVGs drawn by gnuplot, well-formed, one series per policy.
if command -v gnuplot >/dev/null; then
  "$SIM" "$SCEN" --policies slate,waterfall --mode des --max-requests 20000 --plot "$TMP/plots" >/dev/null ||
    fail "--plot run: exit $?"
  python3 - "$TMP/plots" <<'PY' || fail "--plot output"
import sys, xml.etree.ElementTree as ET
d = sys.argv[1]
for name in ("latency-cdf.svg", "timeline.svg"):
    root = ET.parse(f"{d}/{name}").getroot()
    text = " ".join(root.itertext())
    assert "slate" in text and "waterfall" in text, (name, text[:200])
rows = [l for l in open(f"{d}/cdf-slate.dat") if not l.startswith("#")]
fr = [float(l.split()[1]) for l in rows]
assert fr == sorted(fr) and abs(fr[-1] - 1) < 1e-9, "the CDF must rise to 1"
PY
else
  echo "sim_cli: gnuplot not installed, --plot not checked"
fi

# Bad input: unknown policy (usage, 2), bad scenario (1, JSON path).
set +e
"$SIM" "$SCEN" --policies nope >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] || fail "unknown policy: expected exit 2"
printf '{"topology": "alibaba-fanout.json", "duration_s": "long"}' >"$TMP/bad.json"
cp "$EXAMPLES/alibaba-fanout.json" "$TMP/"
"$SIM" "$TMP/bad.json" >/dev/null 2>"$TMP/err"
[ $? -eq 1 ] || fail "bad scenario: expected exit 1"
grep -q "duration_s" "$TMP/err" || fail "bad scenario: no JSON path in: $(cat "$TMP/err")"
set -e
echo "sim_cli: ok"
