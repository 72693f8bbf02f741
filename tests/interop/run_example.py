#!/usr/bin/env python3
"""Runs an example program on a free port, runs a client command against it, then stops the
example with SIGINT and checks it exits cleanly.

usage: run_example.py EXAMPLE_BINARY -- CLIENT_COMMAND... (the text {PORT} is replaced)
Exit status: the client's, or 1 if the example failed to start or to shut down cleanly.
"""
import signal
import subprocess
import sys

from interop_util import start_example


def main() -> int:
    sep = sys.argv.index("--")
    example, client = sys.argv[1:sep], sys.argv[sep + 1:]
    try:
        server, port = start_example(example)
    except AssertionError as e:
        print(e, file=sys.stderr)
        return 1
    try:
        rc = subprocess.run([a.replace("{PORT}", str(port)) for a in client], timeout=120).returncode
    except subprocess.TimeoutExpired:
        print("client timed out", file=sys.stderr)
        rc = 1
    server.send_signal(signal.SIGINT)
    try:
        code = server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        print("example did not exit within 10 s of SIGINT", file=sys.stderr)
        return 1
    if code != 0:
        print(f"example exited with {code} after SIGINT", file=sys.stderr)
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
