"""Contract test: our seed client (``threshold_sync.ThresholdSyncPipeline``) against a running
``cmms serve``.

Usage: ``python contract_test.py --base-url http://127.0.0.1:PORT --token INGEST_TOKEN
--read-token READ_TOKEN [--part BRG-6204]``. The ingest token is what the client sends (the PUT
needs the ``ingest`` scope; ``admin`` works too); the read token lets the test check what the
server holds after each call. The part must exist on the server (import the example parts).

Checks the seed's status handling end to end: ``True`` on a new sequence (and the values are in
force), ``False`` on a repeated or older one (409, nothing changes), and an ``HTTPError`` carrying
422 for invalid thresholds (negative, min <= reorder <= max violated, part id mismatch, bad
checksum), each leaving the thresholds in force untouched. Prints one line per check and a closing
``contract: N passed, N failed`` line; exits 1 when any check failed.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Callable, Dict, List, Optional, Tuple

import requests

from threshold_sync import CLIENT_ID, ThresholdSyncPipeline, checksum


class ContractError(AssertionError):
    """A check of the contract did not hold."""


def expect(condition: bool, message: str) -> None:
    """Fails the current check with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ContractError(message)


class Server:
    """Reads what the server holds, with a read token (independent of the client under test)."""

    def __init__(self, base_url: str, read_token: str):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {read_token}"

    def in_force(self, part_id: str) -> Tuple[Optional[int], Optional[List[float]]]:
        """The part's sequence and ``[min, reorder, max]`` in force (``None`` when it has none)."""
        r = self.session.get(f"{self.base_url}/api/v1/parts", params={"below_reorder": "false"}, timeout=10)
        r.raise_for_status()
        for p in r.json():
            if p["part_id"] == part_id:
                limits = None if p.get("min") is None else [p["min"], p["reorder"], p["max"]]
                return p.get("sequence_id"), limits
        raise ContractError(f"part {part_id} is not on the server (import the example parts first)")

    def latest_received(self, part_id: str) -> Dict:
        """The newest threshold history row of the part."""
        r = self.session.get(f"{self.base_url}/api/v1/parts/{part_id}/thresholds", timeout=10)
        r.raise_for_status()
        rows = r.json()
        expect(len(rows) > 0, f"no threshold history for {part_id}")
        return rows[0]


def expect_http_error(call: Callable[[], object], status: int, code: str) -> None:
    """``call`` must raise ``requests.HTTPError`` with ``status`` and the JSON error ``code``."""
    try:
        result = call()
    except requests.exceptions.HTTPError as e:
        got = e.response.status_code if e.response is not None else None
        expect(got == status, f"expected HTTP {status}, the client raised for {got}")
        body = e.response.json()
        err = body.get("error", {})
        expect(err.get("code") == code, f"expected error code {code}, got {body}")
        expect(bool(err.get("message")), f"the error has no message: {body}")
        return
    raise ContractError(f"expected HTTPError {status} {code}, the client returned {result!r}")


