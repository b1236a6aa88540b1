#!/usr/bin/env bash
# Browser test of the dashboard: headless Chromium through chromedriver (W3C WebDriver over HTTP,
# driven with python `requests`) against `cmms serve` on a fresh SQLite store loaded with the
# example site and recomputed as of a fixed instant. Screenshots: target/ci-artifacts/browser/.
# Usage: tests/browser/run.sh   (env: CARGO_TARGET_DIR, CMMS_BIN, CMMS_PY_VENV, CHROMIUM, CHROMEDRIVER)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=../../clients/python/harness.sh
. "$ROOT/clients/python/harness.sh"

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
SHOTS="$ROOT/target/ci-artifacts/browser"
DRIVER_PID=""

if [ ! -x "$CHROMIUM" ] || [ ! -x "$CHROMEDRIVER" ]; then
  apt_install chromium chromium-driver
fi

ensure_venv
ensure_cmms
import_example_site browser
# An AMBIGUOUS SKU as well: two WMS entries that normalise alike name different parts, and an event
# delivered under that SKU (the resolve form must make the operator choose).
printf 'source,external_sku,part_id\nWMS,flt-ahu,FLT-AHU-592\nWMS,Flt-Ahu,BLT-SPA-1250\n' >"$WORK/sku_map_ambiguous.csv"
printf 'event_id,source,external_sku,quantity,consumed_at\nAMB-1,WMS,FLT-AHU,2,2026-10-30T08:00:00Z\n' >"$WORK/consumption_ambiguous.csv"
cmms import sku_map "$WORK/sku_map_ambiguous.csv" >/dev/null
cmms import consumption "$WORK/consumption_ambiguous.csv" >/dev/null
TOKEN=$(new_token read,operate browser)
start_server

port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$CHROMEDRIVER" --port="$port" >"$WORK/chromedriver.log" 2>&1 &
DRIVER_PID=$!
stop_driver() {
  if [ -n "$DRIVER_PID" ]; then kill -TERM "$DRIVER_PID" 2>/dev/null || true; fi
  harness_cleanup
}
trap stop_driver EXIT
for _ in $(seq 1 100); do
  "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/status", timeout=1)' \
    "http://127.0.0.1:$port" 2>/dev/null && break
  sleep 0.1
done

rm -rf "$SHOTS"
mkdir -p "$SHOTS"
"$PY" "$ROOT/tests/browser/dashboard_test.py" --base-url "$BASE_URL" --token "$TOKEN" \
  --webdriver "http://127.0.0.1:$port" --chromium "$CHROMIUM" --screenshots "$SHOTS"
echo "browser: screenshots in $SHOTS"
