"""Our own client for the threshold endpoint, behaving exactly as the seed article's
``ThresholdSyncPipeline``.

It keeps one ``requests`` session with ``Authorization: Bearer <token>``, computes thresholds
with the seed's chained rounding, and PUTs the seed's payload
(``part_id, current_stock, thresholds{min,reorder,max}, sequence_id, sync_timestamp, checksum``)
to ``/api/v1/inventory/thresholds/{part_id}``. Status handling is the seed's: ``True`` on
success (200), ``False`` on a sequence conflict (409), and the ``HTTPError`` is raised on
anything else (422 for invalid thresholds, 401/403/404 ...); network errors are raised too.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timezone
from typing import Any, Dict, List

import requests

logger = logging.getLogger(__name__)

CLIENT_ID = "cmms-threshold-optimizer-v1"
"""The ``X-Client-Id`` header the seed sends (the server records it with each update)."""


def checksum(part_id: str, sequence_id: int) -> str:
    """The seed's checksum: lower-case hex SHA-256 of ``"{part_id}:{sequence_id}"``."""
    return hashlib.sha256(f"{part_id}:{sequence_id}".encode()).hexdigest()


class ThresholdSyncPipeline:
    """Computes thresholds and syncs them to a cmms-pipeline server, as the seed's class does."""

    def __init__(self, cmms_base_url: str, api_token: str, timeout: int = 10):
        self.base_url = cmms_base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {api_token}",
                "Content-Type": "application/json",
                "X-Client-Id": CLIENT_ID,
            }
        )
        self.timeout = timeout

    def calculate_dynamic_thresholds(
        self,
        consumption_history: List[float],
        lead_time_days: int,
        safety_multiplier: float = 1.5,
    ) -> Dict[str, float]:
        """Deterministic thresholds from daily consumption and lead time (the seed's formula)."""
        if not consumption_history or lead_time_days <= 0:
            raise ValueError("Invalid consumption history or lead time")
        avg_daily_usage = sum(consumption_history) / len(consumption_history)
        min_threshold = round(avg_daily_usage * lead_time_days * safety_multiplier, 2)
        reorder_point = round(min_threshold * 1.25, 2)
        max_stock = round(reorder_point * 1.5, 2)
        return {"min": min_threshold, "reorder": reorder_point, "max": max_stock}

    def build_payload(
        self,
        part_id: str,
        current_stock: float,
        thresholds: Dict[str, float],
        sequence_id: int,
    ) -> Dict[str, Any]:
        """The seed's payload, stamped now (UTC, ``isoformat``) with the seed's checksum."""
        return {
            "part_id": part_id,
            "current_stock": current_stock,
            "thresholds": thresholds,
            "sequence_id": sequence_id,
            "sync_timestamp": datetime.now(timezone.utc).isoformat(),
            "checksum": checksum(part_id, sequence_id),
        }

    def sync_thresholds(
        self,
        part_id: str,
        current_stock: float,
        thresholds: Dict[str, float],
        sequence_id: int,
    ) -> bool:
        """Idempotent sync: ``True`` when applied, ``False`` on a sequence conflict, raises otherwise."""
        payload = self.build_payload(part_id, current_stock, thresholds, sequence_id)
        return self.send_payload(part_id, payload)

    def send_payload(self, path_part_id: str, payload: Dict[str, Any]) -> bool:
        """PUTs a payload to the part's endpoint with the seed's status handling.

        Split out of ``sync_thresholds`` so a contract test can send a tampered payload (another
        part id in the body, a wrong checksum) through exactly the same code path.
        """
        sequence_id = payload.get("sequence_id")
        response = None
        try:
            response = self.session.put(
                f"{self.base_url}/api/v1/inventory/thresholds/{path_part_id}",
                json=payload,
                timeout=self.timeout,
            )
            response.raise_for_status()
            logger.info("Synced thresholds for %s | seq:%s", path_part_id, sequence_id)
            return True
        except requests.exceptions.HTTPError as e:
            if response is not None and response.status_code == 409:
                logger.warning(
                    "Sequence conflict for %s | seq:%s - Skipping duplicate", path_part_id, sequence_id
                )
                return False
            logger.error("HTTP error syncing %s: %s", path_part_id, e.response.text if e.response is not None else e)
            raise
        except requests.exceptions.RequestException as e:
            logger.error("Network/timeout error syncing %s: %s", path_part_id, e)
            raise
