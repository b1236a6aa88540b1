# Shared by clients/python/run_contract.sh and tests/browser/run.sh (sourced, not run):
# a Python venv with the pinned requirements, the debug `cmms` binary, a fresh SQLite store in a
# temporary folder with the example site's master data, tokens, and a `cmms serve` on a free
# loopback port that is stopped when the calling script exits.
# Needs: ROOT (the repository root) set by the caller.

set -euo pipefail

: "${ROOT:?ROOT must be the repository root}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="${CMMS_PY_VENV:-$TARGET/py-venv}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cmms-harness.XXXXXX")"
SERVER_PID=""
export CMMS_DATABASE_URL="sqlite://$WORK/cmms.db"

harness_cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap harness_cleanup EXIT

# Installs Debian packages that are missing (CI and the development machines run as root).
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "harness: please install $* (needs root and apt-get)" >&2
    return 1
  fi
  echo "harness: installing $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Creates (once) and activates the venv with requirements.txt; PY is its python.
ensure_venv() {
  command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
  if [ ! -x "$VENV/bin/python" ]; then
    if ! python3 -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      apt_install python3-venv
      python3 -m venv "$VENV"
    fi
  fi
  PY="$VENV/bin/python"
  "$PY" -m pip install -q --disable-pip-version-check -r "$ROOT/clients/python/requirements.txt"
}

# Builds the debug binary unless CMMS_BIN names one; CMMS is the binary.
ensure_cmms() {
  if [ -n "${CMMS_BIN:-}" ]; then
    CMMS="$CMMS_BIN"
  else
    (cd "$ROOT" && cargo build -q -p cmms-cli)
    CMMS="$TARGET/debug/cmms"
  fi
  [ -x "$CMMS" ] || { echo "harness: no cmms binary at $CMMS" >&2; return 1; }
}

# Runs cmms in the temporary folder (so no ./cmms.toml of the caller's is picked up).
cmms() {
  (cd "$WORK" && "$CMMS" "$@")
}

# Imports the example site's master data (sites, parts, SKU map, assets, bills of materials).
import_master_data() {
  local kind
  for kind in sites parts sku_map assets asset_parts; do
    cmms import "$kind" "$ROOT/examples/site/$kind.csv" >/dev/null
  done
}

# The whole example site: master data, every feed, and a recompute as of 2026-10-31, so pages and
# endpoints have real rows. $1 names the caller in error messages.
import_example_site() {
  local kind rc
  import_master_data
  for kind in failures mtbf_readings consumption inventory scans; do
    # consumption.csv holds one conflicting duplicate on purpose: exit 3 (rows rejected) is expected.
    rc=0
    cmms import "$kind" "$ROOT/examples/site/$kind.csv" >/dev/null 2>&1 || rc=$?
    if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
      echo "$1: importing $kind failed (exit $rc)" >&2
      exit 1
    fi
  done
  cmms recompute --as-of 2026-10-31T00:00:00Z >/dev/null
}

# Prints a new token with the given scopes (comma-separated) and name.
new_token() {
  cmms token create --scope "$1" --name "$2" 2>/dev/null
}

# Starts `cmms serve` on a free loopback port; BASE_URL is its address once /healthz answers.
start_server() {
  local port
  port=$("${PY:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  BASE_URL="http://127.0.0.1:$port"
  (cd "$WORK" && CMMS_LOG="${CMMS_LOG:-info}" exec "$CMMS" serve --listen "127.0.0.1:$port") >"$WORK/serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if "${PY:-python3}" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=1)' \
      "$BASE_URL" 2>/dev/null; then
      echo "harness: cmms serve (pid $SERVER_PID) at $BASE_URL on $CMMS_DATABASE_URL"
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "harness: cmms serve did not come up; its log:" >&2
  cat "$WORK/serve.log" >&2
  return 1
}
