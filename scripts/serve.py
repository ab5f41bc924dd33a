#!/usr/bin/env python3
"""The lab's local server (`make serve`, scripts/serve.sh): the repository's files on 127.0.0.1.

`python3 -m http.server` with one difference: HTTP/1.1 with keep-alive. The stock server speaks
HTTP/1.0 and closes the connection after every response, so each of the page's ~35 requests
(its modules, the worker's, the 2 MB wasm) opens a new connection and a new thread, six at a
time (a browser's limit per host on HTTP/1.1); the engine worker's requests queued behind the
page's modules. Kept alive, the six connections turn around at once: the console is usable
sooner on a cold start (BENCHMARKS.md, "Start-up"). Any static server works (dist/ needs no
special header); this one is what `make serve` and the start-up benchmark use.

    python3 scripts/serve.py PORT [DIRECTORY]
"""

import functools
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    # Every response of SimpleHTTPRequestHandler has a Content-Length (files, listings,
    # errors), which is what keep-alive needs.
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass  # one line per request would bury the URL the script printed


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    directory = sys.argv[2] if len(sys.argv) > 2 else "."
    handler = functools.partial(Handler, directory=directory)
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
