#!/usr/bin/env bash
# Benchmarks aof-lab against redis-server 7.0.15 on this machine, in one run, and prints the
# figures as markdown rows for BENCHMARKS.md.
#   scripts/bench.sh            all benchmarks
#   N=200000 scripts/bench.sh   fewer requests per redis-benchmark test
#   SERVE_ROUNDS=3                      alternating rounds per server and setting (serve)
#   BENCH=load,rewrite scripts/bench.sh   only some sections (serve, load, load-wasm, rewrite, timeline,
#                                         timeline-wasm, page, logview, size, startup, browser,
#                                         maxmemory)
#   LOG_N=1000000 LOG_RUNS=3           commands in the log view's AOF, runs (logview)
#   LOAD_N=1000000 LARGE_N=2000 LOAD_RUNS=3   commands of the load mixes, 100 KB SETs, runs (load;
#                                         load-wasm adds the wasm engine's column to load's table)
#   KEEP_WORK=dir                      write the generated AOFs there and keep them (for quicker
#                                         loops of `aof-lab load dir/{gen,mix,large,preamble}`)
# Needs redis-server / redis-benchmark, and for timeline-wasm, page and logview Chromium and the
# e2e npm packages (scripts/setup.sh test installs them all).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
BENCH=${BENCH:-serve,load,load-wasm,rewrite,timeline,timeline-wasm,page,logview,size,startup,browser,maxmemory}
want() { [[ ",$BENCH," == *",$1,"* ]]; }
LOAD_N=${LOAD_N:-1000000}
cargo build --release --quiet
BIN=target/release/aof-lab
if [[ -n ${KEEP_WORK:-} ]]; then
  mkdir -p "$KEEP_WORK"; work=$(realpath "$KEEP_WORK")
  rm -rf "$work"/{gen,mix,large,preamble,rw-r,rw-l} # only what this script writes there
else
  work=$(mktemp -d)
fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [[ -n ${KEEP_WORK:-} ]] || rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 600); do redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done; echo "server on $1 did not start" >&2; exit 1; }

start_redis() { # dir port args...
  local dir=$1 port=$2; shift 2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --logfile "$dir/log" "$@" & pids+=($!)
  wait_port "$port"
}
start_lab() {
  local dir=$1 port=$2; shift 2
  mkdir -p "$dir"
  $BIN serve --port "$port" --dir "$dir" --save '' --logfile "$dir/log" "$@" & pids+=($!)
  wait_port "$port"
}

SERVE_ROUNDS=${SERVE_ROUNDS:-3}
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # a process's user + system time, in ticks
# label args... : SERVE_ROUNDS alternating rounds (redis-server, then serve, then redis-server …),
# each a fresh server with the args and one redis-benchmark per test, in the same order on the
# same server (LPUSH fills the list RPOP empties). A row per test: the median ops/s of each
# server, the ratio of the medians with the range of the rounds' ratios, and each server's CPU
# time per request (from /proc, so the machine's other load moves it much less than the ops/s).
bench() {
  local label=$1; shift
  local res=$work/serve-$label.txt
  : > "$res"
  for round in $(seq "$SERVE_ROUNDS"); do
    for kind in redis lab; do
      local port pid c0 c1 ops
      port=$(free_port)
      "start_$kind" "$work/$kind-$label-$round" "$port" "$@"
      pid=${pids[-1]}
      for t in set get incr lpush rpop sadd hset zadd; do
        c0=$(cpu_ticks "$pid")
        ops=$(redis-benchmark -p "$port" -q -t "$t" -n "$N" ${BENCH_FLAGS:-} | tr '\r' '\n' | grep 'requests per second' | grep -o '[0-9.]* requests' | cut -d' ' -f1)
        c1=$(cpu_ticks "$pid")
        echo "$kind $t $ops $((c1 - c0))" >> "$res"
      done
      redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
      wait "$pid" 2>/dev/null || true
      unset 'pids[-1]'
    done
  done
  python3 - "$res" "$label" "$N" "$CLK_TCK" <<'PY'
import collections, statistics, sys
path, label, n, tck = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
runs = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(path):
    kind, test, ops, ticks = line.split()
    runs[test][kind].append((float(ops), int(ticks)))
for test, by in runs.items():
    r, l = by["redis"], by["lab"]
    rm, lm = statistics.median(o for o, _ in r), statistics.median(o for o, _ in l)
    ratios = [b[0] / a[0] for a, b in zip(r, l)]
    us = lambda xs: statistics.median(t for _, t in xs) * 1e6 / tck / n
    print(f"| {test.upper()} {label} | {rm:.0f} | {lm:.0f} | {lm / rm:.2f} ({min(ratios):.2f}–{max(ratios):.2f}) | {us(r):.1f} | {us(l):.1f} |")
PY
}

