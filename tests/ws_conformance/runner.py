#!/usr/bin/env python3
"""tests/ws_conformance/runner.py: runs the WebSocket conformance cases (cases.py) against an
echo server (text echoed as text, binary as binary) at HOST:PORT.

usage: runner.py HOST:PORT [-k PATTERN]... [-v] [--list] [--strict]

Python 3 standard library only: raw sockets, its own handshake, masking and framing, zlib for
permessage-deflate. One connection per case; one line per case, OK / NON-STRICT / FAILED and
the case's description (with -v, also why), then a summary line with the counts. Exit status:
1 when a case FAILED (or, with --strict, was NON-STRICT), 2 on bad usage, else 0.

What the runner holds against the server, besides each case's expectations: frames from the
server are unmasked, carry RSV1 only on the first frame of a compressed message and no other
reserved bit or opcode, control frames are short and unfragmented, text and close reasons
are UTF-8, close codes are sendable, nothing follows the server's close frame, compressed
messages inflate within the agreed window (and without the context, when the server agreed
to reset it), and the extension answer is one the offer allowed.
"""
import argparse
import base64
import errno
import fnmatch
import hashlib
import os
import re
import select
import socket
import sys
import time
import zlib
from typing import List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases as C  # noqa: E402  (beside this file)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TRAILER = b"\x00\x00\xff\xff"


class Violation(Exception):
    """The server broke the protocol."""


def mask(payload: bytes, key: bytes) -> bytes:
    """payload XOR the key repeated: one big-integer XOR, fast for megabytes."""
    if not payload:
        return b""
    n = len(payload)
    keys = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(keys, "little")).to_bytes(
        n, "little")


def encode_frame(f: C.Frame) -> bytes:
    b0 = (0x80 if f.fin else 0) | ((f.rsv & 7) << 4) | (f.opcode & 0xF)
    m = 0x80 if f.masked else 0
    n = len(f.payload)
    if f.length_field is not None:
        head = bytes([b0, m | 127]) + f.length_field.to_bytes(8, "big")
    elif f.length_form == 64 or n > 0xFFFF:
        head = bytes([b0, m | 127]) + n.to_bytes(8, "big")
    elif f.length_form == 16 or n > 125:
        head = bytes([b0, m | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, m | n])
    if not f.masked:
        return head + f.payload
    key = os.urandom(4)  # a fresh key per frame (RFC 6455 §5.3)
    return head + key + mask(f.payload, key)


def is_sendable_close_code(code: int) -> bool:
    return (1000 <= code <= 1014 and code not in (1004, 1005, 1006)) or 3000 <= code <= 4999


# ---------------------------------------------------------------------------------------------
# permessage-deflate (RFC 7692), the client's side


