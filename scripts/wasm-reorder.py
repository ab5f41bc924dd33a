#!/usr/bin/env python3
"""Orders a wasm file's functions by name, then drops its name section (scripts/build.sh).

Usage: scripts/wasm-reorder.py IN.wasm OUT.wasm

Why: gzip sees 32 KB at a time. The monomorphised copies of one generic function (the twenty
`BTreeMap<K, V>::insert`s, each sort, each `Vec::extend`) are nearly the same bytes, but LLVM
writes them far apart, so gzip cannot use one to encode the next. Side by side they compress
to ~5 % less (BENCHMARKS.md, "The wasm's size"; binaryen's own orderings make the gzipped
file larger). The order of functions in a module has no meaning: only their indices do, so
every index is remapped (calls, `ref.func`, the element segments, exports, the start
function) and nothing else changes. The names come from the name section, which the build
keeps for this (`strip = false` in Cargo.toml's `[profile.wasm]`) and which is dropped here.

The instruction decoder covers what rustc's wasm32 output uses (MVP, sign-ext,
non-trapping float-to-int, bulk memory, reference types, multi-value); anything else
(SIMD, atomics, exceptions) stops the script with an error, and the build with it.
"""
import re
import sys


class Reader:
    def __init__(self, data, pos=0):
        self.d, self.p = data, pos

    def byte(self):
        b = self.d[self.p]
        self.p += 1
        return b

    def u(self):
        r = s = 0
        while True:
            b = self.byte()
            r |= (b & 0x7F) << s
            s += 7
            if b < 0x80:
                return r

    def skip_s(self):
        while self.byte() & 0x80:
            pass

    def take(self, n):
        b = self.d[self.p : self.p + n]
        self.p += n
        return b


