#!/usr/bin/env bash
# Serves the repository on 127.0.0.1 (a secure context, which OPFS will need; scripts/serve.py:
# python's http.server with keep-alive) and prints the lab's URL. PORT (or the first argument) overrides 8080.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-${PORT:-8080}}
[ -f pkg/aof_lab.js ] || { echo "pkg/ is missing: run \`make serve\` (it builds it)" >&2; exit 1; }
echo
echo "  AOF Lab: http://127.0.0.1:$port/www/"
echo "  (serving $(pwd) on 127.0.0.1:$port; Ctrl+C stops)"
echo
exec python3 scripts/serve.py "$port"
