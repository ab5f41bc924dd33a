#!/usr/bin/env python3
"""Where the bytes of a wasm build are (scripts/wasm-size.sh; BENCHMARKS.md, "The wasm's size").

Usage: scripts/wasm-where.py NAMED.wasm [commands.bin]

NAMED.wasm is a build that kept its name section, best with v0 symbol mangling
(`RUSTFLAGS=-Csymbol-mangling-version=v0 CARGO_PROFILE_WASM_STRIP=none`): v0 names carry the
generic arguments, so a monomorphised copy of std's code (`BTreeMap<String, FileIndex>::insert`)
is counted for the project type it was instantiated for. Prints markdown tables:
- the file without its name section (what the page downloads), per section, raw and gzipped;
- the code per crate, std's generic code split by the crate whose types instantiated it;
- the areas of the project's own code; the largest generic families and their instances;
- the data section: the command table, long text runs, the rest.
"Gzipped alone" compresses each group on its own, so the groups' figures add up to more than
the file's (gzip shares repeats across groups).
"""
import collections
import gzip
import re
import sys


def leb(d, i):
    r = s = 0
    while True:
        b = d[i]
        i += 1
        r |= (b & 0x7F) << s
        s += 7
        if b < 0x80:
            return r, i


def parse(path):
    d = open(path, "rb").read()
    secs, bodies, names, data = [], [], {}, []
    nimports = 0
    i = 8
    while i < len(d):
        t = d[i]
        n, j = leb(d, i + 1)
        name = None
        if t == 0:
            ln, k = leb(d, j)
            name = d[k : k + ln].decode()
        secs.append((t, name, i, j, n))
        if t == 2:  # imports: functions come first in the index space
            cnt, k = leb(d, j)
            for _ in range(cnt):
                for _ in range(2):
                    ln, k = leb(d, k)
                    k += ln
                kind = d[k]
                k += 1
                if kind == 0:
                    _, k = leb(d, k)
                    nimports += 1
                elif kind == 1:
                    k += 1
                    fl, k = leb(d, k)
                    _, k = leb(d, k)
                    if fl & 1:
                        _, k = leb(d, k)
                elif kind == 2:
                    fl, k = leb(d, k)
                    _, k = leb(d, k)
                    if fl & 1:
                        _, k = leb(d, k)
                elif kind == 3:
                    k += 2
        elif t == 10:
            cnt, k = leb(d, j)
            for idx in range(cnt):
                sz, k = leb(d, k)
                bodies.append((idx + nimports, d[k : k + sz]))
                k += sz
        elif t == 11:
            cnt, k = leb(d, j)
            for _ in range(cnt):
                flag, k = leb(d, k)
                if flag == 2:
                    _, k = leb(d, k)
                if flag in (0, 2):
                    while d[k] != 0x0B:
                        k += 1
                    k += 1
                sz, k = leb(d, k)
                data.append(d[k : k + sz])
                k += sz
        elif t == 0 and name == "name":
            k, end = j + 5, j + n
            while k < end:
                sub = d[k]
                sz, k2 = leb(d, k + 1)
                if sub == 1:
                    cnt, m = leb(d, k2)
                    for _ in range(cnt):
                        idx, m = leb(d, m)
                        ln, m = leb(d, m)
                        names[idx] = d[m : m + ln].decode(errors="replace")
                        m += ln
                k = k2 + sz
        i = j + n
    return d, secs, bodies, names, data


def gz(b):
    return len(gzip.compress(b, 9))


