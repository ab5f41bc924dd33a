#!/usr/bin/env bash
# Installs what the lab needs, idempotently: a second run only checks versions (seconds).
#   scripts/setup.sh build   -> wasm32 target, wasm-bindgen CLI (pinned to the crate's version),
#                               wasm-pack (what `make serve` needs)
#   scripts/setup.sh test    -> the above + clippy/rustfmt, Chromium + chromedriver, Firefox ESR +
#                               geckodriver, redis-server 7.0.15, the e2e npm packages
# Runs unattended (CI=true, no stdin); apt-get needs root, as on the project's machines.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-test}
case "$what" in build | test) ;; *) echo "usage: $0 build|test" >&2; exit 2 ;; esac

# The CLI must match the wasm-bindgen crate exactly (Cargo.toml pins it with `=`): wasm-pack
# only uses the wasm-bindgen on PATH on an exact match, and `--mode no-install` fails otherwise.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
WASM_PACK_VERSION=0.15.1
GECKODRIVER_VERSION=0.37.1
REDIS_VERSION=7.0.15
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
started=$SECONDS

say() { printf '[setup] %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
apt_updated=
apt_install() { # apt_install pkg... : installs only the packages that are missing
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt-get install ${missing[*]}"
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

[ -n "$WASM_BINDGEN_VERSION" ] || { echo "wasm-bindgen not found in Cargo.lock" >&2; exit 1; }
rustup target list --installed | grep -qx wasm32-unknown-unknown || { say "rustup target add wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown; }
have python3 || apt_install python3

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  # Not --locked: a dependency version pinned in its lockfile is missing from this registry.
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes)"
  cargo install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION" --force --quiet
fi
if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$WASM_PACK_VERSION" ]; then
  say "cargo install wasm-pack $WASM_PACK_VERSION (about 2 minutes)"
  cargo install wasm-pack --version "=$WASM_PACK_VERSION" --locked --force --quiet
fi
# Browser libraries (scripts/vendor/package-lock.json) into www/vendor/, and binaryen's wasm-opt
# (npm's: Debian's binaryen breaks the module) for the size benchmark: reinstalled when an
# installed version is not the locked one, copied every time (cheap).
have node && have npm || apt_install nodejs npm
vendor_versions() { # locked|installed -> "uplot@x binaryen@y"
  node -e "
    const lock = require('./scripts/vendor/package-lock.json');
    const v = (p) => { try { return '$1' === 'locked' ? lock.packages['node_modules/' + p].version : require('./scripts/vendor/node_modules/' + p + '/package.json').version } catch { return '' } };
    console.log(['uplot', 'binaryen'].map((p) => p + '@' + v(p)).join(' '))"
}
locked=$(vendor_versions locked)
installed=$(vendor_versions installed)
if [ "$locked" != "$installed" ]; then
  say "npm ci (scripts/vendor: $locked)"
  (cd scripts/vendor && npm ci --no-audit --no-fund --loglevel=error)
fi
mkdir -p www/vendor/uplot
cp scripts/vendor/node_modules/uplot/dist/uPlot.esm.js scripts/vendor/node_modules/uplot/dist/uPlot.min.css scripts/vendor/node_modules/uplot/LICENSE www/vendor/uplot/

if [ "$what" = build ]; then
  say "build tools ready ($((SECONDS - started))s)"
  exit 0
fi

for c in clippy rustfmt; do
  rustup component list --installed 2>/dev/null | grep -q "^$c" || { say "rustup component add $c"; rustup component add "$c"; }
done
# chromium and chromium-driver come from one source package: their versions always match.
apt_install ca-certificates chromium chromium-driver firefox-esr redis-server redis-tools
if [ "$(geckodriver --version 2>/dev/null | head -1 | awk '{print $2}')" != "$GECKODRIVER_VERSION" ]; then
  say "cargo install geckodriver $GECKODRIVER_VERSION (about 2 minutes)"
  cargo install geckodriver --version "=$GECKODRIVER_VERSION" --locked --force --quiet
fi
# The e2e packages (playwright-core drives /usr/bin/chromium, selenium-webdriver drives
# firefox-esr through geckodriver, typescript checks the npm package's declarations): reinstalled
# when an installed version is not the locked one. No browser download.
stale=$(node -e '
  const lock = require("./tests/e2e/package-lock.json").packages;
  for (const name of Object.keys(require("./tests/e2e/package.json").devDependencies)) {
    let installed = "";
    try { installed = require(`./tests/e2e/node_modules/${name}/package.json`).version; } catch {}
    if (installed !== lock[`node_modules/${name}`].version) console.log(name);
  }')
if [ -n "$stale" ]; then
  say "npm ci (tests/e2e: $(echo $stale))"
  (cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
redis-server --version | grep -q "v=$REDIS_VERSION" || { echo "redis-server $REDIS_VERSION is required; found: $(redis-server --version)" >&2; exit 1; }
say "all tools ready ($((SECONDS - started))s)"
