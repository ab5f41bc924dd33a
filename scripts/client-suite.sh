#!/usr/bin/env bash
# A real client library's own test suite against `aof-lab serve` and redis-server 7.0.15, in the
# same run, over RESP2 and RESP3: redis-py's tests (the sdist of the pinned release ships them)
# run unchanged with `--redis-url` and `--protocol`, four times (redis / serve x RESP2 / RESP3),
# each server fresh, in its own directory, with the same options. Then the report
# (scripts/client-suite/report.py): per protocol, the tests that pass on Redis, those that pass
# on serve, and every difference by test name, each one either a listed exception
# (scripts/client-suite/exceptions.txt: what needs what the engine lacks) or a failure of this run.
#
#   scripts/client-suite.sh            everything (about 3 minutes on a 2-core machine)
#   CLIENT_SUITE_FILES="tests/test_commands.py" scripts/client-suite.sh
#
# Installs what it needs, idempotently, into target/client-suite/ (a Python venv with pinned
# versions, the redis-py sdist); a second run only checks them. Exit status: 0 when every test
# that passes on Redis passes on serve or is a listed exception, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

REDIS_PY=5.0.8
PYTEST=8.3.4
PYTEST_TIMEOUT=2.3.1
PACKAGING=24.2
# redis-py's command tests and the suites that exercise the protocol around them. Excluded by
# marker, on both servers: what needs a cluster (onlycluster), Redis Stack modules (redismod),
# TLS (ssl) or a replica (replica).
FILES=${CLIENT_SUITE_FILES:-"tests/test_commands.py tests/test_pipeline.py tests/test_encoding.py tests/test_lock.py
  tests/test_scripting.py tests/test_function.py tests/test_pubsub.py tests/test_monitor.py tests/test_connection_pool.py
  tests/test_credentials.py tests/test_connection.py tests/test_command_parser.py tests/test_multiprocessing.py
  tests/test_helpers.py tests/test_retry.py"}
MARKERS="not onlycluster and not redismod and not ssl and not replica"

work=target/client-suite
venv=$work/venv
src=$work/redis-py-$REDIS_PY
say() { printf '[client-suite] %s\n' "$*"; }

# --- the tools: redis-server, a venv with pinned packages, redis-py's sdist (its tests) --------
command -v redis-server >/dev/null && redis-server --version | grep -q "v=7.0.15" || { say "redis-server 7.0.15 is needed (scripts/setup.sh test)"; exit 1; }
# A venv counts only with its pip: a `python3 -m venv` that failed half-way (no ensurepip) leaves
# a python without one, which the next run must not take for a working venv.
if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    say "python3 -m venv $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" 2>/dev/null || {
        # Debian's python3 ships venv (ensurepip) separately.
        rm -rf "$venv"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
        python3 -m venv "$venv"
    }
fi
want="redis==$REDIS_PY pytest==$PYTEST pytest-timeout==$PYTEST_TIMEOUT packaging==$PACKAGING"
# `|| true`: on a fresh venv nothing matches, grep exits 1, and pipefail would end the script.
have=$("$venv/bin/python" -m pip freeze 2>/dev/null | { grep -iE '^(redis|pytest|pytest-timeout|packaging)==' || true; } \
    | tr 'A-Z' 'a-z' | sort | tr '\n' ' ')
if [ "$have" != "$(echo "$want" | tr ' ' '\n' | sort | tr '\n' ' ')" ]; then
    say "pip install $want"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check $want
fi
if [ ! -f "$src/tests/conftest.py" ]; then
    say "redis-py $REDIS_PY sdist (its tests)"
    rm -rf "$work/dl" && mkdir -p "$work/dl"
    "$venv/bin/python" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: -d "$work/dl" "redis==$REDIS_PY"
    tar -xzf "$work/dl/redis-$REDIS_PY.tar.gz" -C "$work"
    mv "$work/redis-$REDIS_PY" "$src"
fi
cargo build --release --quiet --bin aof-lab
BIN=target/release/aof-lab

# --- the servers: fresh for each run, their own directory and port -----------------------------
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done; say "server on $1 did not start"; exit 1; }
# The same options for both: the AOF on, no RDB snapshots, the debug command allowed (the tests use
# DEBUG), the MODULE command refused as redis-server's default does.
OPTS=(--bind 127.0.0.1 --save '' --appendonly yes --enable-debug-command yes)

results=$work/results
rm -rf "$results" && mkdir -p "$results"
for resp in 2 3; do
    for side in redis serve; do
        dir=$(mktemp -d /tmp/client-suite-$side-XXXX)
        port=$(free_port)
        if [ $side = redis ]; then
            redis-server --port "$port" --dir "$dir" --logfile "$dir/log" "${OPTS[@]}" & pids+=($!)
        else
            "$BIN" serve --port "$port" --dir "$dir" --logfile "$dir/log" "${OPTS[@]}" & pids+=($!)
        fi
        wait_port "$port"
        t0=$SECONDS
        # shellcheck disable=SC2086 # FILES is a list
        (cd "$src" && "../venv/bin/python" -m pytest $FILES --redis-url="redis://127.0.0.1:$port/0" --protocol=$resp \
            -m "$MARKERS" -p no:cacheprovider -q --tb=no --timeout=60 -W ignore::pytest.PytestUnknownMarkWarning \
            --junitxml="../results/$side-resp$resp.xml" >"../results/$side-resp$resp.log" 2>&1) || true
        say "$side RESP$resp: $(tail -1 "$results/$side-resp$resp.log") ($((SECONDS - t0)) s)"
        kill "${pids[-1]}" 2>/dev/null || true
        wait "${pids[-1]}" 2>/dev/null || true
        unset 'pids[-1]'
        rm -rf "$dir"
    done
done

"$venv/bin/python" scripts/client-suite/report.py "$results" scripts/client-suite/exceptions.txt "redis-py $REDIS_PY" | tee "$work/report.md"
exit "${PIPESTATUS[0]}"
