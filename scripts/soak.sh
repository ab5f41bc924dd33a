#!/usr/bin/env bash
# `make soak`: the long modes of the reliability tests, then their figures in docs/testing.md
# (between the `<!-- soak:begin -->` / `<!-- soak:end -->` markers), with the date and the machine.
#
#   1. crash matrix      AOF_LAB_SOAK_CRASH_SEEDS=$SOAK_CRASH_SEEDS cargo test --release --test crash_matrix
#                        (its `SOAK crash-matrix:` line: crash points tried, violations)
#   2. fuzzing           scripts/fuzz.sh $SOAK_FUZZ_SECS: every cargo-fuzz target for that long
#                        (executions per target from libFuzzer's final stats; a crasher fails)
#   3. random diff       AOF_LAB_SOAK_DIFF_COMMANDS=$SOAK_DIFF_COMMANDS cargo test --release --test diff_random
#                        (commands compared with a real redis-server 7.0.15 through `aof-lab serve`)
#   4. load + kill -9    AOF_LAB_SOAK_LOAD_SECS=$SOAK_LOAD_SECS cargo test --release --test serve_load
#                        (acknowledged writes, kills, writes lost)
#   5. client suite      scripts/client-suite.sh: redis-py's own tests against serve and redis-server,
#                        RESP2 and RESP3 (tests passing on Redis, on serve, unlisted differences)
#
# Defaults (about 28 minutes on a 2-core machine; every one can be set in the environment):
#   SOAK_CRASH_SEEDS=40  SOAK_FUZZ_SECS=120 (x 6 targets)  SOAK_DIFF_COMMANDS=2000000  SOAK_LOAD_SECS=240
# `SOAK_README=0` skips writing docs/testing.md. A step that is missing (e.g. tests/crash_matrix.rs not
# there) or reports a violation is a loud FAIL, and the exit status is non-zero; its figures are
# still recorded, marked FAIL.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

CRASH_SEEDS=${SOAK_CRASH_SEEDS:-40}
FUZZ_SECS=${SOAK_FUZZ_SECS:-120}
DIFF_COMMANDS=${SOAK_DIFF_COMMANDS:-2000000}
LOAD_SECS=${SOAK_LOAD_SECS:-240}
WRITE_README=${SOAK_README:-1}
DOC=docs/testing.md

LOGDIR=target/soak
mkdir -p "$LOGDIR"
started=$SECONDS
failed=0
rows=()

fail() {
    printf '\n!!! FAIL: %s\n\n' "$*" >&2
    failed=$((failed + 1))
}

# row LAYER FIGURE VIOLATIONS STATUS
row() { rows+=("| $1 | $2 | $3 | $4 |"); }

