#!/usr/bin/env python3
"""Summarises a `cmms compute` intervals.csv written with `[pm] method = "weibull_cost"` per asset
group (at Azure PdM component level: per component) as the Markdown table of BENCHMARKS.md
"PM intervals (issue 24)": the seed MTBF (failure-to-failure gaps pooled over the group's assets,
as the seed computes them per asset), the Weibull fit the group's decisions rest on, the seed
interval (mtbf_fraction), T* and the recommended interval, and the cost-rate saving of the
recommendation over the seed interval under the fitted model (summed over the group's assets).

usage: python3 bench/pm_decision_quality.py OUT/intervals.csv
"""
import csv
import sys
from collections import defaultdict

rows = list(csv.DictReader(open(sys.argv[1], newline="")))
groups = defaultdict(list)
for r in rows:
    groups[r["asset_id"].rsplit("-", 1)[-1] if "-" in r["asset_id"] else r["asset_id"]].append(r)

f = lambda v: float(v) if v else None
print("| component | assets (own / pooled fit) | seed MTBF h (gaps) | Weibull β [95 % LR] | α h | mean life h | seed interval d (mean, range) | T* h | recommended d | basis | cost rate seed → rec. (per 1,000 h, Cp = 1) | saving |")
print("|---|---|---:|---|---:|---:|---|---:|---:|---|---|---:|")
for g, rs in sorted(groups.items()):
    own = sum(r["life_source"] == "OWN" for r in rs)
    gaps = sum(int(r["n_samples"]) for r in rs)
    seed_mtbf = sum(int(r["n_samples"]) * float(r["mean_mtbf_hours"]) for r in rs if r["mean_mtbf_hours"]) / gaps
    pooled = [r for r in rs if r["life_source"] == "POOLED"] or rs
    p = pooled[0]
    seed = [float(r["seed_interval_days"]) for r in rs]
    c_seed = sum(f(r["cost_rate_seed"]) for r in rs if r["cost_rate_seed"])
    c_rec = sum(f(r["cost_rate"]) for r in rs if r["cost_rate_seed"])
    bases = sorted({r["basis"] + ("/" + r["reason"] if r["reason"] else "") for r in rs})
    print(
        "| %s | %d (%d / %d) | %.0f | %.3f [%.3f, %.3f] | %.0f | %.0f | %.1f (%.1f–%.1f) | %s | %s | %s | %.3f → %.3f | %.1f %% |"
        % (
            g,
            len(rs),
            own,
            len(rs) - own,
            seed_mtbf,
            f(p["beta"]),
            f(p["beta_lower"]),
            f(p["beta_upper"]),
            f(p["alpha_hours"]),
            f(p["mean_life_hours"]),
            sum(seed) / len(seed),
            min(seed),
            max(seed),
            "%.0f" % f(p["t_star_hours"]) if p["t_star_hours"] else "—",
            "%.1f" % f(p["interval_days"]) if p["interval_days"] else "—",
            ", ".join(bases),
            1000 * c_seed / len(rs),
            1000 * c_rec / len(rs),
            100 * (c_seed - c_rec) / c_seed,
        )
    )