def run(base_url: str, token: str, read_token: str, part: str) -> int:
    """Runs every check; returns the number of failed checks."""
    client = ThresholdSyncPipeline(base_url, token)
    server = Server(base_url, read_token)
    start_seq, _ = server.in_force(part)
    # Sequences above whatever is in force, so the test also passes against a used server.
    base = (start_seq or 0) + 1
    good = {"min": 4.0, "reorder": 5.0, "max": 7.5}
    state: Dict[str, object] = {}

    def unchanged() -> None:
        seq, limits = server.in_force(part)
        expect((seq, limits) == state["in_force"], f"in force changed to {(seq, limits)}, was {state['in_force']}")

    def new_sequence_is_applied() -> None:
        expect(client.sync_thresholds(part, 7.0, good, base) is True, "a new sequence must return True")
        seq, limits = server.in_force(part)
        expect(seq == base and limits == [4.0, 5.0, 7.5], f"in force: seq {seq} limits {limits}")
        row = server.latest_received(part)
        expect(row["origin"] == "RECEIVED" and row["sequence_id"] == base, f"history row {row}")
        state["in_force"] = (seq, limits)

    def repeated_sequence_is_a_conflict() -> None:
        other = {"min": 1.0, "reorder": 2.0, "max": 3.0}
        expect(client.sync_thresholds(part, 7.0, other, base) is False, "a repeated sequence must return False")
        unchanged()

    def older_sequence_is_a_conflict() -> None:
        if base > 1:
            expect(client.sync_thresholds(part, 7.0, good, base - 1) is False, "an older sequence must return False")
        expect(client.sync_thresholds(part, 7.0, good, 0) is False, "sequence 0 must return False")
        unchanged()

    def negative_threshold_raises() -> None:
        bad = {"min": -1.0, "reorder": 5.0, "max": 7.5}
        expect_http_error(lambda: client.sync_thresholds(part, 7.0, bad, base + 1), 422, "NEGATIVE_THRESHOLD")
        unchanged()

    def negative_stock_raises() -> None:
        expect_http_error(lambda: client.sync_thresholds(part, -3.0, good, base + 1), 422, "NEGATIVE_THRESHOLD")
        unchanged()

    def min_above_reorder_raises() -> None:
        bad = {"min": 6.0, "reorder": 5.0, "max": 7.5}
        expect_http_error(lambda: client.sync_thresholds(part, 7.0, bad, base + 1), 422, "THRESHOLD_ORDER")
        unchanged()

    def reorder_above_max_raises() -> None:
        bad = {"min": 4.0, "reorder": 8.0, "max": 7.5}
        expect_http_error(lambda: client.sync_thresholds(part, 7.0, bad, base + 1), 422, "THRESHOLD_ORDER")
        unchanged()

    def part_id_mismatch_raises() -> None:
        # A payload that is valid for another part (its own checksum), sent to this part's URL.
        payload = client.build_payload(part + "-OTHER", 7.0, good, base + 1)
        expect_http_error(lambda: client.send_payload(part, payload), 422, "PART_ID_MISMATCH")
        unchanged()

    def bad_checksum_raises() -> None:
        payload = client.build_payload(part, 7.0, good, base + 1)
        payload["checksum"] = checksum(part, base + 2)
        expect_http_error(lambda: client.send_payload(part, payload), 422, "BAD_CHECKSUM")
        unchanged()

    def computed_thresholds_round_trip() -> None:
        # The seed's formula and rounding: avg 2/day x 14 days x 1.5 = 42; x1.25 = 52.5; x1.5 = 78.75.
        t = client.calculate_dynamic_thresholds([1.0, 2.0, 3.0], 14)
        expect(t == {"min": 42.0, "reorder": 52.5, "max": 78.75}, f"computed {t}")
        for history, lead in (([], 14), ([1.0], 0)):
            try:
                client.calculate_dynamic_thresholds(history, lead)
            except ValueError:
                continue
            raise ContractError(f"calculate_dynamic_thresholds({history}, {lead}) must raise ValueError")
        expect(client.sync_thresholds(part, 7.0, t, base + 1) is True, "the next sequence must return True")
        seq, limits = server.in_force(part)
        expect(seq == base + 1 and limits == [42.0, 52.5, 78.75], f"in force: seq {seq} limits {limits}")
        state["in_force"] = (seq, limits)

    def unknown_part_raises() -> None:
        expect_http_error(lambda: client.sync_thresholds("NO-SUCH-PART", 7.0, good, 1), 404, "UNKNOWN_PART")

    def wrong_token_raises() -> None:
        stranger = ThresholdSyncPipeline(base_url, "cmms_" + "0" * 64)
        expect_http_error(lambda: stranger.sync_thresholds(part, 7.0, good, base + 9), 401, "UNAUTHENTICATED")
        unchanged()

    def headers_are_the_seeds() -> None:
        h = client.session.headers
        expect(h["Authorization"] == f"Bearer {token}", "bearer token header")
        expect(h["X-Client-Id"] == CLIENT_ID and h["Content-Type"] == "application/json", f"headers {dict(h)}")

    checks = [
        headers_are_the_seeds,
        new_sequence_is_applied,
        repeated_sequence_is_a_conflict,
        older_sequence_is_a_conflict,
        negative_threshold_raises,
        negative_stock_raises,
        min_above_reorder_raises,
        reorder_above_max_raises,
        part_id_mismatch_raises,
        bad_checksum_raises,
        computed_thresholds_round_trip,
        unknown_part_raises,
        wrong_token_raises,
    ]
    failed = 0
    for check in checks:
        try:
            check()
            print(f"ok   {check.__name__}")
        except Exception:  # noqa: BLE001 - every failure is reported and counted
            failed += 1
            print(f"FAIL {check.__name__}")
            traceback.print_exc(file=sys.stdout)
            if check is new_sequence_is_applied:
                print("the first sync failed; the remaining checks depend on it")
                failed += len(checks) - checks.index(check) - 1
                break
    print(f"contract: {len(checks) - failed} passed, {failed} failed")
    return failed


def main() -> int:
    """Parses the arguments and runs the checks."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--token", required=True, help="token with the ingest (or admin) scope, used by the client")
    ap.add_argument("--read-token", required=True, help="token with the read scope, used to check the server")
    ap.add_argument("--part", default="BRG-6204")
    args = ap.parse_args()
    return 1 if run(args.base_url, args.token, args.read_token, args.part) else 0


if __name__ == "__main__":
    sys.exit(main())
