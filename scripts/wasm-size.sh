#!/usr/bin/env bash
# The wasm's size per build option (scripts/bench.sh, BENCH=size): prints markdown rows for
# BENCHMARKS.md. Each row is one `wasm-pack build --profile wasm` (the profile scripts/build.sh
# uses) with settings overridden through CARGO_PROFILE_WASM_*, in its own target directory
# (target/bench-size, so that pkg/ and the usual builds are left alone), then optionally
# binaryen's wasm-opt (npm's, scripts/vendor). The reference, in the same run: the build as it
# was before this profile existed (opt-level 3, fat LTO, one codegen unit, the name section kept).
# Then where the bytes of the chosen build are: per section, the static tables, and per module
# of the code (twiggy). About 15 minutes on 2 cores (each row compiles everything).
#   ROWS="ref z" scripts/wasm-size.sh     only some rows (see `rows` below)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
out=target/bench-size
mkdir -p "$out"
WASM_OPT=scripts/vendor/node_modules/.bin/wasm-opt

# label | CARGO_PROFILE_WASM_* settings (KEY=VALUE, space-separated) | wasm-opt flags ('' = none)
rows=(
  "ref|opt-level 3, fat LTO, codegen-units 1, name section kept (the build before)|OPT_LEVEL=3 STRIP=none|"
  "o3|opt-level 3, fat LTO, codegen-units 1, no name section|OPT_LEVEL=3|"
  "s|opt-level s (same otherwise)|OPT_LEVEL=s|"
  "z|opt-level z (same otherwise)|OPT_LEVEL=z|"
  "z-thin|opt-level z, thin LTO|OPT_LEVEL=z LTO=thin|"
  "z-nolto|opt-level z, no LTO across crates|OPT_LEVEL=z LTO=false|"
  "z-cgu16|opt-level z, codegen-units 16|OPT_LEVEL=z CODEGEN_UNITS=16|"
  "z-abort|opt-level z, panic = \"abort\"|OPT_LEVEL=z PANIC=abort|"
  "z-wasmopt|opt-level z, then wasm-opt -Oz (binaryen 132)|OPT_LEVEL=z|-Oz"
  "z-wasmopt-o1|opt-level z, then wasm-opt -O1|OPT_LEVEL=z|-O1"
  "z-wasmopt-dfe|opt-level z, then wasm-opt --duplicate-function-elimination --merge-similar-functions|OPT_LEVEL=z|--duplicate-function-elimination --merge-similar-functions"
  "nightly|opt-level z on nightly: build-std, panic = immediate-abort, -Zfmt-debug=none, -Zlocation-detail=none (no panic message at all)|OPT_LEVEL=z||nightly"
  "z-names|opt-level z, name section kept (what twiggy reads below)|OPT_LEVEL=z STRIP=none|"
  "chosen|the build scripts/build.sh makes (Cargo.toml's profile.wasm: opt-level z, no name section, no wasm-opt)|||build.sh"
)
want_row() { [ -z "${ROWS:-}" ] || [[ " $ROWS " == *" $1 "* ]]; }

gz() { gzip -9c "$1" | wc -c; }

