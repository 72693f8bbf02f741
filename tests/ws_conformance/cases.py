"""tests/ws_conformance/cases.py: the table of WebSocket conformance cases.

Written from the public descriptions of the Autobahn|Testsuite case groups (what each group
checks and what it expects), not from its code; ids follow its numbering where a case has a
counterpart there, and the cases netco adds are marked "(extra)" in their descriptions.

A case is what the client sends (steps) and what the server must answer:
  steps      Send (frames in one write, or chopped into pieces; Release writes what a Send
             held back), Message (a data message,
             compressed when permessage-deflate was agreed), RoundTrips (messages one at a
             time, each echo awaited), Pause, and Checkpoint (a SHOULD: by now the server has
             failed the connection, or sent so many events; NON-STRICT otherwise)
  expect     the text/binary/pong events the server sends, in order
  close      Clean(codes): the client closes (unless a step sent a close) and the server must
             answer with one of codes (None: a close frame without a code); Fail(codes): the
             server must fail the connection: a close frame with one of codes, or just the TCP
             connection closed
  non_strict alternatives to expect that are still conformant (NON-STRICT), e.g. closing
             without first echoing a valid message that came before the bad frame
  offer      the Sec-WebSocket-Extensions the client sends (permessage-deflate cases)
"""
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple, Union

TEXT, BINARY, CLOSE, PING, PONG, CONT = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


@dataclass
class Frame:
    """One frame as the client writes it; rsv is the 3-bit field (4: RSV1, 2: RSV2, 1: RSV3)."""
    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv: int = 0
    masked: bool = True
    length_form: Optional[int] = None  # force a 16- or 64-bit length field (non-minimal)
    length_field: Optional[int] = None  # put this in the 64-bit length field instead


@dataclass
class Send:
    """Frames written together, or in pieces of chop bytes (0: one write per frame), with a
    pause between pieces; the last `hold` bytes are kept back for a Release."""
    frames: Sequence[Frame]
    chop: Optional[int] = None
    pause: float = 0.0
    hold: int = 0


@dataclass
class Release:
    """Writes the bytes a Send held back, but for the last `hold` of them."""
    hold: int = 0


@dataclass
class Message:
    """A data message in frames of fragment bytes (None: one frame), compressed when the
    handshake agreed permessage-deflate (and compress is set)."""
    payload: bytes
    binary: bool = False
    fragment: Optional[int] = None
    compress: bool = True


@dataclass
class RoundTrips:
    """Messages sent one at a time, each echo awaited before the next."""
    messages: Sequence[Message]


@dataclass
class Pause:
    seconds: float


@dataclass
class Checkpoint:
    """A SHOULD: by now the server has failed the connection (closed=True), or has sent at
    least `events` events. When it has not, the case is at best NON-STRICT."""
    closed: bool = False
    events: int = 0
    why: str = ""


Step = Union[Send, Release, Message, RoundTrips, Pause, Checkpoint]
Event = Tuple[str, bytes]  # ("text" | "binary" | "pong", payload)


@dataclass
class Clean:
    codes: Tuple[Optional[int], ...] = (1000,)


@dataclass
class Fail:
    codes: Tuple[Optional[int], ...] = (1002,)


@dataclass
class Case:
    id: str
    desc: str
    steps: List[Step]
    expect: List[Event] = field(default_factory=list)
    close: Union[Clean, Fail] = field(default_factory=Clean)
    non_strict: List[List[Event]] = field(default_factory=list)
    offer: Optional[str] = None
    timeout: float = 10.0
    # Also NON-STRICT: any received events for which this returns true.
    non_strict_if: Optional[Callable[[List[Event]], bool]] = None


def text(s) -> Event:
    return ("text", s.encode() if isinstance(s, str) else s)


def binary(b: bytes) -> Event:
    return ("binary", b)


def pong(b) -> Event:
    return ("pong", b.encode() if isinstance(b, str) else b)


def close_frame(code: Optional[int] = None, reason: bytes = b"", **kw) -> Frame:
    payload = b"" if code is None else code.to_bytes(2, "big") + reason
    return Frame(CLOSE, payload, **kw)


