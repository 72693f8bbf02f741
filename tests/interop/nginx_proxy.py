#!/usr/bin/env python3
"""nginx as a reverse proxy in front of two http_hello processes (the set-up of docs/deploy.md).

Starts two http_hello on free ports and an unprivileged nginx on loopback (everything under a
temporary directory: config, pid, logs, temp paths), then checks that:
  - requests through nginx are answered, over keep-alive client connections and fresh ones;
  - they are spread over both backends ($upstream_addr in nginx's access log names each port);
  - a backend sent SIGTERM exits 0 at once although nginx holds idle keep-alive connections to
    it, and nginx goes on answering from the other one (a rolling restart);
  - the other backend exits 0 on SIGINT.

usage: nginx_proxy.py HTTP_HELLO_BINARY    Exit status 0 on success, 77 (skip) without nginx.
"""
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from interop_util import find_nginx, free_port, start_example, wait_listening

CONFIG = """\
{user}worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format upstream '$upstream_addr $status';
    access_log {tmp}/access.log upstream;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream netco {{
        server 127.0.0.1:{port1} max_fails=0;
        server 127.0.0.1:{port2} max_fails=0;
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://netco;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def get(conn, path="/"):
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, r.read()


def check_answers(port, keep_alive_requests, fresh_requests):
    """Requests over one keep-alive connection, then each on a fresh one; all must be answered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(keep_alive_requests):
        status, body = get(conn)
        if (status, body) != (200, b"Hello, World!\n"):
            raise AssertionError(f"keep-alive request: {status} {body!r}")
    conn.close()
    for _ in range(fresh_requests):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        status, body = get(conn)
        conn.close()
        if (status, body) != (200, b"Hello, World!\n"):
            raise AssertionError(f"request: {status} {body!r}")


def stop(proc, sig, seconds):
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    nginx = find_nginx()
    if nginx is None:
        print("nginx not found: skipped (scripts/setup.sh installs it)")
        return 77
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="netco-nginx-")
    backends, proxy = [], None
    try:
        b1, port1 = start_example([binary])
        backends.append(b1)
        b2, port2 = start_example([binary])
        backends.append(b2)
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers may not run as nobody here
        proxy = None
        for _ in range(3):  # the free port could be taken between our check and nginx's bind
            port = free_port()
            with open(os.path.join(tmp, "nginx.conf"), "w") as f:
                f.write(CONFIG.format(user=user, tmp=tmp, port=port, port1=port1, port2=port2))
            proxy = subprocess.Popen(
                [nginx, "-p", tmp, "-c", os.path.join(tmp, "nginx.conf"), "-e",
                 os.path.join(tmp, "error.log")], stdout=subprocess.DEVNULL)
            if wait_listening(port, proxy):
                break
            stop(proxy, signal.SIGTERM, 5)
            proxy = None
        if proxy is None:
            raise RuntimeError("nginx did not start")

        check_answers(port, keep_alive_requests=20, fresh_requests=20)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        status, _ = get(conn, "/nope")
        conn.close()
        if status != 404:
            raise AssertionError(f"/nope through nginx: {status}, expected 404")

        # nginx writes each access-log line as its request completes.
        time.sleep(0.2)
        with open(os.path.join(tmp, "access.log")) as f:
            lines = f.read().split("\n")
        counts = {p: sum(1 for line in lines if line.startswith(f"127.0.0.1:{p} "))
                  for p in (port1, port2)}
        print(f"requests per backend: {counts[port1]} on :{port1}, {counts[port2]} on :{port2}")
        if min(counts.values()) == 0:
            raise AssertionError("the requests were not spread over both backends")

        # A rolling restart: SIGTERM drains backend 1 (nginx's idle upstream connections to it
        # are closed at once), and nginx answers from backend 2 meanwhile.
        started = time.monotonic()
        code = stop(b1, signal.SIGTERM, 10)
        took = time.monotonic() - started
        print(f"backend 1 exited with {code} {took:.3f} s after SIGTERM")
        if code != 0:
            raise AssertionError(f"backend 1 exited with {code} after SIGTERM")
        check_answers(port, keep_alive_requests=10, fresh_requests=10)

        code = stop(b2, signal.SIGINT, 10)
        if code != 0:
            raise AssertionError(f"backend 2 exited with {code} after SIGINT")
        print("ok")
        return 0
    except (AssertionError, OSError, RuntimeError, http.client.HTTPException) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        err = os.path.join(tmp, "error.log")
        if os.path.exists(err):
            with open(err) as f:
                sys.stderr.write(f.read())
        return 1
    finally:
        if proxy is not None and proxy.poll() is None:
            stop(proxy, signal.SIGTERM, 10)  # nginx's fast shutdown
        for b in backends:
            if b.poll() is None:
                b.kill()
                b.wait()
        shutil.rmtree(tmp, ignore_errors=True)

if __name__ == "__main__":
    sys.exit(main())