def parse_extensions(value: str):
    """A Sec-WebSocket-Extensions value as [(name, {param: value or True})]; lenient about
    spacing, strict about tokens and quotes."""
    token = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
    out = []
    for ext in [e for e in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", value) if e.strip()]:
        parts = [p.strip() for p in ext.split(";")]
        if not re.fullmatch(token, parts[0]):
            raise Violation(f"malformed Sec-WebSocket-Extensions: {value!r}")
        params = {}
        for p in parts[1:]:
            m = re.fullmatch(rf"({token})\s*(?:=\s*(?:({token})|\"([^\"\\]*)\"))?", p)
            if not m:
                raise Violation(f"malformed Sec-WebSocket-Extensions: {value!r}")
            name = m.group(1).lower()
            if name in params:
                raise Violation(f"parameter {name} repeated in {value!r}")
            params[name] = m.group(2) or m.group(3) or True
        out.append((parts[0].lower(), params))
    return out


class Deflate:
    """The agreed parameters, a compressor for what the client sends and a decompressor for
    what the server sends."""

    def __init__(self, offers, answer):
        p = answer
        for k in p:
            if k not in ("server_no_context_takeover", "client_no_context_takeover",
                         "server_max_window_bits", "client_max_window_bits"):
                raise Violation(f"unknown permessage-deflate parameter {k} in the answer")

        def bits(name):
            v = p.get(name)
            if v is None:
                return None
            if v is True or not re.fullmatch(r"[89]|1[0-5]", v):
                raise Violation(f"{name}={v!r} in the answer")
            return int(v)

        # The answer must fit one of the offers (RFC 7692 §7.1): what the client asked for is
        # granted, client_max_window_bits only when offered and never above the offer.
        def fits(offer):
            if "server_no_context_takeover" in offer and "server_no_context_takeover" not in p:
                return False
            sb, cb = bits("server_max_window_bits"), bits("client_max_window_bits")
            if "server_max_window_bits" in offer:
                if sb is None or sb > int(offer["server_max_window_bits"]):
                    return False
            if cb is not None:
                if "client_max_window_bits" not in offer:
                    return False
                ov = offer["client_max_window_bits"]
                if ov is not True and cb > int(ov):
                    return False
            return True

        matching = [o for o in offers if fits(o)]
        if not matching:
            raise Violation(f"the extension answer {p} fits none of the offers")
        offer = matching[0]
        self.server_reset = "server_no_context_takeover" in p
        self.client_reset = ("client_no_context_takeover" in p or
                             "client_no_context_takeover" in offer)
        self.server_bits = bits("server_max_window_bits") or 15
        cb = bits("client_max_window_bits")
        ov = offer.get("client_max_window_bits")
        self.client_bits = cb or (int(ov) if ov not in (None, True) else 15)
        if self.client_bits < 9:
            raise Violation("client_max_window_bits=8: zlib cannot compress with that window")
        self.compressor = None
        self.decompressor = None
        self.sent_compressed = self.received_compressed = 0

    def compress(self, payload: bytes) -> bytes:
        if self.compressor is None or self.client_reset:
            self.compressor = zlib.compressobj(6, zlib.DEFLATED, -self.client_bits, 8)
        out = self.compressor.compress(payload) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        self.sent_compressed += 1
        return out[:-4] if out.endswith(TRAILER) else out

    def decompress(self, data: bytes) -> bytes:
        # Exactly the agreed window: a server that uses a larger one fails here ("invalid
        # distance too far back"), as does one that keeps a context it agreed to reset.
        if self.decompressor is None or self.server_reset:
            self.decompressor = zlib.decompressobj(-self.server_bits)
        try:
            out = self.decompressor.decompress(data + TRAILER)
        except zlib.error as e:
            raise Violation(f"a compressed message does not inflate: {e}")
        self.received_compressed += 1
        return out


# ---------------------------------------------------------------------------------------------
# One connection


class Connection:
    def __init__(self, host: str, port: int, offer: Optional[str], deadline: float):
        self.deadline = deadline
        self.sock = socket.create_connection((host, port), timeout=max(0.1, deadline -
                                                                          time.monotonic()))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rbuf = bytearray()
        self.events: List[C.Event] = []
        self.server_pings = 0
        self.close_frame = None  # (code or None, reason) from the server
        self.sent_close = False
        self.eof = False
        self.write_closed = False
        self.violation: Optional[str] = None
        self.deflate: Optional[Deflate] = None
        self.deflate_declined = False
        self.held = b""
        self.out = bytearray()  # bytes queued for the socket
        self.message = None  # [opcode, compressed, bytearray] of a message being received
        self.handshake(host, port, offer)
        self.sock.setblocking(False)

    # -- handshake ------------------------------------------------------------------------
    def handshake(self, host, port, offer):
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n")
        if offer:
            req += f"Sec-WebSocket-Extensions: {offer}\r\n"
        self.sock.sendall((req + "\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Violation("the server closed the connection during the handshake")
            data += chunk
            if len(data) > 65536:
                raise Violation("a handshake response head over 64 KiB")
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if not re.fullmatch(r"HTTP/1\.1 101( .*)?", lines[0]):
            raise Violation(f"handshake answered {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise Violation(f"malformed response header {line!r}")
            name = name.strip().lower()
            headers[name] = (headers[name] + ", " if name in headers else "") + value.strip()
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        if headers.get("upgrade", "").lower() != "websocket":
            raise Violation("no 'Upgrade: websocket' in the 101")
        if "upgrade" not in [t.strip().lower() for t in headers.get("connection", "").split(",")]:
            raise Violation("no 'Connection: Upgrade' in the 101")
        if headers.get("sec-websocket-accept") != accept:
            raise Violation(f"Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}, "
                            f"expected {accept!r}")
        answer = parse_extensions(headers.get("sec-websocket-extensions", ""))
        if answer:
            offers = [p for n, p in parse_extensions(offer or "") if n == "permessage-deflate"]
            if len(answer) != 1 or answer[0][0] != "permessage-deflate" or not offers:
                raise Violation(f"extensions answered that were not offered: {answer}")
            self.deflate = Deflate(offers, answer[0][1])
        elif offer:
            self.deflate_declined = True
        self.rbuf += rest
        self.parse()

    # -- reading --------------------------------------------------------------------------
    def fail(self, why: str):
        if self.violation is None:
            self.violation = why
        raise Violation(why)

    def parse(self):
        """Takes every complete frame out of rbuf."""
        buf = self.rbuf
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n, at = b1 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, at = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, at = int.from_bytes(buf[2:10], "big"), 10
                if n >> 63:
                    self.fail("a 64-bit length with its top bit set")
            if b1 & 0x80:
                self.fail("a masked frame from the server")
            if len(buf) < at + n:
                return
            payload = bytes(buf[at:at + n])
            del buf[:at + n]
            self.frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, payload)

    def frame(self, fin, rsv, op, payload):
        if self.close_frame is not None:
            self.fail("a frame after the server's close frame")
        if rsv & 3:
            self.fail(f"RSV2/RSV3 set on a frame from the server (opcode {op})")
        if op >= 8:
            if op > 0xA:
                self.fail(f"reserved opcode {op} from the server")
            if not fin or rsv or len(payload) > 125:
                self.fail("a fragmented, RSV1 or over-long control frame from the server")
            if op == C.PING:
                self.server_pings += 1
                if not self.sent_close:
                    self.out += encode_frame(C.Frame(C.PONG, payload))
            elif op == C.PONG:
                self.events.append(("pong", payload))
            else:
                self.on_close(payload)
            return
        if op in (C.TEXT, C.BINARY):
            if self.message is not None:
                self.fail("a new data frame inside a fragmented message from the server")
            if rsv and self.deflate is None:
                self.fail("RSV1 without permessage-deflate")
            self.message = [op, bool(rsv), bytearray()]
        elif op == C.CONT:
            if self.message is None:
                self.fail("a continuation frame with no message started")
            if rsv:
                self.fail("RSV1 on a continuation frame")
        else:
            self.fail(f"reserved opcode {op} from the server")
        self.message[2] += payload
        if not fin:
            return
        mop, compressed, data = self.message
        self.message = None
        data = bytes(data)
        if compressed:
            try:
                data = self.deflate.decompress(data)
            except Violation as e:
                self.fail(str(e))
        if mop == C.TEXT:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                self.fail("a text message from the server that is not UTF-8")
        self.events.append(("text" if mop == C.TEXT else "binary", data))

    def on_close(self, payload):
        if len(payload) == 1:
            self.fail("a close frame with a 1-byte payload")
        code = None
        if payload:
            code = int.from_bytes(payload[:2], "big")
            if not is_sendable_close_code(code):
                self.fail(f"close code {code} from the server")
            try:
                payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                self.fail("a close reason that is not UTF-8")
        self.close_frame = (code, payload[2:])
        if not self.sent_close:  # answer it, as a client does (RFC 6455 §5.5.1)
            self.out += encode_frame(C.close_frame(code))
            self.sent_close = True

    def pump(self, timeout: float):
        """Waits up to timeout for the socket, then writes queued bytes and reads what came."""
        want_write = bool(self.out) and not self.write_closed
        if self.eof and not want_write:
            return
        r, w, _ = select.select([] if self.eof else [self.sock],
                                [self.sock] if want_write else [], [], max(0.0, timeout))
        if w:
            try:
                del self.out[:self.sock.send(self.out)]
            except BlockingIOError:
                pass
            except OSError:  # EPIPE, ECONNRESET: the server is gone
                self.write_closed = True
        if r:
            try:
                chunk = self.sock.recv(1 << 20)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.eof = True
                return
            self.rbuf += chunk
            try:
                self.parse()
            except Violation:
                pass  # kept in self.violation; the case is over

    def write(self, data: bytes):
        """Queues data and waits until it is written, reading meanwhile (the server's echoes
        must not block it)."""
        self.out += data
        while self.out and not self.write_closed:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("write timed out")
            self.pump(left)

    def wait(self, seconds: float, until=None):
        """Reads for seconds (not past the deadline), or until until() or the end."""
        end = min(time.monotonic() + seconds, self.deadline)
        while self.violation is None and not (until and until()):
            if self.eof and (not self.out or self.write_closed):
                break
            left = end - time.monotonic()
            if left <= 0:
                break
            self.pump(left)

    def ended(self) -> bool:
        return self.eof or self.close_frame is not None or self.violation is not None

    # -- writing --------------------------------------------------------------------------
    def send(self, frames, chop, pause, hold):
        pieces = []
        for f in frames:
            if f.opcode == C.CLOSE:
                self.sent_close = True
            pieces.append(encode_frame(f))
        data = self.held + b"".join(pieces)
        self.held = b""
        if hold:
            data, self.held = data[:-hold], data[-hold:]
        if chop == 0:
            chunks = pieces
        elif chop:
            chunks = [data[i:i + chop] for i in range(0, len(data), chop)]
        else:
            chunks = [data]
        for i, c in enumerate(chunks):
            if self.write_closed:
                return
            self.write(c)
            if pause and i + 1 < len(chunks):
                self.wait(pause)

    def release(self, hold):
        data, self.held = (self.held[:-hold], self.held[-hold:]) if hold else (self.held, b"")
        self.write(data)

    def send_message(self, m: C.Message):
        payload, rsv = m.payload, 0
        if self.deflate and m.compress:
            payload, rsv = self.deflate.compress(payload), 4
        op = C.BINARY if m.binary else C.TEXT
        frames = C.fragments(op, payload, m.fragment) if m.fragment else [C.Frame(op, payload)]
        frames[0].rsv = rsv
        self.write(b"".join(encode_frame(f) for f in frames))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# One case


def show(events) -> str:
    def one(kind, data):
        if len(data) <= 24:
            return f"{kind}({data!r})"
        return f"{kind}({len(data)} B: {data[:12]!r}...)"
    more = f", ... {len(events)} in all" if len(events) > 6 else ""
    return "[" + ", ".join(one(k, d) for k, d in events[:6]) + more + "]"


def run_case(case: C.Case, host: str, port: int, close_wait: float, answer_wait: float):
    """Returns (verdict, why, info)."""
    deadline = time.monotonic() + case.timeout
    answer_wait = min(answer_wait, case.timeout) if answer_wait else case.timeout
    try:
        conn = Connection(host, port, case.offer, deadline)
    except Violation as e:
        return "FAILED", f"handshake: {e}", ""
    except OSError as e:
        return "FAILED", f"connect: {e}", ""
    notes = []
    try:
        for step in case.steps:
            if conn.violation:
                break
            if isinstance(step, C.Send):
                conn.send(step.frames, step.chop, step.pause, step.hold)
            elif isinstance(step, C.Release):
                conn.release(step.hold)
            elif isinstance(step, C.Message):
                conn.send_message(step)
            elif isinstance(step, C.RoundTrips):
                for m in step.messages:
                    have = len(conn.events)
                    conn.send_message(m)
                    conn.wait(answer_wait, lambda: len(conn.events) > have or conn.ended())
                    if conn.ended() or len(conn.events) <= have:
                        break
            elif isinstance(step, C.Pause):
                conn.wait(step.seconds)
            elif isinstance(step, C.Checkpoint):
                if step.closed and not conn.ended():
                    notes.append(step.why)
                if step.closed and conn.ended():
                    break  # failed in time: the rest would go nowhere
                if step.events and len(conn.events) < step.events:
                    notes.append(step.why)
        # The answers, then the close.
        if isinstance(case.close, C.Clean):
            conn.wait(answer_wait, lambda: len(conn.events) >= len(case.expect) or conn.ended())
            if not conn.ended():
                conn.wait(0.05)  # anything unexpected right behind the expected answers
            if not conn.sent_close and not conn.ended():
                conn.send([C.close_frame(1000)], None, 0, 0)
            conn.wait(case.timeout, lambda: conn.close_frame is not None)
        else:
            conn.wait(case.timeout, lambda: conn.eof)
        if conn.close_frame is not None and not conn.eof and not conn.violation:
            conn.wait(close_wait, lambda: conn.eof)
            if not conn.eof:
                notes.append("the server did not close TCP after the close handshake")
    except TimeoutError:
        pass
    finally:
        conn.close()

    info = ""
    if conn.deflate:
        d = conn.deflate
        sr, cr = (", reset" if d.server_reset else ""), (", reset" if d.client_reset else "")
        info = (f"deflate agreed (server window {d.server_bits}{sr}, client window "
                f"{d.client_bits}{cr}); "
                f"{d.sent_compressed} messages sent compressed, "
                f"{d.received_compressed} received compressed")
    verdict, why = judge(case, conn, notes)
    return verdict, why, info


def judge(case: C.Case, conn: Connection, notes: List[str]):
    if conn.violation:
        return "FAILED", f"server: {conn.violation}"
    events = conn.events
    verdict = "OK"
    if events != case.expect:
        if events in case.non_strict or (case.non_strict_if and case.non_strict_if(events)):
            verdict = "NON-STRICT"
            notes.append(f"got {show(events)}, expected {show(case.expect)}")
        else:
            return "FAILED", f"got {show(events)}, expected {show(case.expect)}"
    code = conn.close_frame[0] if conn.close_frame else None
    if isinstance(case.close, C.Clean):
        if conn.close_frame is None:
            return "FAILED", ("closed TCP without a close frame" if conn.eof else
                              "no close frame within the timeout")
        if code not in case.close.codes:
            return "FAILED", f"close code {code}, expected one of {case.close.codes}"
        if case.offer and conn.deflate_declined:
            notes.append("the server declined permessage-deflate")
    else:
        if not conn.eof and conn.close_frame is None:
            return "FAILED", "the connection was not failed within the timeout"
        if conn.close_frame is not None and code not in case.close.codes:
            return "FAILED", f"failed with close code {code}, expected one of {case.close.codes}"
    if notes and verdict == "OK":
        verdict = "NON-STRICT"
    return verdict, "; ".join(notes)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("target", nargs="?", help="HOST:PORT of a WebSocket echo server")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="run only the cases whose id matches this glob (e.g. '6.4.*')")
    ap.add_argument("-v", "--verbose", action="store_true", help="say why for every case")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--strict", action="store_true", help="NON-STRICT counts as a failure")
    ap.add_argument("--close-wait", type=float, default=2.0,
                    help="seconds the server has to close TCP after the close handshake")
    ap.add_argument("--wait", type=float, default=0,
                    help="seconds to wait for the expected answers (default: the case's "
                    "timeout, 10 s or 60 s)")
    args = ap.parse_args()
    selected = [c for c in C.CASES
                if not args.patterns or any(fnmatch.fnmatchcase(c.id, p) for p in args.patterns)]
    if args.list:
        for c in selected:
            print(f"{c.id:<9} {c.desc}")
        return 0
    m = re.fullmatch(r"(.+):(\d+)", args.target or "")
    if not m:
        ap.print_usage(sys.stderr)
        return 2
    host, port = m.group(1).strip("[]"), int(m.group(2))
    counts = {"OK": 0, "NON-STRICT": 0, "FAILED": 0}
    started = time.monotonic()
    for c in selected:
        verdict, why, info = run_case(c, host, port, args.close_wait, args.wait)
        counts[verdict] += 1
        line = f"{c.id:<9} {verdict:<10} {c.desc}"
        for text in (why if verdict != "OK" or args.verbose else "", info if args.verbose else ""):
            if text:
                line += f"\n{'':20}{text}"
        print(line, flush=True)
    bad = counts["FAILED"] + (counts["NON-STRICT"] if args.strict else 0)
    print(f"ws_conformance {args.target}: {len(selected)} cases, {counts['OK']} OK, "
          f"{counts['NON-STRICT']} NON-STRICT, {counts['FAILED']} FAILED "
          f"({time.monotonic() - started:.1f} s)")
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as e:
        if e.errno == errno.EPIPE:
            sys.exit(1)
        raise
