#!/usr/bin/env python3
"""tests/interop/ws_npm_server.py: starts the npm ws echo server (tests/ws_conformance/
ws_echo_server.js) on a free port and runs a client command against it ({PORT} replaced).

usage: ws_npm_server.py NODE NPM_DIR -- CLIENT_COMMAND...
Exit 77 (skipped) when node or ws is missing, else the client's status.
"""
import os
import re
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    sep = sys.argv.index("--")
    node, npm_dir = sys.argv[1:sep]
    client = sys.argv[sep + 1:]
    modules = os.path.join(npm_dir, "node_modules")
    if not node or not os.path.isdir(os.path.join(modules, "ws")):
        print("node or the npm ws package is missing; skipped (npm install --prefix "
              f"{npm_dir} ws@8)")
        return 77
    env = dict(os.environ, NODE_PATH=modules)
    server = subprocess.Popen([node, os.path.join(HERE, "..", "ws_conformance", "ws_echo_server.js"),
                               "0"], stdout=subprocess.PIPE, text=True, env=env)
    port = None
    for _ in range(20):
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", server.stdout.readline())
        if m:
            port = m.group(1)
            break
    if port is None:
        server.kill()
        print("the ws server did not start", file=sys.stderr)
        return 1
    try:
        rc = subprocess.run([a.replace("{PORT}", port) for a in client], timeout=60).returncode
    except subprocess.TimeoutExpired:
        rc = 1
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=10)
    return rc


if __name__ == "__main__":
    sys.exit(main())
