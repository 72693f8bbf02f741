#!/usr/bin/env python3
"""scripts/echo_client.py: drives a TCP echo server and checks it, standard library only.

Phase 1 (correctness): --connections connections at once; each sends a random payload in
random chunk sizes, half-closes, and must get every byte back, in order, followed by the
server's own end of the connection (EOF).
Phase 2 (throughput, --seconds in all): streams bulk data over a few connections (MB/s
echoed) and then ping-pongs small messages (round trips/s); the echoes are checked too.

Exit status 0 when every check passed. Usage: echo_client.py PORT [--host H] [...]
"""

import argparse
import asyncio
import os
import random
import socket
import sys
import threading
import time


class Failure(Exception):
    pass


async def open_connection(host, port):
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    return reader, writer


async def read_until_eof(reader, expected, label):
    """Reads until EOF, checking the bytes against `expected` as they arrive."""
    got = 0
    while True:
        data = await reader.read(1 << 16)
        if not data:
            break
        if expected[got:got + len(data)] != data:
            raise Failure(f"{label}: wrong bytes at offset {got}")
        got += len(data)
    if got != len(expected):
        raise Failure(f"{label}: the server ended after {got} of {len(expected)} bytes")
    return got


async def one_connection(host, port, index, rng, timeout):
    label = f"connection {index}"
    # Mostly small payloads, a few large ones; some empty: a bare half-close must end too.
    size = rng.choice([0, 1, rng.randint(2, 512), rng.randint(512, 64 << 10),
                       rng.randint(64 << 10, 1 << 20)])
    payload = rng.randbytes(size)
    reader, writer = await open_connection(host, port)

    async def send():
        sent = 0
        while sent < size:
            n = min(size - sent, rng.choice([1, 7, 100, 1460, 4096, 16384, 65536]))
            writer.write(payload[sent:sent + n])
            sent += n
            await writer.drain()
            if rng.random() < 0.05:
                await asyncio.sleep(rng.random() / 100)
        writer.write_eof()  # half-close: the server must echo the rest, then end too

    try:
        results = await asyncio.wait_for(
            asyncio.gather(send(), read_until_eof(reader, payload, label)), timeout)
    except asyncio.TimeoutError:
        raise Failure(f"{label}: no echo or no EOF within {timeout} s ({size} bytes)") from None
    finally:
        writer.close()
    return results[1]


async def correctness(args):
    rng = random.Random(args.seed)
    rngs = [random.Random(rng.getrandbits(64)) for _ in range(args.connections)]
    start = time.monotonic()
    outcomes = await asyncio.gather(
        *(one_connection(args.host, args.port, i, rngs[i], args.timeout)
          for i in range(args.connections)),
        return_exceptions=True)
    elapsed = time.monotonic() - start
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    total = sum(o for o in outcomes if not isinstance(o, BaseException))
    for f in failures[:10]:
        print(f"  FAIL {f}")
    print(f"correctness: {args.connections - len(failures)}/{args.connections} connections "
          f"echoed every byte and were ended by the server "
          f"({total / 1e6:.2f} MB in {elapsed:.2f} s)")
    return not failures


async def bulk(args, seconds):
    """A few connections stream 64 KiB chunks as fast as the server echoes them."""
    chunk = os.urandom(64 << 10)
    twice = chunk + chunk  # any read of <= 64 KiB at offset o equals twice[o % 64K:][:n]
    deadline = time.monotonic() + seconds

    async def stream():
        reader, writer = await open_connection(args.host, args.port)
        sent = 0

        async def send():
            nonlocal sent
            while time.monotonic() < deadline:
                writer.write(chunk)
                sent += len(chunk)
                await writer.drain()
            writer.write_eof()

        async def receive():
            got = 0
            while True:
                data = await reader.read(len(chunk))
                if not data:
                    return got
                o = got % len(chunk)
                if twice[o:o + len(data)] != data:
                    raise Failure(f"bulk: wrong bytes at offset {got}")
                got += len(data)

        try:
            _, got = await asyncio.wait_for(asyncio.gather(send(), receive()),
                                            seconds + args.timeout)
        finally:
            writer.close()
        if got != sent:
            raise Failure(f"bulk: sent {sent} bytes, got {got} back")
        return got

    start = time.monotonic()
    totals = await asyncio.gather(*(stream() for _ in range(args.bulk_connections)))
    return sum(totals), time.monotonic() - start


def ping_pong(args, seconds):
    """Connections each send a 64-byte message and wait for its echo, over and over. Plain
    blocking sockets on threads: asyncio's overhead per message would be what gets measured."""
    deadline = time.monotonic() + seconds
    trips = [0] * args.ping_connections
    errors = []

    def one(i):
        message = bytes((i + k) % 256 for k in range(64))
        buf = bytearray(len(message))
        try:
            with socket.create_connection((args.host, args.port), timeout=args.timeout) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                view = memoryview(buf)
                while time.monotonic() < deadline:
                    s.sendall(message)
                    got = 0
                    while got < len(buf):
                        n = s.recv_into(view[got:])
                        if n == 0:
                            raise Failure("ping-pong: the server ended early")
                        got += n
                    if buf != message:
                        raise Failure("ping-pong: wrong echo")
                    trips[i] += 1
                s.shutdown(socket.SHUT_WR)
                if s.recv(1) != b"":
                    raise Failure("ping-pong: data after the last echo")
        except (Failure, OSError) as e:
            errors.append(e)

    start = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(args.ping_connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return sum(trips), time.monotonic() - start


async def main(args):
    ok = await correctness(args)
    try:
        echoed, elapsed = await bulk(args, args.seconds / 2)
        print(f"throughput: {echoed / elapsed / 1e6:.1f} MB/s echoed "
              f"({args.bulk_connections} connections, {echoed / 1e6:.1f} MB in {elapsed:.2f} s)")
        trips, elapsed = await asyncio.to_thread(ping_pong, args, args.seconds / 2)
        print(f"round trips: {trips / elapsed:,.0f} per second "
              f"({args.ping_connections} connections, 64-byte messages, {trips:,} in "
              f"{elapsed:.2f} s)")
    except (Failure, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
        print(f"  FAIL throughput phase: {e!r}")
        ok = False
    print(f"echo client: {'PASS' if ok else 'FAIL'}")
    return ok


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("port", type=int)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--connections", type=int, default=50, help="phase 1 (default 50)")
    p.add_argument("--seconds", type=float, default=3.0, help="phase 2 (default 3)")
    p.add_argument("--bulk-connections", type=int, default=4)
    p.add_argument("--ping-connections", type=int, default=4)
    p.add_argument("--timeout", type=float, default=20.0, help="per connection (default 20)")
    p.add_argument("--seed", type=int, default=None, help="payloads (default: random)")
    args = p.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 32)
    print(f"echo client: {args.host}:{args.port}, seed {args.seed}")
    return args


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(main(parse())) else 1)