SECTION = {1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global", 7: "export", 9: "elem", 10: "code", 11: "data", 12: "datacount"}

# The project's own code by area (the first two path segments of aof_lab::…).
AREAS = [
    ("engine: commands (cmd::*)", r"^cmd::(?!scripting)"),
    ("scripting: EVAL / FUNCTION glue (cmd::scripting)", r"^cmd::scripting"),
    ("lab: the teaching surface (lab::*)", r"^lab"),
    ("engine: AOF / RDB formats, load, rewrite, check", r"^(aof|rdb|archive)"),
    ("engine: keyspace, server, replies, config, RESP", r"^(keyspace|server|reply|config|resp|engine|events|memory|digest|util)"),
    ("storage: OPFS, IndexedDB, machine model", r"^storage"),
    ("wasm facade (wasm.rs)", r"^wasm"),
]


def demangled(n):
    return re.sub(r"\[[0-9a-f]{16}\]", "", re.sub(r"::h[0-9a-f]{16}$", "", n))


def crate_of(n):
    m = re.match(r"^<*&?(?:mut )?(?:dyn )?([A-Za-z_][A-Za-z_0-9]*)", n)
    return m.group(1) if m else "?"


def owner_of(n):
    """The project crate whose type a generic instance was made for (the first one named)."""
    m = re.search(r"\b(aof_lab|rilua)::", n)
    return m.group(1) if m else None


def generic_args(n, at):
    """The comma-separated arguments of the `<…>` that opens at n[at]."""
    depth, start, args = 0, at + 1, []
    for i in range(at, len(n)):
        if n[i] == "<":
            depth += 1
        elif n[i] == ">":
            depth -= 1
            if depth == 0:
                args.append(n[start:i].strip())
                return args
        elif n[i] == "," and depth == 1:
            args.append(n[start:i].strip())
            start = i + 1
    return args


def btree_kv(n):
    """`K, V` of the first B-tree type a function's name mentions (markers and lifetimes left out)."""
    for m in re.finditer(r"(BTreeMap|BTreeSet|NodeRef|BalancingContext|Handle|LeafRange|Iter|IterMut|IntoIter|Range|RangeMut|Keys|Values|Entry|VacantEntry|OccupiedEntry|Root)<", n):
        args = [a for a in generic_args(n, m.end() - 1) if not re.match(r"^(alloc::collections::btree::node::)?marker::|^'|^_$|^alloc::alloc::Global$", a)]
        if args and not args[0].startswith(("alloc::collections::btree::node::NodeRef", "&")):
            return ", ".join(args[:2])
    return None


def table(title, cols, rows):
    print()
    print("| " + " | ".join([title] + cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")


def main():
    path = sys.argv[1]
    blob_path = sys.argv[2] if len(sys.argv) > 2 else None
    d, secs, bodies, names, data = parse(path)
    stripped = d[:8] + b"".join(d[i : j + n] for t, name, i, j, n in secs if not (t == 0 and name == "name"))
    table(
        "the file without its name section",
        ["raw (bytes)", "gzipped -9 (bytes)"],
        [("whole file", len(stripped), gz(stripped))]
        + [("section " + (f"custom:{name}" if t == 0 else SECTION.get(t, str(t))), n, gz(d[j : j + n])) for t, name, i, j, n in secs if not (t == 0 and name == "name")],
    )

    fns = [(demangled(names.get(idx, f"func{idx}")), b) for idx, b in bodies]
    code_total = sum(len(b) for _, b in fns)

    groups = collections.defaultdict(list)
    for n, b in fns:
        c = crate_of(n)
        if c in ("aof_lab", "rilua"):
            groups[c].append(b)
        elif c in ("alloc", "core", "std", "hashbrown", "indexmap") and owner_of(n):
            groups[f"std generics for {owner_of(n)}'s types"].append(b)
        elif c in ("alloc", "core", "std", "hashbrown", "indexmap"):
            groups["std: generics for std types, fmt, number formatting"].append(b)
        elif c in ("wasm_bindgen", "js_sys", "web_sys", "wasm_bindgen_futures"):
            groups["wasm-bindgen, js-sys, web-sys"].append(b)
        else:
            groups["the rest (compiler builtins: libm, dlmalloc, sha1, crc, lzf, exports)"].append(b)
    rows = sorted(groups.items(), key=lambda kv: -sum(map(len, kv[1])))
    table(
        "the code by crate",
        ["raw (bytes)", "share of the code", "gzipped alone (bytes)", "functions"],
        [(k, sum(map(len, v)), f"{100 * sum(map(len, v)) / code_total:.1f} %", gz(b"".join(v)), len(v)) for k, v in rows],
    )

    areas = collections.defaultdict(list)
    for n, b in fns:
        own = crate_of(n)
        if own != "aof_lab" and owner_of(n) == "aof_lab":
            # A generic instance: counted for the area of the first project path it names.
            m = re.search(r"aof_lab::([a-z_0-9:]+)", n)
            path_ = m.group(1) if m else ""
        elif own == "aof_lab":
            path_ = re.sub(r"^<*aof_lab::", "", n)
        else:
            continue
        area = next((a for a, rx in AREAS if re.match(rx, path_)), "other (lib, util, …)")
        areas[area].append(b)
    rows = sorted(areas.items(), key=lambda kv: -sum(map(len, kv[1])))
    table(
        "the project's code by area (its own functions and the generic copies made for its types)",
        ["raw (bytes)", "share of the code", "gzipped alone (bytes)"],
        [(k, sum(map(len, v)), f"{100 * sum(map(len, v)) / code_total:.1f} %", gz(b"".join(v))) for k, v in rows],
    )

    # Generic families: how many instances, and the largest.
    fams = [("BTreeMap / BTreeSet", r"collections::btree::"), ("slice sorts", r"core::slice::sort::"), ("Vec", r"alloc::vec::"), ("iterator adapters", r"core::iter::adapters::"), ("hashbrown tables", r"^<*hashbrown::"), ("VecDeque", r"collections::vec_deque::")]
    rows = []
    for label, rx in fams:
        fam = [(n, b) for n, b in fns if re.search(rx, n.split("::{closure")[0][:200])]
        inst = collections.Counter()
        for n, b in fam:
            m = re.search(r"(BTreeMap|BTreeSet|NodeRef|Handle|BalancingContext|sort::[a-z_:]+?::[a-z_]+::)<([^>]{0,120})", n)
            inst[m.group(2).split(",")[0] if m else "?"] += len(b)
        rows.append((label, sum(len(b) for _, b in fam), gz(b"".join(b for _, b in fam)), len(fam)))
    table("generic families (all instances)", ["raw (bytes)", "gzipped alone (bytes)", "functions"], rows)

    btree = collections.Counter()
    for n, b in fns:
        if "collections::btree::" not in n:
            continue
        kv = btree_kv(n)
        if kv:
            btree[re.sub(r"alloc::(vec|string)::|aof_lab::|alloc::collections::btree::set_val::", "", kv)] += len(b)
    table("BTreeMap instances, largest first (K, V)", ["raw (bytes)"], btree.most_common(16))

    blob = b"".join(data)
    rows = []
    if blob_path:
        cb = open(blob_path, "rb").read()
        at = blob.find(cb)
        if at >= 0:
            rows.append((f"{blob_path} (COMMAND INFO / DOCS, include_bytes!)", len(cb), gz(cb)))
            blob = blob[:at] + blob[at + len(cb) :]
    runs = re.findall(rb"[\x20-\x7e\n\t]{40,}", blob)
    text = b"".join(runs)
    rest = re.sub(rb"[\x20-\x7e\n\t]{40,}", b"", blob)
    rows.append(("text in runs of 40+ characters (help texts, messages, the lab's texts)", len(text), gz(text)))
    rows.append(("the rest: tables (Unicode, float parsing, CRC …), short strings, panic locations, zeros", len(rest), gz(rest)))
    table("the data section", ["raw (bytes)", "gzipped alone (bytes)"], rows)


if __name__ == "__main__":
    main()