def pattern(n: int) -> bytes:
    """n binary bytes of a fixed, non-repeating-looking pattern."""
    block = bytes((i * 167 + 13) & 0xFF for i in range(4099))
    return (block * (n // len(block) + 1))[:n]


def stars(n: int) -> bytes:
    return b"*" * n


def fragments(op: int, payload: bytes, size: int) -> List[Frame]:
    """payload as a fragmented message of frames of size bytes (at least one frame)."""
    parts = [payload[i:i + size] for i in range(0, len(payload), size)] or [b""]
    return [Frame(op if i == 0 else CONT, p, fin=i == len(parts) - 1) for i, p in enumerate(parts)]


CASES: List[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


# ---------------------------------------------------------------------------------------------
# 1 Framing: text and binary messages across the 7-, 16- and 64-bit length boundaries.

for g, op, kind, make in ((1, TEXT, "text", stars), (2, BINARY, "binary", pattern)):
    sizes = [0, 125, 126, 127, 128, 65535, 65536]
    for i, n in enumerate(sizes, 1):
        add(Case(f"1.{g}.{i}", f"{kind.capitalize()} message, payload length {n}",
                 [Send([Frame(op, make(n))])], [(kind, make(n))]))
    add(Case(f"1.{g}.8", f"{kind.capitalize()} message, payload length 65536, written in "
             "chops of 997 bytes", [Send([Frame(op, make(65536))], chop=997)],
             [(kind, make(65536))]))

add(
    Case("1.3.1", "(extra) Text message 'Hello' with a 16-bit length field (non-minimal "
         "lengths are allowed)", [Send([Frame(TEXT, b"Hello", length_form=16)])],
         [text("Hello")]),
    Case("1.3.2", "(extra) Text message 'Hello' with a 64-bit length field",
         [Send([Frame(TEXT, b"Hello", length_form=64)])], [text("Hello")]),
    Case("1.3.3", "(extra) Binary frame whose 64-bit length has its most significant bit set",
         [Send([Frame(BINARY, b"x" * 16, length_field=(1 << 63) | 16)])],
         close=Fail((1002, 1009))),
    Case("1.3.4", "(extra) Unmasked text frame from the client (a server must refuse it)",
         [Send([Frame(TEXT, b"Hello", masked=False)])], close=Fail()),
)

# ---------------------------------------------------------------------------------------------
# 2 Pings and pongs.

ten_pings = [Frame(PING, f"payload-{i}".encode()) for i in range(10)]


def answers_last_ping(events: List[Event]) -> bool:
    """RFC 6455 §5.5.3 allows answering only the latest of several pings: the pongs must be
    in order, distinct, and end with the last ping's payload."""
    wanted = [f.payload for f in ten_pings]
    got = [p for k, p in events if k == "pong"]
    if not got or len(got) != len(events) or got[-1] != wanted[-1]:
        return False
    idx = [wanted.index(p) if p in wanted else -1 for p in got]
    return -1 not in idx and idx == sorted(set(idx))


add(
    Case("2.1", "Ping without payload", [Send([Frame(PING)])], [pong(b"")]),
    Case("2.2", "Ping with a small text payload", [Send([Frame(PING, b"Hello, world!")])],
         [pong("Hello, world!")]),
    Case("2.3", "Ping with a small binary payload",
         [Send([Frame(PING, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")])],
         [pong(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")]),
    Case("2.4", "Ping with a binary payload of 125 bytes", [Send([Frame(PING, pattern(125))])],
         [pong(pattern(125))]),
    Case("2.5", "Ping with a binary payload of 126 bytes (over the control frame limit)",
         [Send([Frame(PING, pattern(126))])], close=Fail()),
    Case("2.6", "Ping with a payload of 125 bytes, written byte by byte",
         [Send([Frame(PING, pattern(125))], chop=1)], [pong(pattern(125))]),
    Case("2.7", "Unsolicited pong without payload (no answer)", [Send([Frame(PONG)])]),
    Case("2.8", "Unsolicited pong with payload (no answer)",
         [Send([Frame(PONG, b"unsolicited pong payload")])]),
    Case("2.9", "Unsolicited pong, then a ping: one pong, for the ping",
         [Send([Frame(PONG, b"unsolicited pong payload"), Frame(PING, b"ping payload")])],
         [pong("ping payload")]),
    Case("2.10", "Ten pings in one write: ten pongs, in order (answering only the last is "
         "NON-STRICT)", [Send(ten_pings)], [pong(f.payload) for f in ten_pings],
         non_strict_if=answers_last_ping),
    Case("2.11", "Ten pings written byte by byte: ten pongs, in order",
         [Send(ten_pings, chop=1)], [pong(f.payload) for f in ten_pings],
         non_strict_if=answers_last_ping),
)

# ---------------------------------------------------------------------------------------------
# 3 Reserved bits (no extension negotiated): the connection fails; a valid message sent
# before the bad frame should be echoed first.

hello = Frame(TEXT, b"Hello")
add(
    Case("3.1", "Text frame with RSV = 1", [Send([Frame(TEXT, b"Hello", rsv=1)])], close=Fail()),
    Case("3.2", "Text message, then a text frame with RSV = 2, then a ping",
         [Send([hello]), Send([Frame(TEXT, b"Hello", rsv=2)]), Send([Frame(PING, b"ping")])],
         [text("Hello")], Fail(), non_strict=[[]]),
    Case("3.3", "Text message, then a text frame with RSV = 3, then a ping, frame by frame",
         [Send([hello, Frame(TEXT, b"Hello", rsv=3), Frame(PING, b"ping")], chop=0)],
         [text("Hello")], Fail(), non_strict=[[]]),
    Case("3.4", "Text message, then a text frame with RSV = 4, then a ping, byte by byte",
         [Send([hello, Frame(TEXT, b"Hello", rsv=4), Frame(PING, b"ping")], chop=1)],
         [text("Hello")], Fail(), non_strict=[[]]),
    Case("3.5", "Binary frame with RSV = 5", [Send([Frame(BINARY, pattern(8), rsv=5)])],
         close=Fail()),
    Case("3.6", "Ping with RSV = 6", [Send([Frame(PING, b"ping", rsv=6)])], close=Fail()),
    Case("3.7", "Close with RSV = 7", [Send([close_frame(1000, rsv=7)])], close=Fail()),
)

# ---------------------------------------------------------------------------------------------
# 4 Opcodes: reserved data (3-7) and control (11-15) opcodes fail the connection.

for g, ops in ((1, [3, 4, 5, 6, 7]), (2, [11, 12, 13, 14, 15])):
    kind = "non-control" if g == 1 else "control"
    a, b, c, d, e = ops
    add(
        Case(f"4.{g}.1", f"Frame with reserved {kind} opcode {a}", [Send([Frame(a)])],
             close=Fail()),
        Case(f"4.{g}.2", f"Frame with reserved {kind} opcode {b} and a payload",
             [Send([Frame(b, b"reserved opcode payload")])], close=Fail()),
        Case(f"4.{g}.3", f"Text message, then reserved {kind} opcode {c}, then a ping",
             [Send([hello]), Send([Frame(c)]), Send([Frame(PING, b"ping")])],
             [text("Hello")], Fail(), non_strict=[[]]),
        Case(f"4.{g}.4", f"Text message, then reserved {kind} opcode {d} with a payload, then "
             "a ping, frame by frame",
             [Send([hello, Frame(d, b"reserved opcode payload"), Frame(PING, b"ping")], chop=0)],
             [text("Hello")], Fail(), non_strict=[[]]),
        Case(f"4.{g}.5", f"Text message, then reserved {kind} opcode {e} with a payload, then "
             "a ping, byte by byte",
             [Send([hello, Frame(e, b"reserved opcode payload"), Frame(PING, b"ping")], chop=1)],
             [text("Hello")], Fail(), non_strict=[[]]),
    )

# ---------------------------------------------------------------------------------------------
# 5 Fragmentation.

two = [Frame(TEXT, b"fragment1", fin=False), Frame(CONT, b"fragment2")]
with_ping = [two[0], Frame(PING, b"ping payload"), two[1]]
stray_fin = [Frame(CONT, b"non-continuation payload"), Frame(TEXT, b"Hello, world!")]
stray_nofin = [Frame(CONT, b"non-continuation payload", fin=False),
               Frame(TEXT, b"Hello, world!")]
add(
    Case("5.1", "Ping in 2 fragments", [Send([Frame(PING, b"fragment1", fin=False),
                                              Frame(CONT, b"fragment2")])], close=Fail()),
    Case("5.2", "Pong in 2 fragments", [Send([Frame(PONG, b"fragment1", fin=False),
                                              Frame(CONT, b"fragment2")])], close=Fail()),
    Case("5.3", "Text message in 2 fragments", [Send(two)], [text("fragment1fragment2")]),
    Case("5.4", "Text message in 2 fragments, byte by byte", [Send(two, chop=1)],
         [text("fragment1fragment2")]),
    Case("5.5", "Text message in 2 fragments, frame by frame with pauses",
         [Send(two, chop=0, pause=0.1)], [text("fragment1fragment2")]),
    Case("5.6", "Text message in 2 fragments with a ping between them", [Send(with_ping)],
         [pong("ping payload"), text("fragment1fragment2")]),
    Case("5.7", "Text message in 2 fragments with a ping between them, byte by byte",
         [Send(with_ping, chop=1)], [pong("ping payload"), text("fragment1fragment2")]),
    Case("5.8", "Text message in 2 fragments with a ping between them, frame by frame with "
         "pauses", [Send(with_ping, chop=0, pause=0.1)],
         [pong("ping payload"), text("fragment1fragment2")]),
    Case("5.9", "Continuation (FIN set) with nothing to continue, then a text message",
         [Send(stray_fin)], close=Fail()),
    Case("5.10", "As 5.9, frame by frame", [Send(stray_fin, chop=0)], close=Fail()),
    Case("5.11", "As 5.9, byte by byte", [Send(stray_fin, chop=1)], close=Fail()),
    Case("5.12", "Continuation (FIN clear) with nothing to continue, then a text message",
         [Send(stray_nofin)], close=Fail()),
    Case("5.13", "As 5.12, frame by frame", [Send(stray_nofin, chop=0)], close=Fail()),
    Case("5.14", "As 5.12, byte by byte", [Send(stray_nofin, chop=1)], close=Fail()),
    Case("5.15", "Text message in 2 fragments, then a continuation (FIN clear) with nothing "
         "to continue, then a text fragment",
         [Send(two + [Frame(CONT, b"fragment3", fin=False), Frame(TEXT, b"fragment4")])],
         [text("fragment1fragment2")], Fail(), non_strict=[[]]),
    Case("5.16", "Twice: a continuation (FIN clear) with nothing to continue, then a text "
         "message in 2 fragments", [Send((stray_nofin[:1] + two) * 2)], close=Fail()),
    Case("5.17", "Twice: a continuation (FIN set) with nothing to continue, then a text "
         "message in 2 fragments", [Send((stray_fin[:1] + two) * 2)], close=Fail()),
    Case("5.18", "Text message in 2 fragments, both with opcode text",
         [Send([Frame(TEXT, b"fragment1", fin=False), Frame(TEXT, b"fragment2")])],
         close=Fail()),
)
five = [Frame(TEXT, b"fragment1", fin=False)] + [
    Frame(CONT, f"fragment{i}".encode(), fin=i == 5) for i in range(2, 6)]
for cid, chop, how in (("5.19", None, ""), ("5.20", 0, ", frame by frame")):
    add(Case(cid, "Text message in 5 fragments: after the first 2 a ping, a pause, 2 more, a "
             f"ping, a pause, the last; each pong comes at once{how}",
             [Send(five[:2] + [Frame(PING, b"pongme 1!")], chop=chop), Pause(0.5),
              Checkpoint(events=1, why="the first pong only came later"),
              Send(five[2:4] + [Frame(PING, b"pongme 2!")], chop=chop), Pause(0.5),
              Checkpoint(events=2, why="the second pong only came later"),
              Send(five[4:], chop=chop)],
             [pong("pongme 1!"), pong("pongme 2!"),
              text("fragment1fragment2fragment3fragment4fragment5")]))

# ---------------------------------------------------------------------------------------------
# 6 UTF-8.

kosme = "κόσμε".encode()  # ce ba e1 bd b9 cf 83 ce bc ce b5
mixed = "Hello-µ@ßöäüàá-UTF-8!!".encode()
add(
    Case("6.1.1", "Text message of length 0", [Send([Frame(TEXT)])], [text(b"")]),
    Case("6.1.2", "Text message of 3 empty fragments",
         [Send([Frame(TEXT, fin=False), Frame(CONT, fin=False), Frame(CONT)])], [text(b"")]),
    Case("6.1.3", "Text message of fragments: empty, 'middle', empty",
         [Send([Frame(TEXT, fin=False), Frame(CONT, b"middle", fin=False), Frame(CONT)])],
         [text("middle")]),
    Case("6.2.1", "Valid UTF-8 text with multi-byte characters in one frame",
         [Send([Frame(TEXT, mixed)])], [text(mixed)]),
    Case("6.2.2", "Valid UTF-8 text in 2 fragments split on a code point boundary",
         [Send([Frame(TEXT, mixed[:12], fin=False), Frame(CONT, mixed[12:])])], [text(mixed)]),
    Case("6.2.3", "Valid UTF-8 text in fragments of 1 byte (splits inside code points)",
         [Send(fragments(TEXT, mixed, 1))], [text(mixed)]),
    Case("6.2.4", "Valid UTF-8 'κόσμε' in fragments of 1 byte",
         [Send(fragments(TEXT, kosme, 1))], [text(kosme)]),
    Case("6.2.5", "(extra) Valid 4-byte characters split inside the code point across 2 "
         "fragments", [Send([Frame(TEXT, "a😀".encode()[:3], fin=False),
                            Frame(CONT, "a😀".encode()[3:] + "😀b".encode())])],
         [text("a😀😀b")]),
)
bad = kosme + b"\xed\xa0\x80" + b"edited"  # a surrogate in the middle
add(
    Case("6.3.1", "Invalid UTF-8 (a surrogate) in one frame", [Send([Frame(TEXT, bad)])],
         close=Fail((1007,))),
    Case("6.3.2", "Invalid UTF-8 (a surrogate) in fragments of 1 byte",
         [Send(fragments(TEXT, bad, 1))], close=Fail((1007,))),
)
# 6.4: fail fast. The part that makes the sequence invalid is sent, then a pause: the server
# should have failed the connection by then, before the rest of the message arrives.
for cid, parts in (("6.4.1", (kosme, b"\xf4\x90\x80\x80", b"edited")),
                   ("6.4.2", (kosme + b"\xf4", b"\x90", b"\x80\x80edited"))):
    add(Case(cid, "Invalid UTF-8 in 3 fragments: a valid one, a pause, the one that breaks it "
             "(fail fast: before the rest), a pause, the rest",
             [Send([Frame(TEXT, parts[0], fin=False)]), Pause(0.5),
              Send([Frame(CONT, parts[1], fin=False)]), Pause(0.5),
              Checkpoint(closed=True, why="not failed before the message was finished"),
              Send([Frame(CONT, parts[2])])],
             close=Fail((1007,))))
for cid, parts in (("6.4.3", (kosme, b"\xf4\x90\x80\x80", b"edited")),
                   ("6.4.4", (kosme + b"\xf4", b"\x90", b"\x80\x80edited"))):
    whole = b"".join(parts)
    add(Case(cid, "Invalid UTF-8 in one frame written in 3 pieces: the valid start, a pause, "
             "the bytes that break it (fail fast: mid-frame), a pause, the rest",
             [Send([Frame(TEXT, whole)], hold=len(parts[1] + parts[2])), Pause(0.5),
              Release(hold=len(parts[2])), Pause(0.5),
              Checkpoint(closed=True, why="not failed before the frame was finished"),
              Release()],
             close=Fail((1007,))))

# 6.5-6.23: single-frame messages from Markus Kuhn's UTF-8 stress test and the RFC 3629
# boundaries; valid ones are echoed, invalid ones fail the connection with 1007.
UTF8_GROUPS = [
    ("6.5", "valid UTF-8", True, [kosme, b"\xce\xba", b"\xe1\xbd\xb9", b"\xf0\x9f\x98\x80",
                                  b"\xe2\x82\xac\xf0\x90\x8d\x88"]),
    ("6.6", "prefixes of 'κόσμε'", None, [kosme[:i] for i in range(1, len(kosme) + 1)]),
    ("6.7", "the first code point of each length", True,
     [b"\x00", b"\xc2\x80", b"\xe0\xa0\x80", b"\xf0\x90\x80\x80"]),
    ("6.8", "5- and 6-byte forms (not UTF-8)", False,
     [b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"]),
    ("6.9", "the last code point of each length", True,
     [b"\x7f", b"\xdf\xbf", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf"]),
    ("6.10", "past the last code point", False,
     [b"\xf7\xbf\xbf\xbf", b"\xfb\xbf\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf\xbf"]),
    ("6.11", "other boundaries", None,
     [b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xef\xbf\xbd", b"\xf4\x8f\xbf\xbf",
      b"\xf4\x90\x80\x80"]),
    ("6.12", "unexpected continuation bytes", False,
     [b"\x80", b"\xbf", b"\x80\xbf", b"\x80\xbf\x80", b"\x80\xbf\x80\xbf",
      b"\x80\xbf\x80\xbf\x80", b"\x80\xbf\x80\xbf\x80\xbf", bytes(range(0x80, 0xc0))]),
    ("6.13", "lonely start bytes, each followed by a space", False,
     [b"".join(bytes([c]) + b" " for c in range(lo, hi))
      for lo, hi in ((0xc0, 0xe0), (0xe0, 0xf0), (0xf0, 0xf8), (0xf8, 0xfc), (0xfc, 0xfe))]),
    ("6.14", "sequences with their last byte missing", False,
     [b"\xc0", b"\xe0\x80", b"\xf0\x80\x80", b"\xf8\x80\x80\x80", b"\xfc\x80\x80\x80\x80",
      b"\xdf", b"\xef\xbf", b"\xf7\xbf\xbf", b"\xfb\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf"]),
    ("6.15", "the truncated sequences concatenated", False,
     [b"\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf\xf7\xbf\xbf"
      b"\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf"]),
    ("6.16", "impossible bytes", False, [b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"]),
    ("6.17", "overlong '/'", False,
     [b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xf8\x80\x80\x80\xaf",
      b"\xfc\x80\x80\x80\x80\xaf"]),
    ("6.18", "the largest overlong forms", False,
     [b"\xc1\xbf", b"\xe0\x9f\xbf", b"\xf0\x8f\xbf\xbf", b"\xf8\x87\xbf\xbf\xbf",
      b"\xfc\x83\xbf\xbf\xbf\xbf"]),
    ("6.19", "overlong NUL", False,
     [b"\xc0\x80", b"\xe0\x80\x80", b"\xf0\x80\x80\x80", b"\xf8\x80\x80\x80\x80",
      b"\xfc\x80\x80\x80\x80\x80"]),
    ("6.20", "single UTF-16 surrogates", False,
     [b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf", b"\xed\xb0\x80",
      b"\xed\xbe\x80", b"\xed\xbf\xbf"]),
    ("6.21", "paired UTF-16 surrogates", False,
     [hi + lo for hi in (b"\xed\xa0\x80", b"\xed\xaf\xbf") for lo in
      (b"\xed\xb0\x80", b"\xed\xbf\xbf")] +
     [b"\xed\xad\xbf\xed\xb0\x80", b"\xed\xad\xbf\xed\xbf\xbf", b"\xed\xae\x80\xed\xb0\x80",
      b"\xed\xae\x80\xed\xbf\xbf"]),
    ("6.22", "noncharacters (valid UTF-8)", True,
     [b"\xef\xbf\xbe", b"\xef\xbf\xbf", b"\xef\xb7\x90", b"\xef\xb7\xaf"] +
     [chr(plane * 0x10000 + low).encode() for plane in range(1, 17) for low in (0xfffe, 0xffff)]),
    ("6.23", "replacement characters and BOMs (valid UTF-8)", True,
     [b"\xef\xbf\xbd", b"\xef\xbf\xbd" * 10, b"\xef\xbb\xbf", b"\xef\xbb\xbfabc",
      b"a\xef\xbf\xbdb", "\ufffd\ufeff\u2028\u2029".encode(), b"\xf0\x9f\x92\xa9" * 8]),
]


def is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")  # strict: overlongs, surrogates and > U+10FFFF are errors
        return True
    except UnicodeDecodeError:
        return False


for gid, what, valid, vectors in UTF8_GROUPS:
    for i, v in enumerate(vectors, 1):
        ok = is_utf8(v)
        assert valid is None or ok == valid, (gid, i, v)
        desc = f"{'Valid' if ok else 'Invalid'} UTF-8, {what}: {v[:24].hex(' ')}"
        if ok:
            add(Case(f"{gid}.{i}", desc, [Send([Frame(TEXT, v)])], [text(v)]))
        else:
            add(Case(f"{gid}.{i}", desc, [Send([Frame(TEXT, v)])], close=Fail((1007,))))

# ---------------------------------------------------------------------------------------------
# 7 Closing.

add(
    Case("7.1.1", "Text message, then a close: the echo, then the close",
         [Send([Frame(TEXT, b"Hello World!"), close_frame(1000)])], [text("Hello World!")]),
    Case("7.1.2", "Two close frames: one close answered, the second ignored",
         [Send([close_frame(1000), close_frame(1000)])]),
    Case("7.1.3", "A close, then a ping: no pong", [Send([close_frame(1000)]),
                                                   Send([Frame(PING, b"ping")])]),
    Case("7.1.4", "A close, then a text message: no echo", [Send([close_frame(1000)]),
                                                           Send([Frame(TEXT, b"Hello")])]),
    Case("7.1.5", "A text fragment, a close, then the last fragment: no echo",
         [Send([Frame(TEXT, b"fragment1", fin=False)]), Send([close_frame(1000)]),
          Send([Frame(CONT, b"fragment2")])]),
    Case("7.1.6", "A 256 KiB message, a close and a ping together: the echo (queued before "
         "the close), the close, no pong",
         [Send([Frame(TEXT, b"BAsd7&jh23" * 26214 + b"BAsd"), close_frame(1000),
                Frame(PING, b"ping")])], [text(b"BAsd7&jh23" * 26214 + b"BAsd")],
         non_strict=[[]]),
    Case("7.3.1", "Close with an empty payload: the answer carries no code or 1000",
         [Send([close_frame()])], close=Clean((None, 1000))),
    Case("7.3.2", "Close with a 1-byte payload", [Send([Frame(CLOSE, b"\x03")])], close=Fail()),
    Case("7.3.3", "Close with code 1000 and no reason", [Send([close_frame(1000)])]),
    Case("7.3.4", "Close with code 1000 and a 121-byte reason",
         [Send([close_frame(1000, b"r" * 121)])]),
    Case("7.3.5", "Close with code 1000 and a 123-byte reason (the longest)",
         [Send([close_frame(1000, b"r" * 123)])]),
    Case("7.3.6", "Close with code 1000 and a 124-byte reason (payload over 125 bytes)",
         [Send([close_frame(1000, b"r" * 124)])], close=Fail()),
    Case("7.5.1", "Close with code 1000 and an invalid UTF-8 reason",
         [Send([close_frame(1000, kosme + b"\xed\xa0\x80" + b"edited")])],
         close=Fail((1007,))),
)
for i, code in enumerate([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999,
                          4000, 4999], 1):
    add(Case(f"7.7.{i}", f"Close with valid code {code}: the server answers with it",
             [Send([close_frame(code)])], close=Clean((code,))))
for i, code in enumerate([0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999], 1):
    add(Case(f"7.9.{i}", f"Close with invalid code {code}", [Send([close_frame(code)])],
             close=Fail()))
for i, code in enumerate([5000, 65535], 1):
    add(Case(f"7.13.{i}", f"Close with code {code} (not in any range RFC 6455 defines): "
             "refused or answered, either way closed", [Send([close_frame(code)])],
             close=Fail((1002, code))))

# ---------------------------------------------------------------------------------------------
# 9 Limits, reduced: large messages, many fragments (each under ws's default of 16384
# fragments per message), large messages written in small pieces, and round trips.

K, M = 1024, 1024 * 1024
for g, binary, kind, make in ((1, False, "text", stars), (2, True, "binary", pattern)):
    for i, n in enumerate([64 * K, 256 * K, 1 * M, 4 * M, 8 * M, 16 * M], 1):
        add(Case(f"9.{g}.{i}", f"{kind.capitalize()} message of {n // K} KiB",
                 [Message(make(n), binary)], [(kind, make(n))], timeout=60))
for g, binary, kind, make in ((3, False, "text", stars), (4, True, "binary", pattern)):
    for i, (n, f) in enumerate([(1 * M, 256), (1 * M, 4 * K), (4 * M, 64 * K), (4 * M, 1 * M),
                                (4 * M, 4 * M)], 1):
        add(Case(f"9.{g}.{i}", f"{kind.capitalize()} message of {n // K} KiB in fragments of "
                 f"{f} bytes", [Message(make(n), binary, fragment=f)], [(kind, make(n))],
                 timeout=60))
for g, binary, kind, make in ((5, False, "text", stars), (6, True, "binary", pattern)):
    for i, chop in enumerate([64, 128, 256, 512, 1024, 2048], 1):
        add(Case(f"9.{g}.{i}", f"{kind.capitalize()} message of 1 MiB written in pieces of "
                 f"{chop} bytes", [Send([Frame(BINARY if binary else TEXT, make(M))], chop=chop)],
                 [(kind, make(M))], timeout=60))
for g, binary, kind, make in ((7, False, "text", stars), (8, True, "binary", pattern)):
    for i, n in enumerate([0, 16, 64, 256, 1024, 4096], 1):
        add(Case(f"9.{g}.{i}", f"200 {kind} messages of {n} bytes, one at a time",
                 [RoundTrips([Message(make(n), binary)] * 200)], [(kind, make(n))] * 200,
                 timeout=60))

# ---------------------------------------------------------------------------------------------
# 10 Auto-fragmentation: a message in many small frames comes back whole.

add(Case("10.1.1", "Text message of 64 KiB in frames of 1300 bytes",
         [Message(stars(64 * K), fragment=1300)], [text(stars(64 * K))]))

# ---------------------------------------------------------------------------------------------
# 12 and 13 permessage-deflate. 12: five kinds of payload with the default offer; 13: each
# offer of parameters. The client compresses what it sends; the echo must come back right,
# compressed or not, and decompress within the window and takeover rules the server agreed.


def lorem(n: int) -> bytes:
    words = (b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
             b"incididunt ut labore et dolore magna aliqua websocket deflate window").split()
    out, i = bytearray(), 0
    while len(out) < n:
        out += words[(i * 7 + i // 3) % len(words)] + (b"\n" if i % 13 == 12 else b" ")
        i += 1
    return bytes(out[:n])


def json_like(n: int) -> bytes:
    out, i = bytearray(), 0
    while len(out) < n:
        out += b'{"id":%d,"name":"item-%d","tags":["a","b"],"price":%d.%02d},' % (
            i, i * 31 % 1000, i * 17 % 500, i % 100)
        i += 1
    return bytes(out[:n])


def random_bytes(n: int) -> bytes:
    x, out = 0x2545F491, bytearray()
    while len(out) < n:  # xorshift32: incompressible, reproducible
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out += x.to_bytes(4, "little")
    return bytes(out[:n])


def counters(n: int) -> bytes:
    return b"".join(i.to_bytes(4, "big") for i in range(n // 4 + 1))[:n]


PAYLOADS = [("repetitive text", False, stars), ("prose-like text", False, lorem),
            ("JSON-like text", False, json_like), ("random binary", True, random_bytes),
            ("structured binary", True, counters)]
ROWS = [(16, 20, None), (1024, 20, None), (16 * K, 10, None), (128 * K, 4, None),
        (64 * K, 4, 256)]


def deflate_case(cid: str, what: str, offer: str, binary: bool, make, size: int, count: int,
                 frag: Optional[int]) -> Case:
    msgs = [make(size + k) for k in range(count)]  # sizes differ, so echoes are told apart
    kind = "binary" if binary else "text"
    in_frags = f" in frames of {frag} bytes" if frag else ""
    return Case(cid, f"{count} {what} messages of {size} bytes{in_frags}, compressed, one at a "
                f"time; offer: {offer}",
                [RoundTrips([Message(m, binary, fragment=frag) for m in msgs])],
                [(kind, m) for m in msgs], offer=offer, timeout=60)


for g, (what, binary, make) in enumerate(PAYLOADS, 1):
    for i, (size, count, frag) in enumerate(ROWS, 1):
        add(deflate_case(f"12.{g}.{i}", what, "permessage-deflate", binary, make, size, count,
                         frag))

OFFERS = [
    "permessage-deflate",
    "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; server_max_window_bits=9",
    "permessage-deflate; client_max_window_bits; server_max_window_bits=15",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits=9; "
    "server_no_context_takeover; server_max_window_bits=9",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits=15; "
    "server_no_context_takeover; server_max_window_bits=15",
    "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10, "
    "permessage-deflate; client_max_window_bits, permessage-deflate",
]
for g, offer in enumerate(OFFERS, 1):
    for i, (size, count, frag) in enumerate([(16, 20, None), (4 * K, 10, None),
                                             (64 * K, 4, 4 * K)], 1):
        add(deflate_case(f"13.{g}.{i}", "prose-like text", offer, False, lorem, size, count,
                         frag))

add(
    Case("13.8.1", "(extra) With permessage-deflate agreed: RSV1 on a continuation frame",
         [Send([Frame(TEXT, b"fragment1", fin=False), Frame(CONT, b"fragment2", rsv=4)])],
         close=Fail(), offer="permessage-deflate"),
    Case("13.8.2", "(extra) With permessage-deflate agreed: RSV1 on a ping",
         [Send([Frame(PING, b"ping", rsv=4)])], close=Fail(), offer="permessage-deflate"),
    Case("13.8.3", "(extra) With permessage-deflate agreed: a compressed message that does "
         "not inflate", [Send([Frame(TEXT, b"\xff\xff\xff\xff\xff", rsv=4)])],
         close=Fail((1007, 1002)), offer="permessage-deflate"),
    Case("13.8.4", "(extra) With permessage-deflate agreed: an uncompressed message (RSV1 "
         "clear) is echoed", [Message(b"plain, not compressed", compress=False)],
         [text("plain, not compressed")], offer="permessage-deflate"),
)
