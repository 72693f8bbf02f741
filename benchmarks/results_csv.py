#!/usr/bin/env python3
"""benchmarks/results_csv.py: benchmarks/kit/run.sh's key=value result lines -> CSV of medians and ratios.

    python3 benchmarks/results_csv.py [-o OUT.csv] [--echo-baseline epoll]
                                      [--http-baseline epoll_http] results.txt [...]

One row per (kind, pin, server, conns, bytes): kind=echo or ws (op = one round trip),
kind=http, https, http-close, tls-handshake or tls-resume (op = one request, or one TLS
connection), kind=mem (idle connections; only the mem_* columns are filled). Ratios are
medians over the baseline server's median in the same cell: rate_ratio > 1 and cpu_ratio < 1
are better than the baseline. plot.py reads this file (or the raw results) back with load().
"""
import argparse
import csv
import statistics
import sys
from collections import OrderedDict, defaultdict

COLUMNS = [
    "kind", "pin", "server", "conns", "bytes", "runs",
    "rate_median", "rate_min", "rate_max", "rate_ratio",
    "cpu_us_per_op_median", "cpu_us_per_op_min", "cpu_us_per_op_max", "cpu_ratio",
    "MBps_median", "p50_us", "p99_us", "errors", "noisy_runs",
    "mem_bytes_per_conn", "mem_rss_kb", "mem_ratio", "baseline",
]


# loadgen's kinds (per round trip) and wrk's or openssl s_time's (per request or connection)
ROUND_TRIP_KINDS = ("echo", "ws")
REQUEST_KINDS = ("http", "https", "http-close", "tls-handshake", "tls-resume")


def parse(paths):
    """Result lines (kind=... key=value ...) of the kit's run.sh, in file order."""
    rows = []
    for path in paths:
        with open(path) as f:
            for line in f:
                if line.startswith("#") or "kind=" not in line:
                    continue
                kv = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
                rows.append(kv)
    return rows


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def median(vals):
    vals = [v for v in vals if v is not None and v >= 0]
    return statistics.median(vals) if vals else None


def noisy(r, tol=0.15):
    """As benchmarks/kit/summarize.py: the machine was busier than client + server."""
    busy, cli, srv = num(r.get("sys_busy")), num(r.get("cli_cpu")), num(r.get("srv_cpu"))
    return busy is not None and cli is not None and srv is not None and busy - cli - srv > tol


