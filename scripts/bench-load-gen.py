#!/usr/bin/env python3
"""Writes a deterministic command stream in RESP to stdout, for `redis-cli --pipe` (the load
benchmark of scripts/bench.sh: the real server turns it into the AOF both servers then load).

  bench-load-gen.py mix N      N commands over ~100 000 keys: SET with 10-100-byte values (40 000
                               keys), INCR (10 000), RPUSH (5 000 lists), HSET, SADD, ZADD
                               (15 000 keys each), PEXPIREAT (a future time, on any of them)
  bench-load-gen.py large N    N SETs of 100 000-byte values, one key each

The same arguments give the same bytes (a seeded generator), so every run loads the same file.
"""
import random
import sys

# PEXPIREAT's times: from 2100-01-01, far in the future, so that no key expires at load.
FUTURE_MS = 4_102_444_800_000
ALPHABET = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def mix(n, out):
    r = random.Random(14)
    # A pool of value bytes to slice from: random text without a per-byte Python loop.
    pool = bytes(r.choice(ALPHABET) for _ in range(1 << 16))

    def value(lo, hi):
        size = r.randint(lo, hi)
        at = r.randrange(len(pool) - size)
        return pool[at : at + size]

    # (weight, kind): the share of each command in the stream.
    kinds = [(30, "set"), (10, "incr"), (15, "rpush"), (15, "hset"), (12, "sadd"), (12, "zadd"), (6, "pexpireat")]
    spaces = {"set": ("str", 40_000), "incr": ("ctr", 10_000), "rpush": ("list", 5_000),
              "hset": ("hash", 15_000), "sadd": ("set", 15_000), "zadd": ("zset", 15_000)}
    table = [k for w, k in kinds for _ in range(w)]
    buf = []
    for i in range(n):
        kind = r.choice(table)
        if kind == "pexpireat":
            prefix, size = spaces[r.choice(list(spaces))]
            cmd = resp("PEXPIREAT", f"{prefix}:{r.randrange(size)}", str(FUTURE_MS + r.randrange(10**9)))
        else:
            prefix, size = spaces[kind]
            key = f"{prefix}:{r.randrange(size)}"
            if kind == "set":
                cmd = resp("SET", key, value(10, 100))
            elif kind == "incr":
                cmd = resp("INCR", key)
            elif kind == "rpush":
                cmd = resp("RPUSH", key, value(10, 30))
            elif kind == "hset":
                cmd = resp("HSET", key, f"f{r.randrange(20)}", value(10, 50))
            elif kind == "sadd":
                cmd = resp("SADD", key, f"m{r.randrange(1000)}")
            else:
                cmd = resp("ZADD", key, str(r.randrange(1_000_000)), f"m{r.randrange(1000)}")
        buf.append(cmd)
        if len(buf) == 10_000:
            out.write(b"".join(buf))
            buf.clear()
    out.write(b"".join(buf))


def large(n, out):
    r = random.Random(15)
    for i in range(n):
        # Each value differs (a seeded prefix over a fixed body), as distinct uploads would.
        body = r.randbytes(16).hex().encode() * (100_000 // 32)
        out.write(resp("SET", f"big:{i}", body[:100_000].ljust(100_000, b"x")))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("mix", "large"):
        sys.exit(__doc__)
    n = int(sys.argv[2])
    out = sys.stdout.buffer
    (mix if sys.argv[1] == "mix" else large)(n, out)
    out.flush()


if __name__ == "__main__":
    main()