def uleb(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


VALTYPES = {0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F}
# 0xFC sub-opcodes: how many u32 immediates each has.
FC_IMMEDIATES = {0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2, 15: 1, 16: 1, 17: 1}


def rewrite_expr(r, out, remap, until_end_of_body=None):
    """Copies instructions from r to out, remapping function indices. A constant expression
    stops at its final `end` (depth 0); a function body at its length (until_end_of_body)."""
    depth = 0
    while True:
        if until_end_of_body is not None and r.p >= until_end_of_body:
            return
        start = r.p
        op = r.byte()
        if op in (0x10, 0x12, 0xD2):  # call, return_call, ref.func
            out.append(op)
            out += uleb(remap[r.u()])
            continue
        if op in (0x02, 0x03, 0x04):  # block, loop, if + block type
            bt = r.byte()
            if bt != 0x40 and bt not in VALTYPES:
                r.p -= 1
                r.skip_s()
            depth += 1
        elif op == 0x0B:  # end
            if until_end_of_body is None and depth == 0:
                out += r.d[start : r.p]
                return
            depth -= 1
        elif op in (0x00, 0x01, 0x05, 0x0F, 0x1A, 0x1B, 0xD1) or 0x45 <= op <= 0xC4:
            pass
        elif op in (0x0C, 0x0D, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x3F, 0x40):
            r.u()
        elif op == 0x0E:  # br_table
            for _ in range(r.u() + 1):
                r.u()
        elif op in (0x11, 0x13):  # call_indirect, return_call_indirect
            r.u()
            r.u()
        elif op == 0x1C:  # select t*
            r.take(r.u())
        elif 0x28 <= op <= 0x3E:  # memarg
            align = r.u()
            if align & 0x40:
                r.u()
            r.u()
        elif op in (0x41, 0x42):
            r.skip_s()
        elif op == 0x43:
            r.take(4)
        elif op == 0x44:
            r.take(8)
        elif op == 0xD0:
            r.byte()
        elif op == 0xFC:
            sub = r.u()
            if sub not in FC_IMMEDIATES:
                raise SystemExit(f"wasm-reorder: unknown instruction 0xFC {sub} at byte {start}")
            for _ in range(FC_IMMEDIATES[sub]):
                r.u()
        else:
            raise SystemExit(f"wasm-reorder: unknown instruction 0x{op:02X} at byte {start}")
        out += r.d[start : r.p]


def const_expr(r, remap):
    out = bytearray()
    rewrite_expr(r, out, remap)
    return bytes(out)


def section(sid, body):
    return bytes([sid]) + uleb(len(body)) + body


def main():
    src, dst = sys.argv[1], sys.argv[2]
    d = open(src, "rb").read()
    assert d[:8] == b"\0asm\x01\0\0\0", "not a wasm module"
    secs = []  # (id, body bytes, custom name)
    r = Reader(d, 8)
    while r.p < len(d):
        sid = r.byte()
        n = r.u()
        body = r.take(n)
        name = None
        if sid == 0:
            c = Reader(body)
            name = c.take(c.u()).decode()
        secs.append((sid, body, name))

    imported = 0
    for sid, body, _ in secs:
        if sid == 2:
            c = Reader(body)
            for _ in range(c.u()):
                c.take(c.u())
                c.take(c.u())
                kind = c.byte()
                if kind == 0:
                    c.u()
                    imported += 1
                elif kind == 1:
                    c.byte()
                    fl = c.u()
                    c.u()
                    if fl & 1:
                        c.u()
                elif kind == 2:
                    fl = c.u()
                    c.u()
                    if fl & 1:
                        c.u()
                elif kind == 3:
                    c.take(2)
    names = {}
    for sid, body, name in secs:
        if sid == 0 and name == "name":
            c = Reader(body)
            c.take(c.u())
            while c.p < len(body):
                sub = c.byte()
                size = c.u()
                end = c.p + size
                if sub == 1:
                    for _ in range(c.u()):
                        idx = c.u()
                        names[idx] = c.take(c.u()).decode(errors="replace")
                c.p = end
    if not names:
        raise SystemExit("wasm-reorder: no name section (build with strip = false)")

    types = next(Reader(b) for s, b, _ in secs if s == 3)
    count = types.u()
    func_types = [types.u() for _ in range(count)]
    code = next(Reader(b) for s, b, _ in secs if s == 10)
    assert code.u() == count
    bodies = []
    for _ in range(count):
        size = code.u()
        bodies.append((code.p, code.p + size))
        code.p += size

    # New order: by name without the legacy-mangling hash (copies of one generic function
    # share their name), then by the old index (a stable order).
    key = lambda i: (re.sub(r"::h[0-9a-f]{16}$", "", names.get(imported + i, "")), i)
    order = sorted(range(count), key=key)
    remap = list(range(imported)) + [0] * count
    for new, old in enumerate(order):
        remap[imported + old] = imported + new

    out = bytearray(d[:8])
    for sid, body, name in secs:
        if sid == 0 and name == "name":
            continue
        if sid == 3:
            body = uleb(count) + b"".join(uleb(func_types[old]) for old in order)
        elif sid == 10:
            parts = [uleb(count)]
            for old in order:
                start, end = bodies[old]
                c = Reader(code.d, start)
                f = bytearray()
                for _ in range(c.u()):  # locals: (count, valtype)*
                    c.u()
                    c.byte()
                f += code.d[start : c.p]
                rewrite_expr(c, f, remap, until_end_of_body=end)
                if c.p != end:
                    raise SystemExit(f"wasm-reorder: function {imported + old} did not decode to its end")
                parts.append(uleb(len(f)) + bytes(f))
            body = b"".join(parts)
        elif sid == 7:  # exports
            c = Reader(body)
            n = c.u()
            o = bytearray(uleb(n))
            for _ in range(n):
                nm = c.take(c.u())
                kind = c.byte()
                idx = c.u()
                o += uleb(len(nm)) + nm + bytes([kind]) + uleb(remap[idx] if kind == 0 else idx)
            body = bytes(o)
        elif sid == 8:  # start
            body = uleb(remap[Reader(body).u()])
        elif sid == 6:  # globals: init expressions may hold ref.func
            c = Reader(body)
            n = c.u()
            o = bytearray(uleb(n))
            for _ in range(n):
                o += c.take(2)
                o += const_expr(c, remap)
            body = bytes(o)
        elif sid == 9:  # element segments
            c = Reader(body)
            n = c.u()
            o = bytearray(uleb(n))
            for _ in range(n):
                flags = c.u()
                o += uleb(flags)
                if flags & 2 and not flags & 1:  # explicit table index
                    o += uleb(c.u())
                if not flags & 1:  # active: offset expression
                    o += const_expr(c, remap)
                if flags & 3:  # elemkind or reftype byte
                    o.append(c.byte())
                m = c.u()
                o += uleb(m)
                for _ in range(m):
                    o += const_expr(c, remap) if flags & 4 else uleb(remap[c.u()])
            body = bytes(o)
        out += section(sid, body) if sid != 0 else section(0, body)
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main()
