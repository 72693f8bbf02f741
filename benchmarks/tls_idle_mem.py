#!/usr/bin/env python3
"""Memory per idle TLS connection after the handshake: starts each server fresh, reads its VmRSS,
opens N TLS connections (handshakes done, TLS 1.3, nothing sent after), waits for the server to
settle, reads VmRSS again: per_conn_b = growth / N. Rounds interleave the servers.

usage: tls_idle_mem.py [-n N] [-r ROUNDS] [-o FILE] CERT KEY NAME='COMMAND {PORT} {CERT} {KEY}'...
One result line per server and round, in the kit's kind=mem format (summarize.py reads it).
"""
import argparse
import os
import re
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "interop"))
from interop_util import free_port, wait_listening  # noqa: E402  (the interop tests' helpers)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def measure(name, command, cert, key, n):
    port = free_port()
    cmd = command.replace("{PORT}", str(port)).replace("{CERT}", cert).replace("{KEY}", key)
    proc = subprocess.Popen(["bash", "-c", "exec " + cmd], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    conns = []
    try:
        if not wait_listening(port, proc):
            return f"server={name} conns={n} error=did_not_start"
        time.sleep(0.5)
        base = rss_kb(proc.pid)
        ctx = ssl.create_default_context(cafile=cert)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        for _ in range(n):
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            conns.append(ctx.wrap_socket(raw, server_hostname="localhost"))
        time.sleep(1.0)  # the server's side of the last handshakes, and its tickets
        rss = rss_kb(proc.pid)
        return (f"server={name} conns={n} rss_base_kb={base} rss_kb={rss} "
                f"per_conn_b={(rss - base) * 1024 // n}")
    finally:
        for c in conns:
            c.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("-o")
    ap.add_argument("cert")
    ap.add_argument("key")
    ap.add_argument("servers", nargs="+")
    a = ap.parse_args()
    servers = [s.split("=", 1) for s in a.servers]
    out = open(a.o, "a") if a.o else sys.stdout
    print("# tls_idle_mem.py " + " ".join(shlex.quote(x) for x in sys.argv[1:]), file=out)
    for r in range(a.r):
        order = servers[r % len(servers):] + servers[:r % len(servers)]
        for name, command in order:
            line = f"kind=mem mode=tls-idle round={r + 1} " + measure(name, command, a.cert,
                                                                    a.key, a.n)
            print(line, file=out, flush=True)
            if out is not sys.stdout:
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
