#!/usr/bin/env bash
# Outside reference for the life models (docs/testing.md#outside-reference-for-the-life-models):
# fits the Azure PdM component lives and the NASA C-MAPSS FD001 lives with the Python
# `reliability` package (in a venv of its own) and with cmms_core::life (the `life_fit` example),
# and fails unless alpha and beta agree within 1e-5 relative and the exponential MTBF exactly.
# Usage: tests/reliability/run.sh   (env: CMMS_RELIABILITY_VENV, CMMS_DATA_DIR (default /work/shared/data))
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${CMMS_DATA_DIR:-/work/shared/data}"
VENV="${CMMS_RELIABILITY_VENV:-${CARGO_TARGET_DIR:-$ROOT/target}/reliability-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/tests/reliability/requirements.txt"
cargo build -q -p cmms-core --example life_fit
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/examples/life_fit"
"$VENV/bin/python" "$ROOT/tests/reliability/compare.py" "$DATA/azure-pdm" "$DATA/cmapss-fd001" "$BIN"
