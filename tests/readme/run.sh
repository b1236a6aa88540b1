#!/usr/bin/env bash
# The "fresh clone" check: README.md's sample-site walkthrough, extracted from the README and run
# command by command in an empty folder with the built binary, each quoted output checked
# (tests/readme/walkthrough.py); then the real-data converters' message when the data is missing.
# Uses the debug binary `cargo test` built (CMMS_BIN overrides); builds it when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin="${CMMS_BIN:-target/debug/cmms}"
if [ ! -x "$bin" ]; then
  echo "readme: building $bin"
  cargo build -q -p cmms-cli --bin cmms
fi
python3 tests/readme/walkthrough.py README.md "$bin"

# The converters of docs/real-data.md without their data: a message naming the public source,
# not a traceback.
missing=$(mktemp -d)
trap 'rm -rf "$missing"' EXIT
for converter in examples/azure-pdm/convert.py examples/carparts/convert.py; do
  if out=$(python3 "$converter" "$missing/none" 2>&1); then
    echo "readme: $converter succeeded without data"; exit 1
  fi
  if [[ "$out" == *Traceback* || "$out" != *"not in this repository"* ]]; then
    echo "readme: $converter without data should name where to get it:"; echo "$out"; exit 1
  fi
done
echo "readme: converters name the public source of their data"