if want serve; then
  echo "| operation | redis-server 7.0.15 (ops/s) | aof-lab serve (ops/s) | ratio (rounds) | redis-server CPU µs/request | serve CPU µs/request |"
  echo "|---|---|---|---|---|---|"
  bench "appendonly-no" --appendonly no
  bench "everysec" --appendonly yes --appendfsync everysec
  bench "always" --appendonly yes --appendfsync always
  BENCH_FLAGS="-P 16" bench "everysec-P16" --appendonly yes --appendfsync everysec
fi

# The timeline: going back 10 000 turns of a lab session against replaying those 10 000 turns
# from the start, in the same run (benches/timeline.rs; no redis-server involved).
if want timeline; then
  echo
  cargo bench --quiet --bench timeline
fi
# The same in wasm, in headless Chromium's dedicated worker (tests/e2e/bench-timeline.mjs,
# through the facade as the lab's worker drives it); needs pkg/ and the e2e npm packages.
if want timeline-wasm; then
  echo
  scripts/build.sh >/dev/null 2>&1
  (cd tests/e2e && node bench-timeline.mjs)
fi

# The maxmemory check per command: the page's default (64 MB) against maxmemory 0, same run,
# 50 000 keys (benches/maxmemory.rs; no redis-server involved).
if want maxmemory; then
  echo
  cargo bench --quiet --bench maxmemory
fi
if want logview; then
  # The log view in headless Chromium on the real page (tests/e2e/bench-log.mjs): opening a
  # generated AOF of LOG_N commands and scrolling it, against reading the file and a bare
  # virtual list in the same run.
  scripts/build.sh >/dev/null 2>&1
  echo
  (cd tests/e2e && node bench-log.mjs)
fi
if want size; then
  # The wasm the page downloads, per build option: each row is one `wasm-pack build --profile
  # wasm` with the profile's settings overridden by CARGO_PROFILE_WASM_* (its own target dir),
  # against the reference measured in the same run: the build as it was before this section
  # existed (the release profile: opt-level 3, fat LTO, one codegen unit, the name section kept).
  echo
  scripts/wasm-size.sh
fi
if want startup; then
  # Navigation -> usable console on OPFS, cold and warm, against a bare worker whose engine
  # answers PING (tests/e2e/bench-startup.mjs; RUNS, WARM, SETTLE, COMPARE=<rev>).
  scripts/build.sh >/dev/null 2>&1
  echo
  (cd tests/e2e && node bench-startup.mjs)
fi
if want browser; then
  # Acknowledged writes/s per policy x backend x clients, through the lab's worker, against bare
  # OPFS / IndexedDB loops in the same page (tests/e2e/bench-browser.mjs; MS, ROUNDS, ONLY); what
  # an IndexedDB commit's shape costs (ONLY=shapes, why an append is one put); then one turn
  # natively, to show where a turn's time goes (benches/turn.rs).
  scripts/build.sh >/dev/null 2>&1
  echo
  (cd tests/e2e && node bench-browser.mjs)
  echo
  (cd tests/e2e && ONLY=shapes node bench-browser.mjs)
  echo
  cargo bench --quiet --bench turn
fi
if want page; then
  # The page in headless Chromium: frame times and long tasks while the traffic generator
  # streams 10 000 commands/s with every view open, against the same page idle (same run).
  scripts/build.sh >/dev/null
  echo
  (cd tests/e2e && node bench-page.mjs "${PAGE_SECS:-10}")
fi
want load || want rewrite || exit 0

