#!/usr/bin/env bash
# On every example scenario, the discrete-event mean end-to-end latency of
# slate is <= that of every other policy, up to statistical noise: each
# policy runs with 5 seeds (the first 20,000 requests of each run, to fit CI
# time under the sanitizers), and the assertion is
#   mean(slate) <= mean(other) + 3 * sqrt(SE(slate)^2 + SE(other)^2)
# with SE the standard error of the mean across the seeds (printed).
set -euo pipefail
sim=$1
examples=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for scenario in "$examples"/scenario-*.json; do
  name=$(basename "$scenario" .json)
  for seed in 1 2 3 4 5; do
    "$sim" "$scenario" --policies all --mode des --max-requests 20000 --seed "$seed" \
      --json "$dir/$name.$seed.json" >/dev/null
  done
  python3 - "$name" "$dir"/"$name".*.json <<'PY'
import json, math, statistics, sys
name, files = sys.argv[1], sys.argv[2:]
means = {}
for f in files:
    for row in json.load(open(f))["rows"]:
        means.setdefault(row["policy"], []).append(row["mean_ms"])
def stat(p):
    xs = means[p]
    return statistics.mean(xs), statistics.stdev(xs) / math.sqrt(len(xs))
s_mean, s_se = stat("slate")
worst = []
for p in sorted(means):
    if p == "slate":
        continue
    m, se = stat(p)
    bound = m + 3 * math.sqrt(s_se ** 2 + se ** 2)
    worst.append((m, p, se))
    assert s_mean <= bound, f"{name}: slate {s_mean:.2f} ms > {p} {m:.2f} ms + 3 SE ({bound:.2f})"
m, p, se = min(worst)
print(f"{name}: slate {s_mean:.2f} +- {s_se:.2f} ms (SE, 5 seeds); best other {p} {m:.2f} +- {se:.2f} ms; "
      f"slate <= all {len(worst)} others")
PY
done
echo "PASS sim_slate_best"
