#!/usr/bin/env python3
"""Real TLS peers against netco's TLS examples, both directions (each mode a few seconds):

  https_get HTTPS_GET HTTPS_HELLO   netco's client against netco's server: OK with --ca; without
                                    it, with a wrong host name, for a 404, and a body cut without
                                    close_notify (a Python server): exit 1 and one line
  node_server HTTPS_GET             netco's client against Node's https.createServer (OK), and
                                    the body cut by Node's socket.destroy() (an error)
  node_clients HTTPS_HELLO TLS_ECHO Node's https.get (kept alive) against https_hello, and
                                    tls.connect against tls_echo with a half-close
  nginx_front HTTP_HELLO            nginx terminates TLS and proxies to netco's http_hello
  nginx_behind HTTPS_GET KIT_NGINX  https_get against nginx with TLS (benchmarks/kit/nginx_hello.sh)

Exit status 0 on success, 1 on failure, 77 (skipped) when node, nginx or openssl is missing.
"""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import http.client

from interop_util import find_nginx, free_port, start_example, wait_listening

HERE = os.path.dirname(os.path.abspath(__file__))


def skip(why):
    print(f"skipped: {why}")
    sys.exit(77)


def stop(p, expect_zero=True):
    p.send_signal(signal.SIGINT if expect_zero else signal.SIGTERM)
    try:
        code = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError(f"{p.args[0]} did not exit within 10 s of the signal")
    if expect_zero and code != 0:
        raise AssertionError(f"{p.args[0]} exited with {code}")


def make_cert(tmp, san="DNS:localhost,IP:127.0.0.1"):
    key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-keyout", key,
                    "-out", cert, "-subj", "/CN=localhost", "-addext",
                    f"subjectAltName={san}"], check=True, capture_output=True)
    return cert, key


def https_get(binary, url, ca=None):
    argv = [binary, url] + (["--ca", ca] if ca else [])
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def expect_ok(result, body, what):
    rc, out, err = result
    if rc != 0 or out != body or err:
        raise AssertionError(f"{what}: rc={rc} stdout={out!r} stderr={err!r}")


def expect_failure(result, pattern, what):
    """Exit 1 with exactly one line on stderr, matching pattern, and nothing on stdout."""
    rc, out, err = result
    lines = err.splitlines()
    if rc != 1 or out or len(lines) != 1 or not re.search(pattern, lines[0], re.I):
        raise AssertionError(f"{what}: rc={rc} stdout={out!r} stderr={err!r}")
    print(f"{what}: {lines[0]}")


