"""tests/interop/interop_util.py: what the Python interop drivers share: starting a netco
example on a free port, waiting for a peer to listen, finding nginx."""
import os
import re
import shutil
import socket
import subprocess
import time


def find_nginx():
    """nginx's path (PATH, then the usual sbin folders), or None."""
    found = shutil.which("nginx")
    if found:
        return found
    for d in ("/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"):
        if os.access(os.path.join(d, "nginx"), os.X_OK):
            return os.path.join(d, "nginx")
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, seconds=10):
    """True once 127.0.0.1:port accepts a connection; False if proc exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start_example(argv):
    """Starts a netco example (argv, then port 0) and reads its 'listening on' line; returns
    (process, port). Raises AssertionError if the line does not come."""
    p = subprocess.Popen(argv + ["0"], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            return p, int(m.group(1))
    p.kill()
    raise AssertionError(f"{argv[0]} did not print 'listening on 127.0.0.1:PORT'")
