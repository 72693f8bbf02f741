#!/usr/bin/env python3
"""tests/soak/soak.py BUILD_DIR [SECONDS]: mixed echo + HTTP + UDP load, with random
disconnects, against the example servers of BUILD_DIR (echo_server, echo_events,
http_echo_body, udp_echo), for SECONDS (default: $SOAK_SECONDS or 120).

Passes when no request is lost or corrupted (a request the client aborts on purpose is neither),
no server writes to stderr, dies, or fails to exit 0 on SIGINT, and each server's RSS at the end
is within 10% of its RSS after the warm-up (the first 20% of the run, at least 5 s). Prints the
figures docs/reliability.md records.
"""
import os
import random
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import http.client

SERVERS = ["echo_server", "echo_events", "http_echo_body", "udp_echo"]


def start(build, name):
    exe = os.path.join(build, "examples", name)
    proc = subprocess.Popen([exe, "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 10
    line = b""
    while time.time() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                return proc, int(m.group(1))
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"soak: {name} did not start: {line!r}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.problems = []

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def problem(self, what):
        with self.lock:
            self.problems.append(what)
            self.counts["problems"] = self.counts.get("problems", 0) + 1


def recv_exact(s, n):
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(min(65536, n - len(out)))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def reset(s):
    """Closes with RST (SO_LINGER 0), the rudest disconnect a client can make."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def echo_worker(name, port, stop, tally, seed):
    rng = random.Random(seed)
    while not stop.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError as e:
            tally.problem(f"{name}: connect: {e}")
            time.sleep(0.1)
            continue
        try:
            for _ in range(rng.randint(1, 20)):
                if stop.is_set():
                    break
                payload = rng.randbytes(rng.choice([1, 100, 1500, 16384, 65536, 300000]))
                if rng.random() < 0.05:  # a disconnect in the middle of a message
                    s.sendall(payload[: len(payload) // 2])
                    reset(s) if rng.random() < 0.5 else s.close()
                    tally.add(f"{name} aborted")
                    s = None
                    break
                # Send and read at once (a large message would fill both socket buffers).
                received = bytearray()
                reader = threading.Thread(
                    target=lambda: received.extend(recv_exact(s, len(payload))))
                reader.start()
                s.sendall(payload)
                reader.join(30)
                if len(received) != len(payload):
                    tally.problem(f"{name}: lost: {len(received)} of {len(payload)} bytes back")
                    break
                if bytes(received) != payload:
                    tally.problem(f"{name}: corrupted echo of {len(payload)} bytes")
                    break
                tally.add(f"{name} messages")
                tally.add(f"{name} bytes", len(payload))
            if s is not None:
                s.shutdown(socket.SHUT_WR)  # the server ends too, after the echo
                if s.recv(1) != b"":
                    tally.problem(f"{name}: bytes after the end")
                s.close()
                tally.add(f"{name} connections")
        except OSError as e:
            tally.problem(f"{name}: {e}")


def http_worker(port, stop, tally, seed):
    rng = random.Random(seed)
    while not stop.is_set():
        if rng.random() < 0.05:  # a client that goes away mid-request
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                          rng.randbytes(rng.randint(0, 5000)))
                reset(s) if rng.random() < 0.5 else s.close()
                tally.add("http aborted")
            except OSError as e:
                tally.problem(f"http: abort: {e}")
            continue
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for _ in range(rng.randint(1, 30)):
                if stop.is_set():
                    break
                body = rng.randbytes(rng.choice([0, 10, 1000, 50000, 500000]))
                headers = {"Content-Type": "application/octet-stream"}
                conn.request("POST", "/soak", body=body, headers=headers)
                resp = conn.getresponse()
                got = resp.read()
                if resp.status != 200:
                    tally.problem(f"http: status {resp.status}")
                    break
                if got != body:
                    tally.problem(f"http: corrupted echo of {len(body)} bytes ({len(got)} back)")
                    break
                tally.add("http requests")
                tally.add("http bytes", len(body))
        except (OSError, http.client.HTTPException) as e:
            tally.problem(f"http: {type(e).__name__}: {e}")
        finally:
            conn.close()


def udp_worker(port, stop, tally, seed):
    rng = random.Random(seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    seq = 0
    while not stop.is_set():
        seq += 1
        payload = struct.pack("!Q", seq) + rng.randbytes(rng.randint(0, 1400))
        s.sendto(payload, ("127.0.0.1", port))
        try:
            while True:  # a late answer to an earlier datagram is skipped, not counted
                got, _ = s.recvfrom(65536)
                if got[:8] == payload[:8]:
                    break
        except socket.timeout:
            tally.problem(f"udp: datagram {seq} lost")
            continue
        if got != payload:
            tally.problem(f"udp: datagram {seq} corrupted")
        else:
            tally.add("udp datagrams")
    s.close()


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    seconds = float(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("SOAK_SECONDS", 120))
    warmup = max(5.0, seconds * 0.2)
    servers = {name: start(build, name) for name in SERVERS}
    ports = {name: port for name, (_, port) in servers.items()}
    print("soak: " + ", ".join(f"{n} on {p}" for n, p in ports.items()) +
          f"; {seconds:.0f} s, warm-up {warmup:.0f} s", flush=True)

    stop = threading.Event()
    tally = Tally()
    workers = [
        threading.Thread(target=echo_worker, args=("echo_server", ports["echo_server"], stop, tally, 1)),
        threading.Thread(target=echo_worker, args=("echo_server", ports["echo_server"], stop, tally, 2)),
        threading.Thread(target=echo_worker, args=("echo_events", ports["echo_events"], stop, tally, 3)),
        threading.Thread(target=echo_worker, args=("echo_events", ports["echo_events"], stop, tally, 4)),
        threading.Thread(target=http_worker, args=(ports["http_echo_body"], stop, tally, 5)),
        threading.Thread(target=http_worker, args=(ports["http_echo_body"], stop, tally, 6)),
        threading.Thread(target=udp_worker, args=(ports["udp_echo"], stop, tally, 7)),
    ]
    start_time = time.time()
    for w in workers:
        w.start()
    time.sleep(warmup)
    warm = {n: rss_kib(p.pid) for n, (p, _) in servers.items()}
    peak = dict(warm)
    while time.time() - start_time < seconds:
        time.sleep(1)
        for n, (p, _) in servers.items():
            if p.poll() is not None:
                tally.problem(f"{n} died (exit {p.returncode})")
                stop.set()
            else:
                peak[n] = max(peak[n], rss_kib(p.pid))
        if stop.is_set():
            break
    end = {n: rss_kib(p.pid) if p.poll() is None else 0 for n, (p, _) in servers.items()}
    stop.set()
    for w in workers:
        w.join(60)
    elapsed = time.time() - start_time

    ok = True
    for n, (p, _) in servers.items():
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
        try:
            rc = p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = "timeout"
        err = p.stderr.read().decode(errors="replace").strip()
        if rc != 0:
            tally.problem(f"{n}: exit {rc} on SIGINT")
        if err:
            tally.problem(f"{n} wrote to stderr: {err[:500]}")

    print(f"soak: ran {elapsed:.0f} s")
    for key in sorted(tally.counts):
        print(f"  {key}: {tally.counts[key]}")
    print("  RSS KiB (after warm-up / peak / end):")
    for n in SERVERS:
        growth = (end[n] - warm[n]) / warm[n] * 100 if warm[n] else 0
        verdict = "ok" if end[n] <= warm[n] * 1.10 else "GREW"
        print(f"    {n:15} {warm[n]:7} / {peak[n]:7} / {end[n]:7}  ({growth:+.1f}%) {verdict}")
        if verdict != "ok":
            ok = False
    for p in tally.problems[:30]:
        print(f"  problem: {p}")
    ok = ok and not tally.problems
    print("soak: PASS" if ok else "soak: FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
