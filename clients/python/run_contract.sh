#!/usr/bin/env bash
# Seed-client contract test: our ThresholdSyncPipeline (threshold_sync.py) against a real
# `cmms serve` on a fresh SQLite store with the example site's parts.
# Usage: clients/python/run_contract.sh   (env: CARGO_TARGET_DIR, CMMS_BIN, CMMS_PY_VENV)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=harness.sh
. "$ROOT/clients/python/harness.sh"

ensure_venv
ensure_cmms
import_master_data
# The threshold PUT needs the `ingest` scope; the read token only checks what the server holds.
INGEST_TOKEN=$(new_token ingest contract-client)
READ_TOKEN=$(new_token read contract-check)
start_server
"$PY" "$ROOT/clients/python/contract_test.py" --base-url "$BASE_URL" --token "$INGEST_TOKEN" \
  --read-token "$READ_TOKEN" --part BRG-6204
