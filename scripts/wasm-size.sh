#!/usr/bin/env bash
# The wasm's size per build option (scripts/bench.sh, BENCH=size): prints markdown rows for
# BENCHMARKS.md. Each row is one `wasm-pack build --profile wasm` (the profile scripts/build.sh
# uses) with settings overridden through CARGO_PROFILE_WASM_*, in its own target directory
# (target/bench-size, so that pkg/ and the usual builds are left alone), then optionally
# binaryen's wasm-opt (npm's, scripts/vendor) or scripts/wasm-reorder.py. The reference, in the
# same run: the build as it was before this profile existed (opt-level 3, fat LTO, one codegen
# unit, the name section kept). Then where the bytes are (scripts/wasm-where.py on a build with
# v0 symbol names: per section, crate, area, generic family, B-tree instance, and the data).
# About 20 minutes on 2 cores (each row compiles everything).
#   ROWS="ref z" scripts/wasm-size.sh     only some rows (see `rows` below)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
out=target/bench-size
mkdir -p "$out"
WASM_OPT=scripts/vendor/node_modules/.bin/wasm-opt

# label | CARGO_PROFILE_WASM_* settings (KEY=VALUE, space-separated) | wasm-opt flags ('' = none) | how
# STRIP=symbols: no name section (the profile keeps it for scripts/wasm-reorder.py).
rows=(
  "ref|opt-level 3, fat LTO, codegen-units 1, name section kept (the build before)|OPT_LEVEL=3 STRIP=none|"
  "o3|opt-level 3, fat LTO, codegen-units 1, no name section|OPT_LEVEL=3 STRIP=symbols|"
  "s|opt-level s (same otherwise)|OPT_LEVEL=s STRIP=symbols|"
  "z|opt-level z (same otherwise)|OPT_LEVEL=z STRIP=symbols|"
  "z-thin|opt-level z, thin LTO|OPT_LEVEL=z LTO=thin STRIP=symbols|"
  "z-nolto|opt-level z, no LTO across crates|OPT_LEVEL=z LTO=false STRIP=symbols|"
  "z-cgu16|opt-level z, codegen-units 16|OPT_LEVEL=z CODEGEN_UNITS=16 STRIP=symbols|"
  "z-abort|opt-level z, panic = \"abort\"|OPT_LEVEL=z PANIC=abort STRIP=symbols|"
  "z-wasmopt|opt-level z, then wasm-opt -Oz (binaryen 132)|OPT_LEVEL=z STRIP=symbols|-Oz"
  "z-wasmopt-o1|opt-level z, then wasm-opt -O1|OPT_LEVEL=z STRIP=symbols|-O1"
  "z-wasmopt-dfe|opt-level z, then wasm-opt --duplicate-function-elimination --merge-similar-functions|OPT_LEVEL=z STRIP=symbols|--duplicate-function-elimination --merge-similar-functions"
  "z-wasmopt-conv|opt-level z, then wasm-opt -Oz --converge|OPT_LEVEL=z STRIP=symbols|-Oz --converge"
  "nightly|opt-level z on nightly: build-std, panic = immediate-abort, -Zfmt-debug=none, -Zlocation-detail=none (no panic message at all), then ordered as build.sh does|OPT_LEVEL=z||nightly"
  "z-names|opt-level z, name section kept|OPT_LEVEL=z STRIP=none|"
  "v0|opt-level z, name section kept, v0 symbol names (what scripts/wasm-where.py reads below)|OPT_LEVEL=z STRIP=none||v0"
  "chosen|the build scripts/build.sh makes (profile.wasm: opt-level z; functions ordered by name and the name section dropped by scripts/wasm-reorder.py; no wasm-opt)|||build.sh"
)
want_row() { [ -z "${ROWS:-}" ] || [[ " $ROWS " == *" $1 "* ]]; }

gz() { gzip -9c "$1" | wc -c; }

