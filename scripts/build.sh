#!/usr/bin/env bash
# Builds pkg/ (the engine as an ES module + wasm) with wasm-pack, for the lab page's worker.
# --mode no-install: use the pinned wasm-bindgen on PATH (scripts/setup.sh build), never download.
# --profile wasm: Cargo.toml's size-optimised profile (opt-level z, names kept for the reorder below); native
# release builds keep opt-level 3. --no-opt: no wasm-opt (it makes the gzipped file larger here:
# BENCHMARKS.md, "The wasm's size"). Then scripts/wasm-reorder.py orders the functions by name
# (the copies of one generic function side by side gzip ~5 % smaller) and drops the name section
# the profile keeps for it. OUT_DIR=dir builds elsewhere (scripts/wasm-size.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
out=${OUT_DIR:-pkg}
wasm-pack build --target web --mode no-install --profile wasm --no-opt --no-pack --out-dir "$(realpath -m "$out")"
wasm=$out/aof_lab_bg.wasm
python3 scripts/wasm-reorder.py "$wasm" "$wasm.reordered"
# A call remapped to the wrong function almost always fails validation (another signature).
if command -v node >/dev/null; then
  node -e 'const b = require("fs").readFileSync(process.argv[1]); if (!WebAssembly.validate(b)) { console.error("[build] the reordered wasm does not validate"); process.exit(1); }' "$wasm.reordered"
fi
mv "$wasm.reordered" "$wasm"
printf '[build] %s: %s bytes (%s bytes gzipped)\n' "$wasm" "$(stat -c %s "$wasm")" "$(gzip -9c "$wasm" | wc -c)"
