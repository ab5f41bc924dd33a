#!/usr/bin/env bash
# Installs what the lab needs, idempotently: a second run only checks versions (seconds).
#   scripts/setup.sh build   -> wasm32 target, wasm-bindgen CLI (pinned), wasm-pack
#   scripts/setup.sh test    -> the above + Chromium/chromedriver, Firefox ESR/geckodriver,
#                               redis-server 7.0.15 (and redis-tools), the e2e npm packages
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-test}

WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p; s/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml | head -1)
WASM_PACK_VERSION=0.15.1
GECKODRIVER_VERSION=0.37.1
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '[setup] %s\n' "$*"; }
apt_updated=
apt_install() { # apt_install pkg... : installs only the packages that are missing
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt-get install ${missing[*]}"
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

rustup target list --installed | grep -q wasm32-unknown-unknown || { say "rustup target add wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  # Not --locked: a dependency version pinned in its lockfile is missing from this registry.
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION" --force
fi
if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$WASM_PACK_VERSION" ]; then
  say "cargo install wasm-pack $WASM_PACK_VERSION"
  cargo install wasm-pack --version "=$WASM_PACK_VERSION" --locked
fi
[ "$what" = build ] && exit 0

apt_install ca-certificates chromium chromium-driver firefox-esr redis-server redis-tools
# The packaged server starts itself as a service on 6379 where systemd runs; the tests start their own.
if [ "$(geckodriver --version 2>/dev/null | head -1 | awk '{print $2}')" != "$GECKODRIVER_VERSION" ]; then
  say "cargo install geckodriver $GECKODRIVER_VERSION"
  cargo install geckodriver --version "=$GECKODRIVER_VERSION" --locked
fi
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  say "npm ci (tests/e2e)"
  (cd tests/e2e && npm ci --no-audit --no-fund --silent)
fi
redis-server --version | grep -q 'v=7.0.15' || { echo "redis-server 7.0.15 is required; found: $(redis-server --version)" >&2; exit 1; }
say "ok"
