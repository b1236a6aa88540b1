#!/usr/bin/env python3
"""Durability check of the HTTP write path: a server is killed with SIGKILL while clients push
consumption batches and threshold PUTs; afterwards every request the server acknowledged (2xx)
must be in the SQLite database, read back with Python's own sqlite3 module.

usage: durability.py --url http://127.0.0.1:PORT --token TOKEN --pid SERVER_PID --db cmms.db
                     --puts puts.txt [--after 3.0] [--clients 4] [--batch 1000]

Half the clients send consumption batches with unique event ids (`D-<client>-<n>-<j>`), half
send PUTs taken from puts.txt (client c sends the lines with k % put_clients == c, in order). After
`--after` seconds the server process gets SIGKILL. Requests answered 2xx before the kill are
"acknowledged"; requests cut off by the kill are not, and may or may not be stored. Exit status 0
when nothing acknowledged is missing.
"""
import argparse
import http.client
import json
import os
import signal
import sqlite3
import threading
import time
import urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--token", required=True)
ap.add_argument("--pid", type=int, required=True)
ap.add_argument("--db", required=True)
ap.add_argument("--puts", required=True)
ap.add_argument("--after", type=float, default=3.0)
ap.add_argument("--clients", type=int, default=4)
ap.add_argument("--batch", type=int, default=1000)
args = ap.parse_args()

url = urllib.parse.urlparse(args.url)
headers = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"}
stop = threading.Event()
acked_events: list[str] = []
acked_puts: list[tuple[str, int]] = []
lock = threading.Lock()
counts = {"ingest_ok": 0, "put_ok": 0, "cut_off": 0, "other": 0}


def connection():
    return http.client.HTTPConnection(url.hostname, url.port, timeout=30)


def ingest_client(c: int):
    conn = connection()
    n = 0
    while not stop.is_set():
        n += 1
        ids = [f"D-{c}-{n}-{j}" for j in range(args.batch)]
        body = json.dumps([
            {"event_id": e, "source": "ERP", "external_sku": str(100000000 + j % 1000), "quantity": 1,
             "consumed_at": "2026-11-15T10:00:00Z"} for j, e in enumerate(ids)
        ])
        try:
            conn.request("POST", "/api/v1/ingest/consumption", body, headers)
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException):
            with lock:
                counts["cut_off"] += 1
            return
        with lock:
            if 200 <= resp.status < 300:
                counts["ingest_ok"] += 1
                acked_events.extend(ids)
            else:
                counts["other"] += 1


def put_client(c: int, lines: list[str]):
    conn = connection()
    for line in lines:
        if stop.is_set():
            return
        part, seq, checksum, lo, reo, hi = line.split()
        body = json.dumps({"part_id": part, "current_stock": int(lo), "thresholds": {"min": int(lo),
                           "reorder": int(reo), "max": int(hi)}, "sequence_id": int(seq),
                           "sync_timestamp": "2026-11-30T12:00:00Z", "checksum": checksum})
        try:
            conn.request("PUT", f"/api/v1/inventory/thresholds/{part}", body, headers)
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException):
            with lock:
                counts["cut_off"] += 1
            return
        with lock:
            if 200 <= resp.status < 300:
                counts["put_ok"] += 1
                acked_puts.append((part, int(seq)))
            else:
                counts["other"] += 1


n_put = max(1, args.clients // 2)
n_ingest = max(1, args.clients - n_put)
with open(args.puts) as f:
    all_lines = f.read().splitlines()
workers = [threading.Thread(target=ingest_client, args=(c,)) for c in range(n_ingest)]
workers += [threading.Thread(target=put_client, args=(c, all_lines[c::n_put])) for c in range(n_put)]
for w in workers:
    w.start()
time.sleep(args.after)
os.kill(args.pid, signal.SIGKILL)
killed_at = time.time()
stop.set()
for w in workers:
    w.join()
# The server is gone: wait until the kernel has reaped it before reading its files.
while True:
    try:
        os.kill(args.pid, 0)
    except ProcessLookupError:
        break
    if time.time() - killed_at > 10:
        break
    time.sleep(0.05)

db = sqlite3.connect(args.db)
stored_events = {r[0] for r in db.execute("SELECT event_id FROM consumption WHERE source = 'ERP' AND event_id LIKE 'D-%'")}
missing_events = [e for e in acked_events if e not in stored_events]
received = {(r[0], r[1]) for r in db.execute("SELECT part_id, sequence_id FROM received_thresholds")}
in_force = dict(db.execute("SELECT part_id, sequence_id FROM current_thresholds"))
missing_puts = [(p, s) for p, s in acked_puts if (p, s) not in received or in_force.get(p, -1) < s]
print(
    f"durability: acknowledged {counts['ingest_ok']} ingest batches ({len(acked_events)} records) and "
    f"{counts['put_ok']} PUTs before SIGKILL; {counts['cut_off']} requests cut off by the kill, "
    f"{counts['other']} answered non-2xx; stored: {len(stored_events)} records "
    f"(>= acknowledged), {len(received)} received thresholds"
)
if missing_events or missing_puts or counts["other"]:
    print(f"durability: FAILED: {len(missing_events)} acknowledged records and {len(missing_puts)} acknowledged "
          f"PUTs missing; {counts['other']} unexpected non-2xx answers; first missing: "
          f"{missing_events[:3]} {missing_puts[:3]}")
    raise SystemExit(1)
print("durability: OK: every acknowledged record and PUT is in the database after kill -9")
