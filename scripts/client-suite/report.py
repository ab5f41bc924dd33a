"""The client suite's report: which of a client library's own tests pass on redis-server, which
pass on `aof-lab serve`, and every difference by test, per protocol.

    report.py RESULTS_DIR EXCEPTIONS_FILE TITLE

RESULTS_DIR holds `{redis,serve}-resp{2,3}.xml` (pytest's JUnit XML). EXCEPTIONS_FILE lists, one
per line, a glob over test ids and the reason serve cannot pass those tests yet (`#` comments).
A test that passes on Redis and not on serve must match one of them, or this run fails (exit 1);
an exception that matches no such test any more is reported as stale (to be removed), without
failing the run. Prints Markdown.
"""

import fnmatch
import sys
import xml.etree.ElementTree as ET
from collections import OrderedDict


def outcomes(path):
    """{test id: 'passed' | 'failed' | 'error' | 'skipped'} from one JUnit XML file."""
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        # tests.test_commands.TestRedisCommands + test_get -> test_commands.py::TestRedisCommands::test_get
        parts = case.get("classname", "").split(".")
        module = next((i for i, p in enumerate(parts) if p.startswith("test_")), len(parts))
        file = "/".join(parts[1 : module + 1]) + ".py" if module < len(parts) else ".".join(parts)
        test_id = "::".join([file] + parts[module + 1 :] + [case.get("name", "")])
        kinds = {child.tag for child in case}
        if "failure" in kinds:
            out[test_id] = "failed"
        elif "error" in kinds:
            out[test_id] = "error"
        elif "skipped" in kinds:
            out[test_id] = "skipped"
        else:
            out[test_id] = "passed"
    return out


def load_exceptions(path):
    rules = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            pattern, _, reason = line.partition("  ")
            rules.append((pattern.strip(), reason.strip()))
    return rules


def main():
    results, exceptions_file, title = sys.argv[1], sys.argv[2], sys.argv[3]
    rules = load_exceptions(exceptions_file)
    used = set()
    rows = []
    figures = []
    by_reason = OrderedDict((reason, {}) for _, reason in rules)
    unlisted = []
    serve_only = []
    for resp in (2, 3):
        redis = outcomes(f"{results}/redis-resp{resp}.xml")
        serve = outcomes(f"{results}/serve-resp{resp}.xml")
        on_redis = {t for t, o in redis.items() if o == "passed"}
        on_serve = {t for t, o in serve.items() if o == "passed"}
        missing = sorted(on_redis - on_serve)
        listed = 0
        for test in missing:
            rule = next((r for r in rules if fnmatch.fnmatchcase(test, r[0])), None)
            if rule is None:
                unlisted.append((resp, test, serve.get(test, "not run")))
                continue
            listed += 1
            used.add(rule[0])
            by_reason[rule[1]].setdefault(test, []).append(f"RESP{resp}")
        serve_only += [(resp, t, redis.get(t, "not run")) for t in sorted(on_serve - on_redis)]
        figures.append(f"RESP{resp} {len(on_redis)} pass on Redis, {len(on_redis & on_serve)} of them on serve")
        rows.append(
            f"| RESP{resp} | {len(redis)} | {len(on_redis)} | {len(on_serve)} | "
            f"{len(on_redis & on_serve)} | {listed} | {len(missing) - listed} |"
        )

    print(f"## {title} against `aof-lab serve` and redis-server 7.0.15\n")
    print("| protocol | tests | pass on Redis | pass on serve | pass on both | "
          "Redis only, listed exception | Redis only, **not listed** |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    print("\n### Tests that pass on Redis and not on serve, by reason\n")
    for reason, tests in by_reason.items():
        if not tests:
            continue
        print(f"- **{reason}** ({len(tests)}): " + ", ".join(
            f"`{t.split('::')[-1]}`" + ("" if len(p) == 2 else f" ({p[0]} only)") for t, p in tests.items()))
    if unlisted:
        print("\n### FAIL: pass on Redis, fail on serve, and not a listed exception\n")
        for resp, test, outcome in unlisted:
            print(f"- RESP{resp} `{test}`: {outcome} on serve")
    stale = [p for p, _ in rules if p not in used]
    if stale:
        print("\n### Listed exceptions that no test needs any more (remove them)\n")
        for p in stale:
            print(f"- `{p}`")
    if serve_only:
        print("\n### Pass on serve and not on Redis\n")
        for resp, test, outcome in serve_only:
            print(f"- RESP{resp} `{test}` ({outcome} on Redis)")
    print()
    # For `make soak` (scripts/soak.sh reads this line).
    print(f"SOAK client-suite: {'; '.join(figures)}; {len(unlisted)} unlisted", file=sys.stderr)
    return 1 if unlisted else 0


if __name__ == "__main__":
    sys.exit(main())
