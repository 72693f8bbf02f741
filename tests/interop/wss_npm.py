#!/usr/bin/env python3
"""tests/interop/wss_npm.py: wss:// both ways between netco and the npm ws package, with a
throwaway CA that wss_netco makes: ws's client against netco's wss echo (an https::server),
then netco's client against ws on Node's https.createServer. Both verify the certificate.

usage: wss_npm.py NODE NPM_DIR WSS_NETCO
Exit 77 (skipped) when node or ws is missing, else 0 when both directions pass.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def start(cmd, env):
    """Starts a server; returns (process, port) once it printed its listening line."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    for _ in range(20):
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", p.stdout.readline())
        if m:
            return p, m.group(1)
    p.kill()
    raise RuntimeError(f"{cmd[0]} did not start")


def stop(p):
    p.send_signal(signal.SIGINT)
    try:
        return p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        return 1


def main() -> int:
    node, npm_dir, netco = sys.argv[1:4]
    modules = os.path.join(npm_dir, "node_modules")
    if not node or not os.path.isdir(os.path.join(modules, "ws")):
        print(f"node or the npm ws package is missing; skipped (npm install --prefix {npm_dir} ws@8)")
        return 77
    env = dict(os.environ, NODE_PATH=modules)
    script = os.path.join(HERE, "wss_node.js")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([netco, "certs", d], check=True)
        ca, key, cert = (os.path.join(d, f) for f in ("ca.pem", "key.pem", "cert.pem"))
        rc = 0
        server, port = start([netco, "server", key, cert], env)
        try:
            r = subprocess.run([node, script, "client", port, ca], env=env, timeout=60).returncode
        except subprocess.TimeoutExpired:
            r = 1
        if stop(server) != 0:
            print("wss_netco server did not exit cleanly", file=sys.stderr)
            r = r or 1
        rc = rc or r
        server, port = start([node, script, "server", key, cert], env)
        try:
            r = subprocess.run([netco, "client", f"wss://localhost:{port}/", ca],
                               timeout=60).returncode
        except subprocess.TimeoutExpired:
            r = 1
        stop(server)
        rc = rc or r
    print("wss_npm: ok" if rc == 0 else "wss_npm: FAILED")
    return rc


if __name__ == "__main__":
    sys.exit(main())
