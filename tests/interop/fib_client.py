#!/usr/bin/env python3
"""Client for examples/fib_server: while one connection waits for fib(42), another asks for
fib(1) and must get its answer first (the worker pool keeps the loop free).

usage: fib_client.py PORT        Exit status 0 on success.
"""
import selectors
import socket
import sys
import time


def ask(port: int, n: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(f"{n}\n".encode())
    return s


def answers_in_order(requests: dict) -> list:
    """Reads every connection to its end; returns (n, answer, seconds) in order of arrival."""
    start = time.monotonic()
    sel = selectors.DefaultSelector()
    data = {}
    for n, s in requests.items():
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, n)
        data[n] = b""
    done = []
    deadline = start + 60
    while len(done) < len(requests) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            n = key.data
            chunk = key.fileobj.recv(64)
            if chunk:
                data[n] += chunk
            else:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                done.append((n, data[n].decode().strip(), time.monotonic() - start))
    return done


def main() -> int:
    port = int(sys.argv[1])
    slow = ask(port, 42)
    time.sleep(0.1)  # fib(42) is running on a worker by now
    quick = ask(port, 1)
    done = answers_in_order({42: slow, 1: quick})
    for n, text, seconds in done:
        print(f"fib({n}) = {text} after {seconds:.3f} s")
    ok = True
    if [(n, text) for n, text, _ in done] != [(1, "1"), (42, "267914296")]:
        print("expected fib(1) = 1 first, then fib(42) = 267914296", file=sys.stderr)
        ok = False
    # A malformed request gets an error line, not a hang.
    bad = answers_in_order({-5: ask(port, -5)})
    if not bad or not bad[0][1].startswith("error"):
        print(f"malformed request answered {bad!r}", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
