#!/usr/bin/env python3
"""Writes an inventory benchmark site: sites, PARTS parts (with an ERP SKU each in sku_map) and
EVENTS consumption events spread over the 90 days before 2026-10-31 (one per part-day on average
when EVENTS = PARTS x 90).

usage: python3 bench/gen_inventory.py OUT_DIR PARTS EVENTS
"""
import datetime as dt
import os
import random
import sys

out, n_parts, n_events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
rng = random.Random(11)
with open(os.path.join(out, "sites.csv"), "w") as f:
    f.write("site_id,timezone\nPLANT-A,Europe/Berlin\n")
with open(os.path.join(out, "parts.csv"), "w") as f, open(os.path.join(out, "sku_map.csv"), "w") as m:
    f.write("part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n")
    m.write("source,external_sku,part_id\n")
    for i in range(n_parts):
        f.write(f"P-{i:06d},Spare {i},EA,PLANT-A,C{i % 8},{rng.randint(1, 60)},,,\n")
        m.write(f"ERP,{100000000 + i},P-{i:06d}\n")
# 2026-08-02T00:00:00Z .. 2026-10-31T00:00:00Z in epoch seconds
start, span = 1785628800, 90 * 86400
with open(os.path.join(out, "consumption.csv"), "w") as f:
    f.write("event_id,source,external_sku,quantity,consumed_at\n")
    for e in range(n_events):
        t = start + rng.randrange(span)
        ts = dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        f.write(f"E{e},ERP,{100000000 + rng.randrange(n_parts)},{rng.choice((1, 1, 1, 2, 3))},{ts}\n")