fmt_time() { local s=$1; printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# The `SOAK <name>:` line of a log, or nothing.
soak_line() { grep -a -m1 "^SOAK $1:" "$2" | tr -d '\r' || true; }

echo "=== make soak: crash seeds $CRASH_SEEDS, fuzz ${FUZZ_SECS}s/target, diff $DIFF_COMMANDS commands, load ${LOAD_SECS}s"

# --- 1. crash matrix ----------------------------------------------------------------------
t0=$SECONDS
echo "=== 1/5 crash matrix (AOF_LAB_SOAK_CRASH_SEEDS=$CRASH_SEEDS)"
if [ ! -f tests/crash_matrix.rs ]; then
    fail "crash matrix: tests/crash_matrix.rs does not exist in this tree"
    row "Crash matrix" "not run: tests/crash_matrix.rs missing" "-" "**FAIL**"
else
    AOF_LAB_SOAK_CRASH_SEEDS=$CRASH_SEEDS cargo test --release --test crash_matrix -- --nocapture >"$LOGDIR/crash.log" 2>&1
    st=$?
    line=$(soak_line crash-matrix "$LOGDIR/crash.log")
    echo "$line"
    # SOAK crash-matrix: <points> crash points, <violations> violations
    points=$(sed -E 's/^SOAK crash-matrix: ([0-9]+) crash points.*/\1/' <<<"$line")
    viol=$(sed -E 's/.*, ([0-9]+) violations.*/\1/' <<<"$line")
    if [ -z "$line" ] || [ "$st" -ne 0 ] || [ "$viol" != 0 ]; then
        fail "crash matrix (exit $st): ${line:-no SOAK crash-matrix line}; see $LOGDIR/crash.log"
        row "Crash matrix ($CRASH_SEEDS seeds per configuration)" "${points:-?} crash points" "${viol:-?}" "**FAIL**"
    else
        row "Crash matrix ($CRASH_SEEDS seeds per configuration)" "$points crash points tried" "$viol" "ok"
    fi
fi
echo "    ($(fmt_time $((SECONDS - t0))))"

# --- 2. fuzzing ---------------------------------------------------------------------------
t0=$SECONDS
echo "=== 2/5 fuzzing (${FUZZ_SECS}s per target)"
scripts/fuzz.sh "$FUZZ_SECS" >"$LOGDIR/fuzz.log" 2>&1
fuzz_status=$?
targets=$(sed -n 's/^== \([a-z_]*\) .*/\1/p' "$LOGDIR/fuzz.log")
if [ -z "$targets" ]; then
    fail "fuzzing did not run (exit $fuzz_status); see $LOGDIR/fuzz.log"
    row "Fuzzing" "not run" "-" "**FAIL**"
fi
for t in $targets; do
    execs=$(grep -a 'stat::number_of_executed_units' "fuzz/artifacts/$t.log" 2>/dev/null | tail -1 | awk '{print $2}')
    crashers=$(grep -c "kept fuzz/artifacts/$t/" "$LOGDIR/fuzz.log" || true)
    echo "    $t: ${execs:-?} executions, $crashers crashers"
    if [ -z "$execs" ] || [ "$crashers" != 0 ]; then
        fail "fuzz target $t: ${execs:-no} executions, $crashers crashers; see fuzz/artifacts/$t.log"
        row "Fuzz \`$t\` (${FUZZ_SECS} s)" "${execs:-?} executions" "$crashers crashers" "**FAIL**"
    else
        row "Fuzz \`$t\` (${FUZZ_SECS} s)" "$execs executions" "0 crashers" "ok"
    fi
done
if [ "$fuzz_status" -ne 0 ] && [ -n "$targets" ]; then
    fail "scripts/fuzz.sh exited with $fuzz_status; see $LOGDIR/fuzz.log"
fi
echo "    ($(fmt_time $((SECONDS - t0))))"

# --- 3. random differential ---------------------------------------------------------------
t0=$SECONDS
echo "=== 3/5 random differential vs redis-server (AOF_LAB_SOAK_DIFF_COMMANDS=$DIFF_COMMANDS)"
AOF_LAB_SOAK_DIFF_COMMANDS=$DIFF_COMMANDS cargo test --release --test diff_random random_commands_match_redis -- --nocapture >"$LOGDIR/diff.log" 2>&1
st=$?
line=$(soak_line diff-random "$LOGDIR/diff.log")
echo "$line"
cmds=$(sed -E 's/^SOAK diff-random: ([0-9]+) commands.*/\1/' <<<"$line")
viol=$(sed -E 's/.*, ([0-9]+) violations.*/\1/' <<<"$line")
if [ -z "$line" ] || [ "$st" -ne 0 ] || [ "$viol" != 0 ]; then
    fail "random differential (exit $st): ${line:-no SOAK diff-random line}; see $LOGDIR/diff.log"
    row "Random differential vs redis-server 7.0.15" "${cmds:-?} commands compared" "${viol:-?}" "**FAIL**"
else
    row "Random differential vs redis-server 7.0.15" "$cmds commands compared (replies, AOF bytes, digests)" "$viol" "ok"
fi
echo "    ($(fmt_time $((SECONDS - t0))))"

# --- 4. load + kill -9 --------------------------------------------------------------------
t0=$SECONDS
echo "=== 4/5 load + kill -9 (appendfsync always, every third cycle everysec or no) (AOF_LAB_SOAK_LOAD_SECS=$LOAD_SECS)"
AOF_LAB_SOAK_LOAD_SECS=$LOAD_SECS cargo test --release --test serve_load acknowledged_writes_survive -- --nocapture >"$LOGDIR/load.log" 2>&1
st=$?
line=$(soak_line load "$LOGDIR/load.log")
echo "$line"
# SOAK load: <ops> acknowledged writes over <s> s, <n> kills, <v> lost
ops=$(sed -E 's/^SOAK load: ([0-9]+) acknowledged.*/\1/' <<<"$line")
secs=$(sed -E 's/.* over ([0-9]+) s,.*/\1/' <<<"$line")
kills=$(sed -E 's/.*, ([0-9]+) kills,.*/\1/' <<<"$line")
lost=$(sed -E 's/.*, ([0-9]+) lost.*/\1/' <<<"$line")
if [ -z "$line" ] || [ "$st" -ne 0 ] || [ "$lost" != 0 ]; then
    fail "load (exit $st): ${line:-no SOAK load line}; see $LOGDIR/load.log"
    row "Load + kill -9 (\`serve\`, 12 pipelining clients, appendfsync always, 1 cycle in 3 everysec/no)" "${ops:-?} acknowledged writes, ${kills:-?} kills" "${lost:-?} lost" "**FAIL**"
else
    row "Load + kill -9 (\`serve\`, 12 pipelining clients, appendfsync always, 1 cycle in 3 everysec/no)" "$ops acknowledged writes over $secs s, $kills kills" "$lost lost" "ok"
fi
echo "    ($(fmt_time $((SECONDS - t0))))"

# --- 5. client library suite ------------------------------------------------------------------
t0=$SECONDS
echo "=== 5/5 client library suite (redis-py's tests vs redis-server and serve, RESP2 and RESP3)"
scripts/client-suite.sh >"$LOGDIR/client.log" 2>&1
st=$?
line=$(soak_line client-suite "$LOGDIR/client.log")
echo "$line"
# SOAK client-suite: RESP2 <n> pass on Redis, <m> of them on serve; RESP3 …; <u> unlisted
held=$(sed -E 's/^SOAK client-suite: (.*); [0-9]+ unlisted.*/\1/' <<<"$line")
unlisted=$(sed -E 's/.*; ([0-9]+) unlisted.*/\1/' <<<"$line")
if [ -z "$line" ] || [ "$st" -ne 0 ] || [ "$unlisted" != 0 ]; then
    fail "client suite (exit $st): ${line:-no SOAK client-suite line}; see $LOGDIR/client.log and target/client-suite/report.md"
    row "redis-py's own tests vs \`serve\` (listed exceptions: scripts/client-suite/exceptions.txt)" "${held:-?}" "${unlisted:-?} unlisted" "**FAIL**"
else
    row "redis-py's own tests vs \`serve\` (listed exceptions: scripts/client-suite/exceptions.txt)" "$held" "$unlisted unlisted" "ok"
fi
echo "    ($(fmt_time $((SECONDS - t0))))"

# --- figures into docs/testing.md ---------------------------------------------------------------
total=$(fmt_time $((SECONDS - started)))
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')
machine="$(uname -srm), $(nproc) cores${cpu:+ ($cpu)}"
when=$(date -u '+%Y-%m-%d %H:%M UTC')
{
    echo "<!-- soak:begin -->"
    echo "Last \`make soak\`: $when, on $machine; $total in all. Settings: \`SOAK_CRASH_SEEDS=$CRASH_SEEDS"
    echo "SOAK_FUZZ_SECS=$FUZZ_SECS SOAK_DIFF_COMMANDS=$DIFF_COMMANDS SOAK_LOAD_SECS=$LOAD_SECS\`."
    echo
    echo "| Layer | Held | Violations | Status |"
    echo "|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo "<!-- soak:end -->"
} >"$LOGDIR/figures.md"
echo
cat "$LOGDIR/figures.md"

if [ "$WRITE_README" != 0 ]; then
    if grep -q '<!-- soak:begin -->' "$DOC" && grep -q '<!-- soak:end -->' "$DOC"; then
        awk -v f="$LOGDIR/figures.md" '
            /<!-- soak:begin -->/ { while ((getline l < f) > 0) print l; skip = 1; next }
            /<!-- soak:end -->/ { skip = 0; next }
            !skip { print }
        ' "$DOC" >"$LOGDIR/testing.new" && mv "$LOGDIR/testing.new" "$DOC"
        echo "$DOC: soak figures updated"
    else
        fail "$DOC has no <!-- soak:begin --> / <!-- soak:end --> markers; figures are in $LOGDIR/figures.md"
    fi
fi

if [ "$failed" -eq 0 ]; then
    echo "make soak: all steps passed ($total)"
else
    echo "make soak: $failed FAIL(s) ($total)"
fi
[ "$failed" -eq 0 ]
