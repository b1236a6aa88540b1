#!/usr/bin/env bash
# API conformance: schemathesis (every check, every phase) against the OpenAPI document served by
# `cmms serve`, on a fresh SQLite store loaded with the example site and recomputed as of a fixed
# instant, with an admin token (admin allows every scope). Fails on any finding: a 5xx, a response
# that breaks its schema, an undocumented status, schema-valid input refused or invalid input
# accepted. Settings (the operations allowed to answer 422 to schema-valid input) live in
# schemathesis.toml beside this script; the JUnit report lands in target/ci-artifacts/conformance/.
# Usage: tests/conformance/run.sh   (env: CARGO_TARGET_DIR, CMMS_BIN, CMMS_CONFORMANCE_VENV,
#        CONFORMANCE_MAX_EXAMPLES (default 100), CONFORMANCE_SEED (default fixed; "random" for a new one))
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# schemathesis gets a venv of its own, next to the one of the seed-client and browser tests.
export CMMS_PY_VENV="${CMMS_CONFORMANCE_VENV:-${CARGO_TARGET_DIR:-$ROOT/target}/conformance-venv}"
# shellcheck source=../../clients/python/harness.sh
. "$ROOT/clients/python/harness.sh"

REPORTS="$ROOT/target/ci-artifacts/conformance"
MAX_EXAMPLES="${CONFORMANCE_MAX_EXAMPLES:-100}"
SEED="${CONFORMANCE_SEED:-20261202}"

ensure_venv
"$PY" -m pip install -q --disable-pip-version-check -r "$ROOT/tests/conformance/requirements.txt"
ensure_cmms
import_example_site conformance
TOKEN=$(new_token admin conformance)
start_server

seed_args=(--seed "$SEED")
if [ "$SEED" = random ]; then seed_args=(); fi
rm -rf "$REPORTS"
mkdir -p "$REPORTS"
echo "conformance: $("$VENV/bin/schemathesis" --version), at most $MAX_EXAMPLES examples per operation and phase"
rc=0
"$VENV/bin/schemathesis" --config-file "$ROOT/tests/conformance/schemathesis.toml" --no-color \
  run "$BASE_URL/api/v1/openapi.json" --url "$BASE_URL" -H "Authorization: Bearer $TOKEN" \
  --checks all --max-examples "$MAX_EXAMPLES" "${seed_args[@]}" --request-timeout 10 \
  --report junit --report-dir "$REPORTS" || rc=$?
if [ "$rc" != 0 ]; then
  echo "conformance: schemathesis found failures (exit $rc); the server's warnings and errors:" >&2
  grep -E "WARN|ERROR" "$WORK/serve.log" | tail -n 50 >&2 || true
  exit 1
fi
echo "conformance: no failures; JUnit report in $REPORTS"
