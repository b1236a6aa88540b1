#!/usr/bin/env python3
"""Writes a parts CSV of N rows (default 1,000,000) plus its sites file, for the import benchmark.

usage: python3 bench/gen_parts.py OUT_DIR [N]
"""
import os
import random
import sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
os.makedirs(out, exist_ok=True)
rng = random.Random(7)
sites = ["PLANT-A", "PLANT-B", "CAMPUS-S"]
classes = ["BEARING", "FILTER", "BELT", "SEAL", "VALVE", "MOTOR", "SENSOR", "FASTENER"]
with open(os.path.join(out, "sites.csv"), "w") as f:
    f.write("site_id,timezone\nPLANT-A,Europe/Berlin\nPLANT-B,America/New_York\nCAMPUS-S,Australia/Sydney\n")
with open(os.path.join(out, "parts.csv"), "w") as f:
    f.write("part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n")
    for i in range(n):
        cls = rng.choice(classes)
        bmin = rng.randint(0, 40)
        reorder = round(bmin * 1.25, 2)
        f.write(f"P-{i:07d},{cls.title()} spare {i},EA,{rng.choice(sites)},{cls},{rng.randint(1, 60)},"
                f"{bmin},{reorder},{round(reorder * 1.5, 2)}\n")
