#!/usr/bin/env python3
"""Python's http.client against examples/http_hello or examples/http_echo_body.

usage: http_client.py hello|echo PORT
"""
import http.client
import os
import sys


def hello(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    sockets = set()
    for _ in range(5):  # keep-alive: one connection for all
        conn.request("GET", "/")
        res = conn.getresponse()
        assert res.status == 200, res.status
        assert res.getheader("Content-Type") == "text/plain"
        assert res.read() == b"Hello, World!\n"
        sockets.add(id(conn.sock))
    assert len(sockets) == 1, "the connection was not reused"
    conn.request("HEAD", "/")
    res = conn.getresponse()
    assert res.status == 200 and res.read() == b""
    conn.request("GET", "/missing")
    res = conn.getresponse()
    assert res.status == 404, res.status
    res.read()
    conn.close()


def echo(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    payload = os.urandom(1 << 20)
    conn.request("POST", "/", body=payload)
    res = conn.getresponse()
    assert res.status == 200, res.status
    assert res.read() == payload
    # Chunked upload, then a small one on the same connection.
    conn.request("POST", "/", body=iter([b"abc", b"defg", b"h" * 70000]), encode_chunked=True)
    res = conn.getresponse()
    assert res.read() == b"abcdefg" + b"h" * 70000
    conn.request("POST", "/", body=b"x")
    assert conn.getresponse().read() == b"x"
    conn.close()


if __name__ == "__main__":
    {"hello": hello, "echo": echo}[sys.argv[1]](int(sys.argv[2]))
    print("ok")
