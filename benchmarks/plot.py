#!/usr/bin/env python3
"""benchmarks/plot.py: draw a benchmarks/run.sh result as PNGs (matplotlib, Debian's
python3-matplotlib; installed with apt-get if missing).

    python3 benchmarks/plot.py [-o docs/img] [--title TEXT] benchmarks/results/echo-DATE.csv

Accepts the CSV (or the raw .txt) that run.sh wrote. Writes, per message size S in the results:
  echo-rtps-S.png  round trips per second against connection count, one line per server
  echo-cpu-S.png   server CPU microseconds per round trip against connection count
  echo-cpu-ratio-S.png  the same relative to raw epoll's (1.0 = as cheap as hand-written epoll)
and memory.png (bytes per idle connection) when the file has a memory test.
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results_csv import load  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, which python3-matplotlib belongs to


def system_python_has_matplotlib():
    return os.path.exists(SYSTEM_PYTHON) and subprocess.run(
        [SYSTEM_PYTHON, "-c", "import matplotlib"], capture_output=True).returncode == 0


try:
    import matplotlib
except ImportError:
    # Another python3 first on PATH (pyenv, a venv) does not see Debian's package: rerun under
    # Debian's python3, installing the package first if it is missing.
    if not system_python_has_matplotlib():
        if "-h" in sys.argv[1:] or "--help" in sys.argv[1:]:
            print(__doc__)  # no package installed just to print the usage
            sys.exit(0)
        print("plot.py: installing python3-matplotlib", file=sys.stderr)
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
        # NOTE: on Debian 12 python3-matplotlib pulls in (through scipy and pythran)
        # libboost1.74-dev, which conflicts with the libboost1.81-dev that the load kit's
        # Beast server needs: --no-remove makes apt refuse instead of removing it silently.
        if subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-remove", "python3-matplotlib"],
                          env=env).returncode != 0:
            sys.exit("plot.py: apt-get could not install python3-matplotlib without removing packages"
                     " (on Debian 12 it replaces libboost1.81-dev with libboost1.74-dev, and then"
                     " benchmarks/kit builds without beast_ws_echo); install it by hand if that is fine")
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# netco first and bold; the references in a fixed order and colour, whatever the file's order.
STYLE = {
    "netco_coro": ("netco (coroutines)", "tab:red", "o", 2.6),
    "netco_events": ("netco (Node style)", "tab:orange", "s", 2.6),
    "epoll": ("raw epoll (C)", "black", "^", 1.6),
    "asio_cb": ("Asio callbacks", "tab:blue", "v", 1.4),
    "asio_coro": ("Asio coroutines", "tab:cyan", "D", 1.4),
    "uv": ("libuv", "tab:green", "P", 1.4),
    "node": ("Node.js net", "tab:purple", "X", 1.4),
}


def style(server):
    return STYLE.get(server, (server, None, "o", 1.4))


def order(servers):
    known = [s for s in STYLE if s in servers]
    return known + sorted(s for s in servers if s not in STYLE)


def size_label(size):
    return f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} B"


def plot_metric(rows, size, col, ylabel, title, path):
    sub = [r for r in rows if r["kind"] == "echo" and int(r["bytes"]) == size and r[col] is not None]
    if not sub:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.4), dpi=110)
    for server in order({r["server"] for r in sub}):
        pts = sorted((int(r["conns"]), r[col]) for r in sub if r["server"] == server)
        label, color, marker, width = style(server)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label, color=color, marker=marker,
                linewidth=width, markersize=5)
    conns = sorted({int(r["conns"]) for r in sub})
    if len(conns) > 1 and conns[-1] / max(conns[0], 1) >= 20:
        ax.set_xscale("log")
    ax.set_xticks(conns)
    ax.set_xticklabels([str(c) for c in conns])
    ax.set_xlabel("connections")
    ax.set_ylabel(ylabel)
    if col == "cpu_ratio":
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
    else:
        ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def plot_memory(rows, path, subtitle):
    sub = [r for r in rows if r["kind"] == "mem" and r["mem_bytes_per_conn"] is not None]
    if not sub:
        return False
    servers = order({r["server"] for r in sub})
    vals = [next(r["mem_bytes_per_conn"] for r in sub if r["server"] == s) / 1024 for s in servers]
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    bars = ax.barh([style(s)[0] for s in servers], vals, color=[style(s)[1] or "grey" for s in servers])
    ax.bar_label(bars, fmt="%.1f KiB", fontsize=8, padding=3)
    ax.invert_yaxis()
    ax.set_xlabel("resident memory per idle connection (KiB, lower is better)")
    ax.set_title(f"{int(sub[0]['conns'])} idle connections{subtitle}", fontsize=10)
    ax.set_xlim(right=max(vals) * 1.25)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", help="echo-DATE.csv (or .txt) from benchmarks/run.sh")
    ap.add_argument("-o", "--outdir", default=os.path.join(root, "docs", "img"))
    ap.add_argument("--title", default=None, help="text after each title (default: the file name)")
    args = ap.parse_args()
    rows = load(args.results)
    os.makedirs(args.outdir, exist_ok=True)
    sub = f" ({args.title if args.title is not None else os.path.basename(args.results)})"
    written = []
    for size in sorted({int(r["bytes"]) for r in rows if r["kind"] == "echo"}):
        s = size_label(size)
        for col, name, ylabel, what in [
            ("rate_median", "rtps", "round trips per second (median)", "throughput, higher is better"),
            ("cpu_us_per_op_median", "cpu", "server CPU us per round trip (median)", "server cost, lower is better"),
            ("cpu_ratio", "cpu-ratio", "server CPU per round trip / raw epoll's", "server cost relative to raw epoll"),
        ]:
            path = os.path.join(args.outdir, f"echo-{name}-{size}.png")
            if plot_metric(rows, size, col, ylabel, f"echo {s}: {what}{sub}", path):
                written.append(path)
    path = os.path.join(args.outdir, "memory.png")
    if plot_memory(rows, path, sub):
        written.append(path)
    for p in written:
        print(p)
    if not written:
        sys.exit("plot.py: nothing to plot in " + args.results)


if __name__ == "__main__":
    main()
