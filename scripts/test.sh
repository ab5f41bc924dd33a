#!/usr/bin/env bash
# `make test`: installs what is missing, then runs every check in order and ends with a summary.
# Every step runs even when an earlier one failed (so one run shows everything), except that a
# failed setup stops the run; any failure makes the exit status non-zero. No step is skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# Headless browsers on a loaded 2-core CI machine can be slow to start.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120}

results=()
failed=0
run_started=$SECONDS

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
fmt_time() { local s=$1; if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi; }

# step NAME COMMAND... : runs one check, records ok/FAIL and its time.
step() {
  local name=$1 started=$SECONDS status
  shift
  printf '\n%s=== %s%s\n$ %s\n' "$bold" "$name" "$plain" "$*"
  if "$@"; then status=ok; else status=FAIL; failed=$((failed + 1)); fi
  results+=("$status|$name|$(fmt_time $((SECONDS - started)))")
  [ "$status" = ok ]
}

summary() {
  printf '\n%s=== make test: summary%s\n' "$bold" "$plain"
  local r status name time
  for r in "${results[@]}"; do
    IFS='|' read -r status name time <<<"$r"
    printf '  %-4s  %-52s %8s\n' "$status" "$name" "$time"
  done
  printf '  total %s\n' "$(fmt_time $((SECONDS - run_started)))"
  if [ "$failed" -eq 0 ]; then printf '\nmake test: all steps passed\n'; else printf '\nmake test: %d step(s) FAILED\n' "$failed"; fi
  printf 'steps: %d passed, %d failed\n' $((${#results[@]} - failed)) "$failed"
}

wasm_test() { # wasm_test chrome|firefox TEST_FILE
  local browser=$1 file=$2
  if [ "$browser" = chrome ]; then
    CHROMEDRIVER=/usr/bin/chromedriver wasm-pack test --headless --chrome --mode no-install -- --test "$file"
  else
    GECKODRIVER=$(command -v geckodriver) wasm-pack test --headless --firefox --mode no-install -- --test "$file"
  fi
}

e2e() {
  rm -rf target/e2e
  (cd tests/e2e && node --test --test-concurrency=1 console.spec.mjs lab.spec.mjs rewrite.spec.mjs scenarios.spec.mjs plots.spec.mjs machine.spec.mjs log.spec.mjs timeline.spec.mjs picture.spec.mjs resp3.spec.mjs pubsub.spec.mjs)
}

# The embedding surface in both browsers (tests/e2e/browsers.mjs): the npm package installed in
# a scratch project (a sub-path, a second origin, Node, tsc), the tutorial, dist/ served by
# python3 -m http.server, and the lab page's main paths in Firefox.
e2e_both() {
  (cd tests/e2e && E2E_BROWSERS=chromium,firefox node --test --test-concurrency=1 package.spec.mjs tutorial.spec.mjs dist.spec.mjs firefox-lab.spec.mjs)
}

if ! step "setup (scripts/setup.sh test)" scripts/setup.sh test; then
  summary
  exit 1
fi
step "cargo fmt --check" cargo fmt --check
step "cargo clippy, host (all targets)" cargo clippy --all-targets -- -D warnings
step "cargo clippy, wasm32 (lib)" cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings
step "cargo clippy, wasm32 (browser tests)" cargo clippy --target wasm32-unknown-unknown --test wasm_main --test wasm_worker --test wasm_storage --test wasm_storage_main -- -D warnings
step "cargo test (native)" cargo test --no-fail-fast
step "wasm tests: Chromium, main thread" wasm_test chrome wasm_main
step "wasm tests: Chromium, dedicated worker" wasm_test chrome wasm_worker
step "wasm tests: Firefox, main thread" wasm_test firefox wasm_main
step "wasm tests: Firefox, dedicated worker" wasm_test firefox wasm_worker
step "storage backends (OPFS, IndexedDB): Chromium, dedicated worker" wasm_test chrome wasm_storage
step "storage backends (OPFS, IndexedDB): Firefox, dedicated worker" wasm_test firefox wasm_storage
step "storage backends: Chromium, main thread" wasm_test chrome wasm_storage_main
step "storage backends: Firefox, main thread" wasm_test firefox wasm_storage_main
step "build pkg/ (wasm-pack, release)" scripts/build.sh
step "e2e: the lab page in Chromium (screenshots in target/e2e/)" e2e
step "e2e: package, tutorial, dist/, the lab in Firefox (Chromium + Firefox)" e2e_both
summary
[ "$failed" -eq 0 ]