def aggregate(rows, echo_baseline="epoll", http_baseline="epoll_http"):
    """Rows of the CSV, as dicts keyed by COLUMNS (numbers stay numbers, missing ones None)."""
    groups = OrderedDict()
    for r in rows:
        kind = r.get("kind")
        if kind in ROUND_TRIP_KINDS and "rtps" in r:
            key = (kind, r.get("pin", "?"), r["server"], int(r["conns"]), int(r["size"]))
        elif kind in REQUEST_KINDS and "rps" in r:
            key = (kind, r.get("pin", "?"), r["server"], int(r.get("conns", 0)), 0)
        elif kind == "mem":
            key = (kind, r.get("pin", "?"), r["server"], int(r.get("conns", 0)), 0)
        else:
            continue
        groups.setdefault(key, []).append(r)

    out = []
    for (kind, pin, server, conns, size), rs in groups.items():
        row = dict.fromkeys(COLUMNS)
        row.update(kind=kind, pin=pin, server=server, conns=conns, bytes=size, runs=len(rs))
        if kind == "mem":
            ok = [r for r in rs if "per_conn_b" in r]
            row["runs"] = len(ok)
            row["errors"] = len(rs) - len(ok)
            row["mem_bytes_per_conn"] = median([num(r["per_conn_b"]) for r in ok])
            row["mem_rss_kb"] = median([num(r.get("rss_kb")) for r in ok])
        else:
            per_rt = kind in ROUND_TRIP_KINDS
            rate_key, cpu_key = ("rtps", "srv_us_per_rt") if per_rt else ("rps", "srv_us_per_req")
            rates = [v for v in (num(r.get(rate_key)) for r in rs) if v is not None]
            cpus = [v for v in (num(r.get(cpu_key)) for r in rs) if v is not None and v >= 0]
            row["rate_median"] = median(rates)
            row["rate_min"], row["rate_max"] = (min(rates), max(rates)) if rates else (None, None)
            row["cpu_us_per_op_median"] = median(cpus)
            row["cpu_us_per_op_min"], row["cpu_us_per_op_max"] = (min(cpus), max(cpus)) if cpus else (None, None)
            row["MBps_median"] = median([num(r.get("MBps")) for r in rs])
            row["p50_us"] = median([num(r.get("p50_us")) for r in rs])
            row["p99_us"] = median([num(r.get("p99_us")) for r in rs])
            err_key = "errors" if per_rt else "socket_errors"
            row["errors"] = int(sum(num(r.get(err_key)) or 0 for r in rs))
            row["noisy_runs"] = sum(noisy(r) for r in rs)
        out.append(row)

    # Ratios to the baseline server of the same kind, pin and cell.
    index = {(r["kind"], r["pin"], r["server"], r["conns"], r["bytes"]): r for r in out}
    for row in out:
        base_name = http_baseline if row["kind"] in REQUEST_KINDS else echo_baseline
        base = index.get((row["kind"], row["pin"], base_name, row["conns"], row["bytes"]))
        if base is None:
            continue
        row["baseline"] = base_name

        def ratio(col):
            a, b = row[col], base[col]
            return a / b if a is not None and b else None

        if row["kind"] == "mem":
            row["mem_ratio"] = ratio("mem_bytes_per_conn")
        else:
            row["rate_ratio"] = ratio("rate_median")
            row["cpu_ratio"] = ratio("cpu_us_per_op_median")
    return out


def load(path):
    """Aggregated rows from a CSV written here, or from raw kit results (numbers as floats)."""
    with open(path) as f:
        first = f.readline()
    if first.startswith("kind,"):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        for r in rows:
            for k, v in r.items():
                if k not in ("kind", "pin", "server", "baseline"):
                    r[k] = num(v)
        return rows
    return aggregate(parse([path]))


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def compact(rows):
    """A Markdown matrix for docs: per server and echo cell, CPU/rt ratio and rt/s ratio."""
    echo = [r for r in rows if r["kind"] == "echo"]
    cells = sorted({(int(r["bytes"]), int(r["conns"])) for r in echo})
    servers = list(OrderedDict.fromkeys(r["server"] for r in echo))
    idx = {(r["server"], int(r["bytes"]), int(r["conns"])): r for r in echo}
    mem = {r["server"]: r for r in rows if r["kind"] == "mem"}
    head = [f"{c} x {b}" for b, c in cells] + (["memory/conn"] if mem else [])
    lines = ["| server | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for s in servers:
        vals = []
        for b, c in cells:
            r = idx.get((s, b, c))
            if r is None or r["cpu_ratio"] is None:
                vals.append("n/a")
            else:
                vals.append(f"{r['cpu_ratio']:.2f} ({r['rate_ratio']:.2f})")
        if mem:
            m = mem.get(s)
            vals.append(f"{m['mem_bytes_per_conn'] / 1024:.1f} KiB" if m and m["mem_bytes_per_conn"] else "n/a")
        lines.append(f"| {s} | " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", help="CSV file to write (default: standard output)")
    ap.add_argument("--compact", action="store_true",
                    help="print a Markdown matrix instead: server CPU per round trip / epoll's, "
                         "(rt/s / epoll's), and memory per idle connection")
    ap.add_argument("--echo-baseline", default="epoll")
    ap.add_argument("--http-baseline", default="epoll_http")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    rows = aggregate(parse(args.files), args.echo_baseline, args.http_baseline)
    if args.compact:
        sys.stdout.write(compact(rows))
        return
    f = open(args.output, "w", newline="") if args.output else sys.stdout
    w = csv.writer(f)
    w.writerow(COLUMNS)
    for row in rows:
        w.writerow([fmt(row[c]) for c in COLUMNS])
    if args.output:
        f.close()


if __name__ == "__main__":
    main()
