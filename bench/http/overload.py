#!/usr/bin/env python3
"""Overload client for bench/http/overload.sh: CLIENTS concurrent keep-alive connections each
GET a list page in a loop for DURATION seconds, while one prober asks /healthz every 50 ms on a
connection of its own. Reports the status counts of the load, the 503s with and without
Retry-After, and the /healthz latency (p50/p99/max) during saturation. Exit status 1 when any
answer was a 5xx other than 503, a 503 lacked Retry-After, or a /healthz answer was not 200.

Standard library only (asyncio streams, HTTP/1.1 with Content-Length bodies).

usage: overload.py --url http://127.0.0.1:18081 --token TOKEN [--clients 500] [--duration 20]
                   [--path /api/v1/parts]
"""
import argparse
import asyncio
import collections
import sys
import time
import urllib.parse


async def read_response(reader):
    """Status code and headers (lower-case names) of one response; the body is read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    remaining = length
    while remaining > 0:
        chunk = await reader.read(min(remaining, 1 << 20))
        if not chunk:
            raise ConnectionError("body cut short")
        remaining -= len(chunk)
    return status, headers


async def connect(host, port):
    return await asyncio.open_connection(host, port, limit=1 << 20)


async def client(host, port, request, deadline, counts, errors):
    conn = None
    while time.monotonic() < deadline:
        try:
            if conn is None:
                conn = await connect(host, port)
            reader, writer = conn
            writer.write(request)
            await writer.drain()
            status, headers = await read_response(reader)
            counts[status] += 1
            if status == 503:
                if "retry-after" in headers:
                    counts["503 with Retry-After"] += 1
                    # A polite client waits as told (capped so the load stays high).
                    await asyncio.sleep(min(float(headers["retry-after"]), 0.2))
            if headers.get("connection", "").lower() == "close":
                writer.close()
                conn = None
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as e:
            errors[type(e).__name__] += 1
            if conn is not None:
                conn[1].close()
            conn = None
            await asyncio.sleep(0.05)
    if conn is not None:
        conn[1].close()


async def prober(host, port, deadline, latencies, statuses):
    request = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    conn = None
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            if conn is None:
                conn = await connect(host, port)
            reader, writer = conn
            writer.write(request)
            await writer.drain()
            status, _ = await read_response(reader)
            statuses[status] += 1
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as e:
            statuses[type(e).__name__] += 1
            conn = None
        latencies.append(time.monotonic() - started)
        await asyncio.sleep(max(0.0, 0.05 - (time.monotonic() - started)))


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--path", default="/api/v1/parts")
    args = ap.parse_args()
    u = urllib.parse.urlparse(args.url)
    host, port = u.hostname, u.port
    request = (
        f"GET {args.path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {args.token}\r\n\r\n"
    ).encode()
    counts, errors = collections.Counter(), collections.Counter()
    latencies, health = [], collections.Counter()
    started = time.monotonic()
    deadline = started + args.duration
    tasks = [asyncio.create_task(client(host, port, request, deadline, counts, errors)) for _ in range(args.clients)]
    tasks.append(asyncio.create_task(prober(host, port, deadline, latencies, health)))
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    answered = sum(v for k, v in counts.items() if isinstance(k, int))
    print(f"load: {args.clients} clients, GET {args.path}, {elapsed:.1f} s")
    print(f"answers: {answered} ({answered / elapsed:.0f}/s)")
    for k in sorted((k for k in counts if isinstance(k, int))):
        print(f"  HTTP {k}: {counts[k]}")
    print(f"  503 with Retry-After: {counts['503 with Retry-After']}")
    for k, v in sorted(errors.items()):
        print(f"  connection error {k}: {v}")
    ms = [x * 1000 for x in latencies]
    print(
        f"/healthz during load: {len(ms)} probes, statuses {dict(health)}, "
        f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, max {max(ms, default=0):.1f} ms"
    )
    bad_5xx = sum(v for k, v in counts.items() if isinstance(k, int) and k >= 500 and k != 503)
    ok = (
        bad_5xx == 0
        and counts[503] == counts["503 with Retry-After"]
        and set(health) <= {200}
    )
    print("result: " + ("PASS (no 5xx but 503, every 503 with Retry-After, /healthz always 200)" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