def start_node(script, *args):
    """Runs a Node script that prints 'listening on 127.0.0.1:PORT'; returns (process, port)."""
    p = subprocess.Popen(["node", os.path.join(HERE, script)] + list(args),
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        p.kill()
        raise AssertionError(f"{script} did not start: {line!r}")
    return p, int(m.group(1))


def cutting_server(cert, key, head):
    """A Python TLS server for one request: head and a body, then a FIN without close_notify."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        with listener:
            raw, _ = listener.accept()
            with ctx.wrap_socket(raw, server_side=True) as conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                conn.sendall(head + b"short")
                conn.shutdown(socket.SHUT_RDWR)  # SSLSocket.shutdown: no close_notify

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return port, t


def mode_https_get(tmp, client, hello):
    cert, key = make_cert(tmp, san="DNS:localhost")  # no IP SAN: 127.0.0.1 is a wrong name
    server, port = start_example([hello, "--cert", cert, "--key", key])
    try:
        base = f"https://localhost:{port}"
        expect_ok(https_get(client, base + "/", cert), "Hello, World!\n", "with --ca")
        expect_failure(https_get(client, base + "/"), r"certificate|verify",
                       "without --ca (system roots)")
        expect_failure(https_get(client, f"https://127.0.0.1:{port}/", cert),
                       r"host|name|IP|altname|certificate", "wrong host name")
        expect_failure(https_get(client, base + "/missing", cert), r"404", "HTTP 404")
    finally:
        stop(server)
    # Framed by Content-Length: HTTP sees the cut; framed by the end of the connection: only TLS
    # can tell a cut from the end (no close_notify: truncation). Once the head is in, either is
    # Node's "aborted [ECONNRESET]" on the response (docs/tls.md).
    for head, pattern in ((b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", r"aborted"),
                          (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", r"aborted")):
        port, t = cutting_server(cert, key, head)
        expect_failure(https_get(client, f"https://localhost:{port}/", cert), pattern,
                       "a body cut by a FIN without close_notify (" + head.decode().split("\r\n")[1] + ")")
        t.join(timeout=5)


def mode_node_server(tmp, client):
    cert, key = make_cert(tmp)
    node, port = start_node("tls_node_server.js", cert, key)
    try:
        expect_ok(https_get(client, f"https://localhost:{port}/", cert), "hello from node\n",
                  "Node https.createServer")
        expect_failure(https_get(client, f"https://localhost:{port}/truncated", cert),
                       r"eof|truncat|close_notify|reset|hang up",
                       "a body cut by Node's socket.destroy()")
    finally:
        stop(node, expect_zero=False)


def mode_node_clients(tmp, hello, echo):
    cert, key = make_cert(tmp)
    h, hport = start_example([hello, "--cert", cert, "--key", key])
    e, eport = start_example([echo, "--cert", cert, "--key", key])
    try:
        r = subprocess.run(["node", os.path.join(HERE, "tls_node_client.js"), str(hport),
                            str(eport), cert], capture_output=True, text=True, timeout=30)
        sys.stdout.write(r.stdout)
        if r.returncode != 0:
            raise AssertionError(f"tls_node_client.js: rc={r.returncode} {r.stderr}")
    finally:
        stop(h)
        stop(e)


NGINX_FRONT = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{
            proxy_pass http://127.0.0.1:{backend};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def mode_nginx_front(tmp, http_hello):
    nginx = find_nginx() or skip("no nginx")
    cert, key = make_cert(tmp)
    backend, bport = start_example([http_hello])
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_FRONT.format(tmp=tmp, port=port, backend=bport, cert=cert, key=key))
    user = "user root;\n" if os.geteuid() == 0 else ""
    if user:  # as in nginx_proxy.py: root's nginx would switch to nobody without it
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(user + text)
    proxy = subprocess.Popen([nginx, "-e", os.path.join(tmp, "error.log"), "-p", tmp, "-c", conf],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not wait_listening(port, proxy):
            raise AssertionError(f"nginx did not start: {proxy.stderr.read().decode()[:400]}")
        ctx = ssl.create_default_context(cafile=cert)
        conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
        for _ in range(3):  # one TLS connection to nginx, kept alive
            conn.request("GET", "/")
            r = conn.getresponse()
            body = r.read()
            if (r.status, body) != (200, b"Hello, World!\n"):
                raise AssertionError(f"through nginx: {r.status} {body!r}")
        print(f"nginx (TLS, {conn.sock.version()}) -> http_hello: 3 requests answered")
        conn.close()
    finally:
        proxy.send_signal(signal.SIGQUIT)
        try:
            proxy.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proxy.kill()
        stop(backend)


def mode_nginx_behind(tmp, client, kit_nginx):
    if not find_nginx():
        skip("no nginx")
    cert, key = make_cert(tmp)
    port = free_port()
    env = dict(os.environ, TMPDIR=tmp, PATH=os.environ.get("PATH", "") + ":/usr/sbin")
    proxy = subprocess.Popen(["bash", kit_nginx, str(port), "--tls", cert, key], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not wait_listening(port, proxy):
            raise AssertionError(f"nginx did not start: {proxy.stderr.read().decode()[:400]}")
        expect_ok(https_get(client, f"https://localhost:{port}/", cert), "Hello, World!",
                  "https_get -> nginx (TLS)")
        expect_failure(https_get(client, f"https://localhost:{port}/missing", cert), r"404",
                       "https_get -> nginx, 404")
        print("https_get -> nginx (TLS): OK")
    finally:
        proxy.send_signal(signal.SIGTERM)
        try:
            proxy.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proxy.kill()


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    mode, args = sys.argv[1], sys.argv[2:]
    if not shutil.which("openssl"):
        skip("no openssl")
    if mode.startswith("node") and not shutil.which("node"):
        skip("no node")
    modes = {"https_get": mode_https_get, "node_server": mode_node_server,
             "node_clients": mode_node_clients, "nginx_front": mode_nginx_front,
             "nginx_behind": mode_nginx_behind}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            modes[mode](tmp, *args)
        except AssertionError as e:
            print(f"FAIL: {e}", file=sys.stderr)
            return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
