#!/usr/bin/env python3
"""tests/ws_conformance/run_ws_echo.py: starts ws_echo_server.js (the npm `ws` package) on a
free port and runs the conformance runner against it; the meson tests of suite 'interop'.

usage: run_ws_echo.py [--node NODE] [--npm-dir DIR] [--selftest] [-- RUNNER_ARGS...]

`ws` is looked up with NODE_PATH = DIR/node_modules (install it there, never in the source
tree: npm install --prefix BUILD_DIR/npm ws@8), then $NODE_PATH. Exit status 77 (skipped)
when node or ws is missing, else the runner's.

--selftest checks the runner instead: against servers broken on purpose (ws_echo_server.js
VARIANT), the cases that must notice are FAILED (or NON-STRICT), and the rest still pass.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77

# variant: [(case pattern, the verdict it must get)]; the cases listed must all get it.
SELFTEST = {
    "no-utf8": [("6.3.1", "FAILED"), ("6.20.1", "FAILED"), ("6.2.1", "OK")],
    "no-autopong": [("2.1", "FAILED"), ("2.10", "FAILED"), ("5.6", "FAILED"), ("1.1.1", "OK")],
    "text-as-binary": [("1.1.2", "FAILED"), ("1.2.2", "OK")],
    "small-payload": [("9.1.2", "FAILED"), ("9.1.1", "OK")],
    "no-deflate": [("12.1.1", "NON-STRICT"), ("13.8.4", "NON-STRICT"), ("13.8.2", "OK"),
                   ("3.1", "OK")],
}


def start_server(node, env, variant=""):
    cmd = [node, os.path.join(HERE, "ws_echo_server.js"), "0"] + ([variant] if variant else [])
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        m = re.search(r"listening on (127\.0\.0\.1:\d+)", line)
        if m:
            print(line.strip(), flush=True)
            return server, m.group(1)
    server.kill()
    server.wait()
    return None, None


def stop_server(server) -> bool:
    server.send_signal(signal.SIGTERM)
    try:
        return server.wait(timeout=10) == 0
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        return False


def runner(target, args, capture=False):
    cmd = [sys.executable, os.path.join(HERE, "runner.py"), target] + args
    try:
        return subprocess.run(cmd, timeout=600, text=True,
                              stdout=subprocess.PIPE if capture else None)
    except subprocess.TimeoutExpired:
        print("run_ws_echo: the runner timed out", file=sys.stderr)
        return None


def selftest(node, env) -> int:
    failures = 0
    for variant, expected in SELFTEST.items():
        server, target = start_server(node, env, variant)
        if not server:
            print(f"run_ws_echo: ws_echo_server.js {variant} did not start", file=sys.stderr)
            return 1
        # A broken server may never answer: 2 s for the answers is plenty on loopback.
        args = ["--wait", "2"] + sum((["-k", pattern] for pattern, _ in expected), [])
        result = runner(target, args, capture=True)
        stop_server(server)
        if result is None:
            return 1
        verdicts = dict(re.findall(r"^(\S+)\s+(OK|NON-STRICT|FAILED)\b", result.stdout, re.M))
        for case_id, want in expected:
            got = verdicts.get(case_id, "missing")
            ok = got == want
            failures += not ok
            print(f"selftest {variant:<15} {case_id:<7} {got:<10} "
                  f"{'as expected' if ok else 'EXPECTED ' + want}")
    print(f"selftest: {'PASS' if failures == 0 else f'{failures} unexpected verdicts'}")
    return 1 if failures else 0


def main() -> int:
    argv = sys.argv[1:]
    rest = []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--node", default="", help="the node program (default: node on PATH)")
    ap.add_argument("--npm-dir", default="", help="where `npm install --prefix` put ws")
    ap.add_argument("--selftest", action="store_true", help="check the runner itself")
    args = ap.parse_args(argv)

    node = args.node or shutil.which("node")
    if not node or not os.path.exists(node):
        print("run_ws_echo: SKIP: node not found", file=sys.stderr)
        return SKIP
    env = dict(os.environ)
    paths = [os.path.join(args.npm_dir, "node_modules")] if args.npm_dir else []
    if env.get("NODE_PATH"):
        paths.append(env["NODE_PATH"])
    env["NODE_PATH"] = os.pathsep.join(paths)
    probe = subprocess.run([node, "-e", "require.resolve('ws')"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        where = args.npm_dir or "BUILD_DIR/npm"
        print(f"run_ws_echo: SKIP: the npm package ws is not installed (npm install --prefix "
              f"{where} ws@8)", file=sys.stderr)
        return SKIP

    if args.selftest:
        return selftest(node, env)
    server, target = start_server(node, env)
    if not server:
        print("run_ws_echo: ws_echo_server.js did not print 'listening on 127.0.0.1:PORT'",
              file=sys.stderr)
        return 1
    result = runner(target, rest)
    clean = stop_server(server)
    if result is None:
        return 1
    if not clean:
        print("run_ws_echo: ws_echo_server.js did not exit cleanly", file=sys.stderr)
        return 1
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
