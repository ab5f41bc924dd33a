#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a while and keeps what crashes as a regression
# fixture: tests/fixtures/corrupt/<target>-<hash> (tests/prop_fixtures.rs replays them).
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Needs the nightly toolchain; installs cargo-fuzz if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${1:-30}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(resp_decoder command_exec aof_loader manifest_parser rdb_reader check_fix inspect tar_reader restore_payload)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

OUT=tests/fixtures/corrupt
mkdir -p "$OUT"
cargo +nightly fuzz build
status=0
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    # Seed the corpus with the fixtures of this target (and their siblings' bytes).
    for f in "$OUT"/"$t"-*; do
        [ -e "$f" ] && cp -n "$f" "fuzz/corpus/$t/" || true
    done
    echo "== $t (${SECS}s)"
    if ! cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- -max_total_time="$SECS" -rss_limit_mb=4096 -print_final_stats=1 2>&1 |
        tee "fuzz/artifacts/$t.log" | grep -E '^(#[0-9]+\s+DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY)'; then
        status=1
    fi
    for a in "fuzz/artifacts/$t"/crash-* "fuzz/artifacts/$t"/oom-* "fuzz/artifacts/$t"/timeout-*; do
        [ -e "$a" ] || continue
        h=$(sha1sum "$a" | cut -c1-16)
        cp "$a" "$OUT/$t-$h"
        echo "   kept $a as $OUT/$t-$h"
        # Reported once: the next run must not count it again (the fixture replays it).
        mkdir -p "fuzz/artifacts/$t/kept"
        mv "$a" "fuzz/artifacts/$t/kept/"
        status=1
    done
done
# The browser tests replay the fixtures from an embedded list.
scripts/fixtures.sh
exit $status
