#!/usr/bin/env bash
# `make dist`: the static site in dist/, which any static host serves as is (GitHub Pages,
# `python3 -m http.server`, a bucket): dist/www/ (the lab, the <aof-lab> element, the embed
# example, the tutorial), dist/pkg/ (the wasm engine) and dist/index.html (links to the three).
# Every path inside is relative and no server header is needed (no COOP/COEP). Needs pkg/
# (scripts/build.sh) and www/vendor/ (scripts/setup.sh build).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f pkg/aof_lab_bg.wasm ] || { echo "pkg/ is missing: run scripts/build.sh (make pkg)" >&2; exit 1; }
[ -f www/vendor/uplot/uPlot.esm.js ] || { echo "www/vendor/ is missing: run scripts/setup.sh build" >&2; exit 1; }
rm -rf dist
mkdir -p dist/pkg
cp -r www dist/www
cp pkg/aof_lab.js pkg/aof_lab.d.ts pkg/aof_lab_bg.wasm pkg/aof_lab_bg.wasm.d.ts dist/pkg/
cat >dist/index.html <<'HTML'
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>AOF Lab</title>
  <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 16 16%22%3E%3Crect x=%222%22 y=%222%22 width=%2212%22 height=%2212%22 rx=%223%22 fill=%22%23c8322a%22/%3E%3C/svg%3E">
  <style>
    body { margin: 0 auto; max-width: 40rem; padding: 2rem 1rem; font: 17px/1.6 system-ui, sans-serif; }
    @media (prefers-color-scheme: dark) { body { background: #0b0e13; color: #e6e9ed; } a { color: #8ab4ff; } }
    li { margin: 0.5rem 0; }
  </style>
</head>
<body>
  <h1>AOF Lab</h1>
  <p>Redis 7.0's append-only file, re-implemented in Rust and running in your browser: type commands, watch the bytes reach the page cache and the disk, crash the machine and see what survives.</p>
  <ul>
    <li><a href="www/index.html">The lab</a>: the console, the write path, the files, the crash lab, rewrites, the timeline.</li>
    <li><a href="www/tutorial.html">The tutorial</a>: how Redis AOF persistence works, one section per topic, each with a lab playing its scenario.</li>
    <li><a href="www/embed.html">The embed example</a>: <code>&lt;aof-lab&gt;</code> elements on a page of your own.</li>
  </ul>
</body>
</html>
HTML
printf '[dist] dist/: %s files, %s bytes\n' "$(find dist -type f | wc -l)" "$(du -sb dist | cut -f1)"
