#!/usr/bin/env bash
# The npm package of the element and the engine: target/npm/aof-lab/ (the package directory:
# www/ as served, pkg/ the wasm engine and its glue with TypeScript declarations, node/ the
# Node entry, README.md the README's "Embedding" section) and `npm pack` of it,
# target/npm/aof-lab-<version>.tgz. Its package.json is scripts/npm/package.json with the
# version of Cargo.toml written in, so the two never disagree. Needs pkg/ (scripts/build.sh)
# and www/vendor/ (scripts/setup.sh build). Prints the tarball's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
[ -f pkg/aof_lab_bg.wasm ] || { echo "pkg/ is missing: run scripts/build.sh (make pkg)" >&2; exit 1; }
[ -f www/vendor/uplot/uPlot.esm.js ] || { echo "www/vendor/ is missing: run scripts/setup.sh build" >&2; exit 1; }
out=target/npm
dir=$out/aof-lab
rm -rf "$dir" "$out"/aof-lab-*.tgz
mkdir -p "$dir/pkg" "$dir/node"
cp -r www "$dir/www"
cp pkg/aof_lab.js pkg/aof_lab_bg.wasm pkg/aof_lab_bg.wasm.d.ts "$dir/pkg/"
# wasm-bindgen's declarations use Symbol.dispose: say which lib has it, so that a host compiling
# with an older `lib` (es2022) still type-checks.
{ echo '/// <reference lib="esnext.disposable" />'; cat pkg/aof_lab.d.ts; } >"$dir/pkg/aof_lab.d.ts"
cp scripts/npm/index.js scripts/npm/index.d.ts "$dir/node/"
VERSION=$version node -e '
  const fs = require("fs");
  const p = JSON.parse(fs.readFileSync("scripts/npm/package.json", "utf8"));
  p.version = process.env.VERSION;
  fs.writeFileSync(process.argv[1], JSON.stringify(p, null, 2) + "\n");
' "$dir/package.json"
{
  echo "# aof-lab $version"
  echo
  echo "Redis 7.0.15's append-only file, re-implemented in Rust and compiled to WebAssembly: the"
  echo "\`<aof-lab>\` element for tutorial pages, and the engine for Node (\`import { Engine } from 'aof-lab'\`)."
  echo
  awk '/<!-- embedding:begin -->/ { on = 1; next } /<!-- embedding:end -->/ { on = 0 } on' README.md
} >"$dir/README.md"
grep -q '<aof-lab' "$dir/README.md" || { echo "README.md has no <!-- embedding:begin --> section" >&2; exit 1; }
(cd "$out" && npm pack ./aof-lab --pack-destination . --silent >/dev/null)
tgz=$out/aof-lab-$version.tgz
[ -f "$tgz" ] || { echo "npm pack did not write $tgz" >&2; exit 1; }
printf '[package] %s: %s bytes\n' "$tgz" "$(stat -c %s "$tgz")" >&2
echo "$tgz"