# Sections of a wasm file: "name raw gzipped" per line (custom sections by their name).
sections() {
  python3 - "$1" <<'PY'
import gzip, sys
d = open(sys.argv[1], "rb").read()
names = {1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global", 7: "export", 9: "elem", 10: "code", 11: "data", 12: "datacount"}
def leb(i):
    r = s = 0
    while True:
        b = d[i]; i += 1; r |= (b & 0x7F) << s; s += 7
        if b < 0x80: return r, i
i = 8
while i < len(d):
    t = d[i]; n, j = leb(i + 1); body = d[j:j + n]
    if t == 0:
        l, k = leb(j); name = "custom:" + d[k:k + l].decode()
    else:
        name = names.get(t, str(t))
    print(name, n, len(gzip.compress(body, 9)))
    i = j + n
PY
}

build_row() { # key settings wasm-opt-flags how -> prints the wasm's path
  local key=$1 settings=$2 flags=$3 how=$4 dir=$out/$1
  rm -rf "$dir"
  if [ "$how" = build.sh ]; then
    OUT_DIR="$dir" CARGO_TARGET_DIR=$out/target scripts/build.sh >"$out/$key.log" 2>&1
  elif [ "$how" = nightly ]; then
    # Needs `rustup component add rust-src --toolchain nightly` and the nightly wasm32 target.
    RUSTFLAGS="-Zlocation-detail=none -Zfmt-debug=none -Zunstable-options -Cpanic=immediate-abort" CARGO_TARGET_DIR=$out/nightly \
      cargo +nightly build --lib --target wasm32-unknown-unknown --profile wasm -Z build-std=std,panic_abort >"$out/$key.log" 2>&1
    wasm-bindgen --target web --no-typescript --out-dir "$dir" "$out/nightly/wasm32-unknown-unknown/wasm/aof_lab.wasm" >>"$out/$key.log" 2>&1
  else
    # The wasm profile's own wasm-opt step is off here: the rows apply it explicitly.
    env CARGO_TARGET_DIR=$out/target $(for kv in $settings; do echo "CARGO_PROFILE_WASM_$kv"; done) \
      wasm-pack build --target web --mode no-install --profile wasm --no-pack --no-opt --out-dir "$dir" >"$out/$key.log" 2>&1
    if [ -n "$flags" ]; then
      $WASM_OPT $flags --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
        "$dir/aof_lab_bg.wasm" -o "$dir/opt.wasm" >>"$out/$key.log" 2>&1
      mv "$dir/opt.wasm" "$dir/aof_lab_bg.wasm"
    fi
  fi
  echo "$dir/aof_lab_bg.wasm"
}

echo "| wasm build (pkg/aof_lab_bg.wasm) | raw (bytes) | gzipped -9 (bytes) | gzipped ÷ reference | code / data / names, gzipped (KB) |"
echo "|---|---:|---:|---:|---|"
ref_gz=
chosen=
for row in "${rows[@]}"; do
  IFS='|' read -r key label settings flags how <<<"$row"
  want_row "$key" || continue
  wasm=$(build_row "$key" "$settings" "$flags" "$how")
  raw=$(stat -c %s "$wasm"); z=$(gz "$wasm")
  [ "$key" = ref ] && ref_gz=$z
  [ "$key" = chosen ] && chosen=$wasm
  parts=$(sections "$wasm" | awk '$1=="code"{c=$3} $1=="data"{d=$3} $1=="custom:name"{n=$3} END{printf "%.0f / %.0f / %.0f", c/1000, d/1000, n/1000}')
  ratio=$([ -n "$ref_gz" ] && echo "scale=2; $z / $ref_gz" | bc -l || echo "?")
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$raw" "$z" "$ratio" "$parts"
done
[ -n "$chosen" ] || exit 0
named=$out/z-names/aof_lab_bg.wasm

echo
echo "| where the chosen build's bytes are | raw (bytes) | gzipped alone (bytes) |"
echo "|---|---:|---:|"
sections "$chosen" | while read -r name raw z; do printf '| section %s | %s | %s |\n' "$name" "$raw" "$z"; done
for table in src/cmd/server/commands.bin; do
  printf '| of the data: %s (COMMAND INFO / DOCS, include_bytes!) | %s | %s |\n' "$table" "$(stat -c %s "$table")" "$(gz "$table")"
done

# The code by module (twiggy: each function's body; the share of the code section's bytes), read
# from the same build with its name section (a stripped one has only code[N]).
command -v twiggy >/dev/null || cargo install twiggy --version =0.8.0 --locked --quiet
echo
[ -f "$named" ] || exit 0
echo "| the code by module (twiggy top on the opt-level z build, function bodies) | raw (bytes) | share of the code |"
echo "|---|---:|---:|"
twiggy top -n 1000000 --format csv "$named" | python3 -c '
import csv, re, sys, collections
groups = collections.Counter()
for r in csv.DictReader(sys.stdin):
    name, size = r["Name"], int(r["ShallowSize"])
    if name.startswith(("data segment", "\"function names\"", "type[", "import ", "export ", "elem", "table[", "memory[", "global[", "wasm magic", "code section", "\"")):
        continue
    n = re.sub(r"\[[0-9a-f]{16}\]", "", name).lstrip("<")
    parts = n.split("::")
    key = "::".join(parts[:3]) if parts[0] == "aof_lab" and len(parts) > 2 else "::".join(parts[:2])
    key = re.sub(r"[<{(].*", "", key)
    groups[key] += size
total = sum(groups.values())
for key, size in groups.most_common(25):
    print(f"| {key} | {size} | {100 * size / total:.1f} % |")
rest = total - sum(s for _, s in groups.most_common(25))
print(f"| everything else ({len(groups) - 25} modules) | {rest} | {100 * rest / total:.1f} % |")
'
