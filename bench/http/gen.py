#!/usr/bin/env python3
"""Master data and request material for the HTTP load benchmark (bench/http/run.sh).

Writes into OUT_DIR:
  sites.csv, parts.csv, sku_map.csv   PARTS parts with one ERP SKU each (ERP SKU = 100000000 + i)
  inventory.csv                       one stock snapshot per part (on_hand 0..199), so routing has
                                      stock to compare the thresholds with
  puts.txt                            PUTS threshold updates, one per line: `part_id sequence_id
                                      checksum min reorder max`; request k updates part k % PARTS
                                      with sequence k // PARTS + 1, so every part's sequence only
                                      grows in file order and each line is a valid, newer update

usage: python3 bench/http/gen.py OUT_DIR [PARTS [PUTS]]   (defaults 10000 parts, 400000 PUTs)
"""
import hashlib
import os
import random
import sys

out = sys.argv[1]
n_parts = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
n_puts = int(sys.argv[3]) if len(sys.argv) > 3 else 400_000
os.makedirs(out, exist_ok=True)
rng = random.Random(7)

with open(os.path.join(out, "sites.csv"), "w") as f:
    f.write("site_id,timezone\nPLANT-A,Europe/Berlin\n")
with open(os.path.join(out, "parts.csv"), "w") as f, open(os.path.join(out, "sku_map.csv"), "w") as m, open(
    os.path.join(out, "inventory.csv"), "w"
) as s:
    f.write("part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n")
    m.write("source,external_sku,part_id\n")
    s.write("source,sequence_id,external_sku,on_hand,observed_at\n")
    for i in range(n_parts):
        f.write(f"P-{i:06d},Spare {i},EA,PLANT-A,C{i % 8},{rng.randint(1, 60)},,,\n")
        m.write(f"ERP,{100000000 + i},P-{i:06d}\n")
        s.write(f"ERP,1,{100000000 + i},{rng.randrange(200)},2026-10-30T00:00:00Z\n")

with open(os.path.join(out, "puts.txt"), "w") as f:
    for k in range(n_puts):
        part = f"P-{k % n_parts:06d}"
        seq = k // n_parts + 1
        checksum = hashlib.sha256(f"{part}:{seq}".encode()).hexdigest()
        lo = rng.randrange(100)
        f.write(f"{part} {seq} {checksum} {lo} {lo + 25} {lo + 60}\n")
