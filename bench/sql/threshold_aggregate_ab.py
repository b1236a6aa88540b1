"""A/B of the threshold aggregate (`Store::threshold_inputs`) on SQLite, before and after issue 21.

Builds (once) a `consumption` table with the schema of migrations 1, 4 and 9 — 100,000 parts,
9,000,000 events over the 90 days before 2026-10-31, quantities with two decimals — holding both
covering indexes, then times the SQL of each version in alternation, each forced onto its index.

Usage: python3 bench/sql/threshold_aggregate_ab.py [DB_PATH] [RUNS]   (default /tmp/aggbench.db, 3)
"""
import os
import random
import sqlite3
import sys
import time

path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/aggbench.db"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
fresh = not os.path.exists(path)
db = sqlite3.connect(path)
AS_OF = 1793404800000  # 2026-10-31T00:00:00Z, epoch ms
DAY = 86400000
if fresh:
    db.executescript(
        """CREATE TABLE consumption (source TEXT NOT NULL, event_id TEXT NOT NULL, external_sku TEXT NOT NULL,
             part_id TEXT, quantity REAL NOT NULL, consumed_at INTEGER NOT NULL, received_at INTEGER NOT NULL,
             voided INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (source, event_id));"""
    )
    rnd = random.Random(7)

    def rows():
        for i in range(9_000_000):
            p = rnd.randrange(100_000)
            yield ("ERP", f"E{i}", f"S{p}", f"P-{p:06d}", round(rnd.random() * 6, 2), AS_OF - rnd.randrange(90 * DAY), 1)

    db.executemany(
        "INSERT INTO consumption (source, event_id, external_sku, part_id, quantity, consumed_at, received_at) "
        "VALUES (?,?,?,?,?,?,?)",
        rows(),
    )
    db.execute("CREATE INDEX old_idx ON consumption(part_id, consumed_at, quantity)")  # migration 4
    db.execute("CREATE INDEX new_idx ON consumption(part_id, consumed_at, quantity, voided)")  # migration 9
    db.commit()

TAIL = "COUNT(*) FROM consumption INDEXED BY {idx} WHERE part_id IS NOT NULL AND consumed_at < ?2 {voided}GROUP BY part_id"
QUERIES = {
    "before (float SUM, migration 4 index)": "SELECT part_id, SUM(CASE WHEN consumed_at >= ?1 THEN quantity ELSE 0.0 END), "
    + TAIL.format(idx="old_idx", voided=""),
    "before + voided = 0 (migration 9 index)": "SELECT part_id, SUM(CASE WHEN consumed_at >= ?1 THEN quantity ELSE 0.0 END), "
    + TAIL.format(idx="new_idx", voided="AND voided = 0 "),
    "micro-unit TOTAL, migration 4 index": "SELECT part_id, TOTAL(CASE WHEN consumed_at >= ?1 THEN CAST(quantity * 1000000 + 0.5 AS INTEGER) END), "
    + TAIL.format(idx="old_idx", voided=""),
    "after (micro-unit TOTAL + voided = 0)": "SELECT part_id, TOTAL(CASE WHEN consumed_at >= ?1 THEN CAST(quantity * 1000000 + 0.5 AS INTEGER) END), "
    + TAIL.format(idx="new_idx", voided="AND voided = 0 "),
}
times = {k: [] for k in QUERIES}
for _ in range(runs):
    for name, sql in QUERIES.items():
        started = time.perf_counter()
        db.execute(sql, (AS_OF - 90 * DAY, AS_OF)).fetchall()
        times[name].append(time.perf_counter() - started)
print(f"SQLite {sqlite3.sqlite_version}, {runs} alternating runs")
for name, t in times.items():
    t.sort()
    print(f"{name:45} min {t[0]:.2f} s  median {t[len(t) // 2]:.2f} s")
