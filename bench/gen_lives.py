#!/usr/bin/env python3
"""Writes a `cmms compute` folder for the life-model speed figure (issue 24, acceptance 5): N
assets (default 100,000) with L lives each (default 50). Each asset draws lives from a Weibull
(shape 0.8, 1.5 or 3 by asset group, scale 1000 h) suspended by a planned replacement at a uniform
age in (0, 2000 h): a failure is an UNPLANNED event, a suspension a PLANNED_REPLACEMENT; the first
renewal is an install (PLANNED_REPLACEMENT), the last life runs 100 h to the as-of instant
2026-01-01T00:00:00Z (a suspension). Also writes
formulas.toml with `[pm] method = "weibull_cost"` (Cf/Cp = 5).

usage: python3 bench/gen_lives.py OUT_DIR [N] [L]
then:  cmms compute --input OUT_DIR --output OUT_DIR/out --formulas OUT_DIR/formulas.toml \\
         --as-of 2026-01-01T00:00:00Z
"""
import datetime as dt
import os
import random
import sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
per = int(sys.argv[3]) if len(sys.argv) > 3 else 50
os.makedirs(out, exist_ok=True)
rng = random.Random(24)
groups = [("RANDOM", 0.8), ("WEAR", 1.5), ("STEEP", 3.0)]
end = dt.datetime(2026, 1, 1)
with open(os.path.join(out, "sites.csv"), "w") as f:
    f.write("site_id,timezone\nPLANT-A,Europe/Berlin\n")
with open(os.path.join(out, "formulas.toml"), "w") as f:
    f.write('schema = 1\n[pm]\nmethod = "weibull_cost"\nfailure_cost = 5.0\npm_cost = 1.0\n')
with open(os.path.join(out, "assets.csv"), "w") as a, open(os.path.join(out, "failures.csv"), "w") as e:
    a.write("asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\n")
    e.write("event_id,asset_id,event_type,started_at,ended_at\n")
    for i in range(n):
        group, shape = groups[i % len(groups)]
        asset = "A-%06d" % i
        a.write("%s,%s,PLANT-A,90,\n" % (asset, group))
        lives = []
        for _ in range(per - 1):
            life = 1000.0 * rng.weibullvariate(1.0, shape)
            pm = 2000.0 * (1.0 - rng.random())
            lives.append((max(1, int(min(life, pm))), "UNPLANNED" if life <= pm else "PLANNED_REPLACEMENT"))
        # The last life runs 100 h up to the as-of instant.
        at = end - dt.timedelta(hours=sum(h for h, _ in lives) + 100)
        e.write("I-%s,%s,PLANNED_REPLACEMENT,%s,\n" % (asset, asset, at.strftime("%Y-%m-%dT%H:%M:%SZ")))
        for k, (h, kind) in enumerate(lives):
            at += dt.timedelta(hours=h)
            e.write("E%d-%s,%s,%s,%s,\n" % (k, asset, asset, kind, at.strftime("%Y-%m-%dT%H:%M:%SZ")))
