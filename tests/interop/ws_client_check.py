#!/usr/bin/env python3
"""tests/interop/ws_client_check.py: examples/ws_client against an echo server: the lines
given on its stdin must come back on its stdout, in order, and it must exit 0 after stdin's
end and the close handshake.

usage: ws_client_check.py WS_CLIENT URL [--ca FILE]
       ws_client_check.py --wss WSS_NETCO WS_CLIENT   (a wss echo with a throwaway CA)
"""
import os
import re
import signal
import subprocess
import sys
import tempfile

LINES = ["hello", "wörld ünïcode", ""] + [f"line {i} " + "x" * (i % 300) for i in range(500)]


def check(cmd) -> int:
    try:
        r = subprocess.run(cmd, input="\n".join(LINES) + "\n", capture_output=True, text=True,
                           timeout=60)
    except subprocess.TimeoutExpired:
        print("ws_client did not exit", file=sys.stderr)
        return 1
    if r.returncode != 0:
        print(f"ws_client exited with {r.returncode}: {r.stderr}", file=sys.stderr)
        return 1
    got = r.stdout.split("\n")[:-1]
    if got != LINES:
        print(f"ws_client printed {len(got)} lines, not the {len(LINES)} sent", file=sys.stderr)
        return 1
    print(f"ws_client_check: ok ({len(LINES)} lines)")
    return 0


def wss(netco, client) -> int:
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([netco, "certs", d], check=True)
        p = subprocess.Popen([netco, "server", os.path.join(d, "key.pem"),
                              os.path.join(d, "cert.pem")], stdout=subprocess.PIPE, text=True)
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", p.stdout.readline())
        if not m:
            p.kill()
            return 1
        rc = check([client, f"wss://localhost:{m.group(1)}/", "--ca", os.path.join(d, "ca.pem")])
        p.send_signal(signal.SIGINT)
        p.wait(timeout=10)
        return rc


if __name__ == "__main__":
    if sys.argv[1] == "--wss":
        sys.exit(wss(sys.argv[2], sys.argv[3]))
    sys.exit(check(sys.argv[1:]))
