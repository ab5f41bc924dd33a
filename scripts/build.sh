#!/usr/bin/env bash
# Builds pkg/ (the engine as an ES module + wasm) with wasm-pack, for the lab page's worker.
# --mode no-install: use the pinned wasm-bindgen on PATH (scripts/setup.sh build), never download.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
wasm-pack build --target web --mode no-install --release --no-pack
wasm=pkg/aof_lab_bg.wasm
printf '[build] %s: %s bytes (%s bytes gzipped)\n' "$wasm" "$(stat -c %s "$wasm")" "$(gzip -9c "$wasm" | wc -c)"