# Sections of a wasm file: "name raw gzipped" per line (custom sections by their name).
sections() {
  python3 - "$1" <<'PY'
import gzip, sys
d = open(sys.argv[1], "rb").read()
names = {1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global", 7: "export", 9: "elem", 10: "code", 11: "data", 12: "datacount"}
def leb(i):
    r = s = 0
    while True:
        b = d[i]; i += 1; r |= (b & 0x7F) << s; s += 7
        if b < 0x80: return r, i
i = 8
while i < len(d):
    t = d[i]; n, j = leb(i + 1); body = d[j:j + n]
    if t == 0:
        l, k = leb(j); name = "custom:" + d[k:k + l].decode()
    else:
        name = names.get(t, str(t))
    print(name, n, len(gzip.compress(body, 9)))
    i = j + n
PY
}

build_row() { # key settings wasm-opt-flags how -> prints the wasm's path
  local key=$1 settings=$2 flags=$3 how=$4 dir=$out/$1
  rm -rf "$dir"
  if [ "$how" = build.sh ]; then
    OUT_DIR="$dir" CARGO_TARGET_DIR=$out/target scripts/build.sh >"$out/$key.log" 2>&1
  elif [ "$how" = nightly ]; then
    # Needs `rustup component add rust-src --toolchain nightly` and the nightly wasm32 target.
    RUSTFLAGS="-Zlocation-detail=none -Zfmt-debug=none -Zunstable-options -Cpanic=immediate-abort" CARGO_TARGET_DIR=$out/nightly \
      cargo +nightly build --lib --target wasm32-unknown-unknown --profile wasm -Z build-std=std,panic_abort >"$out/$key.log" 2>&1
    wasm-bindgen --target web --no-typescript --out-dir "$dir" "$out/nightly/wasm32-unknown-unknown/wasm/aof_lab.wasm" >>"$out/$key.log" 2>&1
    python3 scripts/wasm-reorder.py "$dir/aof_lab_bg.wasm" "$dir/opt.wasm" && mv "$dir/opt.wasm" "$dir/aof_lab_bg.wasm"
  elif [ "$how" = v0 ]; then
    # Its own target directory: other RUSTFLAGS rebuild everything.
    env RUSTFLAGS=-Csymbol-mangling-version=v0 CARGO_TARGET_DIR=$out/target-v0 $(for kv in $settings; do echo "CARGO_PROFILE_WASM_$kv"; done) \
      wasm-pack build --target web --mode no-install --profile wasm --no-pack --no-opt --out-dir "$dir" >"$out/$key.log" 2>&1
  else
    # The wasm profile's own wasm-opt step is off here: the rows apply it explicitly.
    env CARGO_TARGET_DIR=$out/target $(for kv in $settings; do echo "CARGO_PROFILE_WASM_$kv"; done) \
      wasm-pack build --target web --mode no-install --profile wasm --no-pack --no-opt --out-dir "$dir" >"$out/$key.log" 2>&1
    if [ -n "$flags" ]; then
      $WASM_OPT $flags --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
        "$dir/aof_lab_bg.wasm" -o "$dir/opt.wasm" >>"$out/$key.log" 2>&1
      mv "$dir/opt.wasm" "$dir/aof_lab_bg.wasm"
    fi
  fi
  echo "$dir/aof_lab_bg.wasm"
}

echo "| wasm build (pkg/aof_lab_bg.wasm) | raw (bytes) | gzipped -9 (bytes) | gzipped ÷ reference | code / data / names, gzipped (KB) |"
echo "|---|---:|---:|---:|---|"
ref_gz=
chosen=
for row in "${rows[@]}"; do
  IFS='|' read -r key label settings flags how <<<"$row"
  want_row "$key" || continue
  wasm=$(build_row "$key" "$settings" "$flags" "$how")
  raw=$(stat -c %s "$wasm"); z=$(gz "$wasm")
  [ "$key" = ref ] && ref_gz=$z
  [ "$key" = chosen ] && chosen=$wasm
  parts=$(sections "$wasm" | awk '$1=="code"{c=$3} $1=="data"{d=$3} $1=="custom:name"{n=$3} END{printf "%.0f / %.0f / %.0f", c/1000, d/1000, n/1000}')
  ratio=$([ -n "$ref_gz" ] && echo "scale=2; $z / $ref_gz" | bc -l || echo "?")
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$raw" "$z" "$ratio" "$parts"
done
[ -n "$chosen" ] || exit 0
named=$out/v0/aof_lab_bg.wasm
[ -f "$named" ] || exit 0
echo
echo "Where the bytes are (scripts/wasm-where.py on the v0 row: its name section names each generic copy's types):"
python3 scripts/wasm-where.py "$named" src/cmd/server/commands.bin
