# Shared by the bench scripts (sourced, not run): the cmms binary to measure and the generated
# data shapes. Expects `here` (the bench folder) and `repo` (the checkout) to be set.

# cmms_binary: prints the cmms to measure: $BIN when set, else a release build of this checkout.
cmms_binary() {
  if [[ -n "${BIN:-}" ]]; then
    echo "$BIN"
  else
    (cd "$repo" && cargo build --release -q -p cmms-cli) >&2
    echo "${CARGO_TARGET_DIR:-$repo/target}/release/cmms"
  fi
}

# shape_args SHAPE: the generator's size arguments of a named shape.
shape_args() {
  case "$1" in
    suite) echo "--parts 20000 --assets 5000" ;;
    many) echo "--parts 300000 --assets 100000" ;;
    *) echo "bench: unknown shape $1 (suite, many)" >&2; return 2 ;;
  esac
}

# generate_shape DIR SHAPE [--clean]: writes the shape into DIR unless DIR/.complete says it is
# there (bench/gen/generate.py --seed 42, 6,000,000 consumption and 5,000,000 failure events,
# as of 2025-06-01; about 650 MB).
generate_shape() {
  local dir="$1" shape="$2" clean="${3:-}" args
  [[ -f "$dir/.complete" ]] && return 0
  args="$(shape_args "$shape")" || return 2
  echo "bench: generating $dir (about 650 MB)" >&2
  rm -rf "$dir"
  # shellcheck disable=SC2086
  python3 "$here/gen/generate.py" --out "$dir" $args --consumption-events 6000000 \
    --failure-events 5000000 --seed 42 --as-of 2025-06-01T00:00:00Z $clean > /dev/null
  touch "$dir/.complete"
}