# Loading: AOFs written by the real server, then loaded by redis-server (its own "DB loaded from
# append only file" line), by `aof-lab load` natively and, with load-wasm, by the wasm engine in
# Chromium's dedicated worker (tests/e2e/bench-load.mjs); LOAD_RUNS runs each, the median.
# Mixes: a) redis-benchmark's (LOAD_N commands of set,lpush,sadd,hset,zadd); b) LOAD_N commands
# of SET/INCR/RPUSH/HSET/SADD/ZADD/PEXPIREAT over ~100 000 keys (scripts/bench-load-gen.py);
# c) LARGE_N SETs of 100 KB; d) mix b rewritten by the real server with an RDB preamble.
LOAD_RUNS=${LOAD_RUNS:-3}
LARGE_N=${LARGE_N:-2000}
stop_last() { # stops the server started last and waits for it to exit (its files complete)
  local p=${pids[-1]}
  redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true
  wait "$p" 2>/dev/null || true
  unset 'pids[-1]'
}
wait_rewrite() { # port
  for _ in $(seq 3000); do
    redis-cli -p "$1" info persistence | tr -d '\r' | grep -q '^aof_rewrite_in_progress:0' &&
      ! redis-cli -p "$1" info persistence | tr -d '\r' | grep -q '^aof_rewrite_scheduled:1' && return 0
    sleep 0.01
  done
  echo "rewrite on $1 did not finish" >&2; exit 1
}
gen_aof() { # dir command... : the real server writes the AOF of what `command port` sends it
  local dir=$1 port; shift
  port=$(free_port)
  start_redis "$dir" "$port" --appendonly yes --aof-use-rdb-preamble no --appendfsync no --auto-aof-rewrite-percentage 0
  "$@" "$port"
  stop_last "$port"
}
feed_benchmark() { redis-benchmark -p "$1" -q -r 100000 -n "$((LOAD_N / 5))" -t set,lpush,sadd,hset,zadd -P 32 >/dev/null; }
feed_mix() { python3 scripts/bench-load-gen.py mix "$LOAD_N" | redis-cli -p "$1" --pipe >/dev/null; }
feed_large() { python3 scripts/bench-load-gen.py large "$LARGE_N" | redis-cli -p "$1" --pipe >/dev/null; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
redis_load() { # dir: sets $secs (redis-server's own line) and $keys
  local port; port=$(free_port)
  rm -f "$1/log"
  start_redis "$1" "$port" --appendonly yes
  keys=$(redis-cli -p "$port" dbsize)
  stop_last "$port"
  secs=$(grep -o "DB loaded from append only file: [0-9.]*" "$1/log" | tail -1 | grep -o "[0-9.]*$")
}
lab_load() { $BIN load "$1" | grep -o 'loaded in [0-9.]*' | grep -o '[0-9.]*$'; }

gen=$work/gen
gen_aof "$gen" feed_benchmark
mixes=(gen)
if want load; then
  gen_aof "$work/mix" feed_mix
  gen_aof "$work/large" feed_large
  cp -r "$work/mix" "$work/preamble"; rm -f "$work/preamble/log"
  port=$(free_port)
  start_redis "$work/preamble" "$port" --appendonly yes --aof-use-rdb-preamble yes --auto-aof-rewrite-percentage 0
  redis-cli -p "$port" bgrewriteaof >/dev/null; wait_rewrite "$port"
  stop_last "$port"
  mixes=(gen mix large preamble)
fi
declare -A label=(
  [gen]="a) redis-benchmark -r 100000 -t set,lpush,sadd,hset,zadd"
  [mix]="b) SET/INCR/RPUSH/HSET/SADD/ZADD/PEXPIREAT"
  [large]="c) $LARGE_N SETs of 100 KB"
  [preamble]="d) b rewritten: RDB preamble"
)
declare -A rsecs lsecs nkeys wrw
for m in "${mixes[@]}"; do
  r=() l=()
  for _ in $(seq "$LOAD_RUNS"); do
    redis_load "$work/$m"; r+=("$secs")
    if want load; then l+=("$(lab_load "$work/$m")"); fi
  done
  rsecs[$m]=$(printf '%s\n' "${r[@]}" | median)
  if want load; then lsecs[$m]=$(printf '%s\n' "${l[@]}" | median); fi
  nkeys[$m]=$keys
done
keys=${nkeys[gen]}
if want load; then
  declare -A wsecs
  if want load-wasm; then
    scripts/build.sh >/dev/null 2>&1
    while read -r m w _ _ rw; do wsecs[$m]=$w; wrw[$m]=$rw; done < <(cd tests/e2e && RUNS=$LOAD_RUNS node bench-load.mjs "$work" "${mixes[@]}")
  fi
  echo
  echo "Load average: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%F); LOAD_N=$LOAD_N LARGE_N=$LARGE_N, median of $LOAD_RUNS"
  echo
  echo "| AOF load | commands | MB | keys | redis-server 7.0.15 (s) | aof-lab load, native (s) | ratio | wasm, Chromium worker (s) | ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for m in "${mixes[@]}"; do
    size=$(find "$work/$m/appendonlydir" -name '*.aof' -o -name '*.rdb' | xargs du -cb | tail -1 | cut -f1)
    cmds=$(cat "$work/$m"/appendonlydir/*.aof | grep -ac '^\*' || true)
    compgen -G "$work/$m/appendonlydir/*.base.rdb" >/dev/null && cmds="RDB base + $cmds"
    rv=${rsecs[$m]} lv=${lsecs[$m]} wv=${wsecs[$m]:-}
    wr=-; [[ -n $wv ]] && wr=$(printf '%.2f' "$(echo "$wv / $rv" | bc -l)")
    printf '| %s | %s | %.1f | %s | %s | %s | %.2f | %s | %s |\n' "${label[$m]}" "$cmds" "$(echo "$size / 1000000" | bc -l)" \
      "${nkeys[$m]}" "$rv" "$lv" "$(echo "$lv / $rv" | bc -l)" "${wv:--}" "$wr"
  done
fi

# Rewriting: both servers load a copy of each mix's AOF, then BGREWRITEAOF (RDB base, the
# default). The time is from "rewriting started" to "finished successfully" in each server's own
# log (millisecond timestamps). Both run with hz 500: each notices its child's end in serverCron,
# which would otherwise add up to 100 ms. aof-lab's child writes the whole snapshot in one tick.
# The wasm engine's figure (with load-wasm) is bench-load-worker.js's: BGREWRITEAOF on the
# loaded engine, to the serverCron tick that finished it.
rewrite_secs() { # log -> seconds between the start and the end lines of the last rewrite
  python3 - "$1" <<'PY'
import re, sys, datetime
start = end = None
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"(\d+ \w+ \d+ [\d:.]+) [*#.-] (.*)", line)
    if not m:
        continue
    t = datetime.datetime.strptime(m.group(1), "%d %b %Y %H:%M:%S.%f")
    if "Background append only file rewriting started" in m.group(2):
        start = t
    elif "Background AOF rewrite finished successfully" in m.group(2):
        end = t
print(f"{(end - start).total_seconds():.3f}")
PY
}
if want rewrite; then
  echo
  echo "Load average: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%F)"
  echo
  echo "| BGREWRITEAOF (RDB base) | keys | redis-server 7.0.15 (s) | aof-lab serve (s) | ratio | wasm, Chromium worker (s) | ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for m in "${mixes[@]}"; do
    rm -rf "$work/rw-r" "$work/rw-l"
    cp -r "$work/$m" "$work/rw-r"; cp -r "$work/$m" "$work/rw-l"; rm -f "$work"/rw-*/log
    rp=$(free_port); start_redis "$work/rw-r" "$rp" --appendonly yes --hz 500
    lp=$(free_port); start_lab "$work/rw-l" "$lp" --appendonly yes --hz 500
    for p in "$rp" "$lp"; do redis-cli -p "$p" bgrewriteaof >/dev/null; wait_rewrite "$p"; done
    r=$(rewrite_secs "$work/rw-r/log"); l=$(rewrite_secs "$work/rw-l/log")
    stop_last "$lp"; stop_last "$rp"
    wv=${wrw[$m]:-} wr=-
    [[ -n $wv ]] && wr=$(printf '%.2f' "$(echo "$wv / $r" | bc -l)")
    printf '| %s | %s | %s | %s | %.2f | %s | %s |\n' "${label[$m]}" "${nkeys[$m]}" "$r" "$l" "$(echo "$l / $r" | bc -l)" "${wv:--}" "$wr"
  done
fi
