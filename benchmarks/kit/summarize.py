#!/usr/bin/env python3
"""benchmarks/kit/summarize.py: run.sh result lines -> Markdown tables.

    python3 summarize.py [-b NAME[,NAME...]] [--drop-noisy] [--noise-tol CORES] FILE...

One table per kind of measurement and pinning (and frame type, for ws): per cell and server
the median over the runs with [min-max], and the ratio of each median to the baseline server's
in the same cell. -b lists candidate baselines; a table uses the first one it contains, else
its first server. Ratios: rates (rt/s, req/s) higher is better; server CPU per round trip or
request, and memory per connection, lower is better.

A run is noisy when the whole machine was busier than client and server together by more than
--noise-tol cores (default 0.15): something else was running. The tables count such runs;
--drop-noisy leaves them out before the medians are taken.
"""
import argparse
import statistics
import sys
from collections import OrderedDict

ROUND_TRIP_KINDS = ("echo", "ws")
REQUEST_KINDS = OrderedDict([
    ("http", "HTTP keep-alive, wrk -t1 -c{conns}"),
    ("https", "HTTPS keep-alive, wrk -t1 -c{conns}"),
    ("http-close", "HTTP, a new connection per request (wrk -t1 -c{conns}, Connection: close)"),
    ("tls-handshake", "TLS, a full handshake per connection ({conns} x openssl s_time -new)"),
    ("tls-resume", "TLS, a resumption per connection ({conns} x openssl s_time -reuse)"),
])


def read_rows(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            for line in f:
                if line.startswith("#"):
                    continue
                row = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
                if "kind" in row:
                    rows.append(row)
    return rows


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def is_noisy(row, tol):
    busy, cli, srv = (num(row.get(k)) for k in ("sys_busy", "cli_cpu", "srv_cpu"))
    return None not in (busy, cli, srv) and srv >= 0 and busy - cli - srv > tol


def values(rows, key):
    return [v for v in (num(r.get(key)) for r in rows) if v is not None and v >= 0]


def median(vals):
    return statistics.median(vals) if vals else None


def spread(vals, fmt):
    """'median [min-max]' (just the median for one run), or n/a"""
    if not vals:
        return "n/a"
    m = fmt.format(statistics.median(vals))
    return m if len(vals) == 1 else f"{m} [{fmt.format(min(vals))}-{fmt.format(max(vals))}]"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "n/a"


def pick_baseline(servers, wanted):
    return next((w for w in wanted if w in servers), servers[0])


def grouped(rows, key):
    groups = OrderedDict()
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    return groups


def table(out, title, head, lines):
    out.write(f"\n### {title}\n\n| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")
    for cells in lines:
        out.write("| " + " | ".join(str(c) for c in cells) + " |\n")


def round_trip_tables(out, rows, wanted, tol):
    for (kind, pin, frame), sub in grouped(rows, lambda r: (r["kind"], r.get("pin", "?"),
                                                            r.get("frame", ""))).items():
        servers = list(OrderedDict.fromkeys(r["server"] for r in sub))
        base = pick_baseline(servers, wanted)
        by_cell = grouped(sub, lambda r: (int(r["size"]), int(r["conns"])))
        lines = []
        for (size, conns) in sorted(by_cell):
            runs = grouped(by_cell[(size, conns)], lambda r: r["server"])
            b = runs.get(base, [])
            b_rate, b_cpu = median(values(b, "rtps")), median(values(b, "srv_us_per_rt"))
            for srv in servers:
                rs = runs.get(srv)
                if not rs:
                    continue
                rate, cpu = values(rs, "rtps"), values(rs, "srv_us_per_rt")
                mbps = spread(values(rs, "MBps"), "{:.1f}") if size >= 1024 else "-"
                lines.append([f"{conns} x {size}", srv, len(rs), spread(rate, "{:.0f}"),
                              ratio(median(rate), b_rate), spread(cpu, "{:.2f}"),
                              ratio(median(cpu), b_cpu), mbps,
                              f"{median(values(rs, 'p50_us')) or 0:.0f}",
                              f"{median(values(rs, 'p99_us')) or 0:.0f}",
                              int(sum(values(rs, "errors"))), sum(is_noisy(r, tol) for r in rs)])
        what = "TCP echo" if kind == "echo" else f"WebSocket echo, {frame or 'binary'} frames"
        table(out, f"{what}, pin={pin} (ratios to {base})",
              ["conns x bytes", "server", "runs", "rt/s median [min-max]", "rt/s ratio",
               "server CPU us/rt", "CPU ratio", "MB/s", "p50 us", "p99 us", "errors",
               "noisy runs"], lines)


def request_tables(out, rows, wanted, tol):
    for (kind, pin, conns), sub in grouped(rows, lambda r: (r["kind"], r.get("pin", "?"),
                                                            r.get("conns", "?"))).items():
        servers = list(OrderedDict.fromkeys(r["server"] for r in sub))
        base = pick_baseline(servers, wanted)
        runs = grouped(sub, lambda r: r["server"])
        b_rate = median(values(runs[base], "rps"))
        b_cpu = median(values(runs[base], "srv_us_per_req"))
        tls = kind.startswith("tls-")
        unit = "conns/s" if kind in ("http-close", "tls-handshake", "tls-resume") else "req/s"
        per = "us/conn" if unit == "conns/s" else "us/req"
        lines = []
        for srv in servers:
            rs = runs[srv]
            rate, cpu = values(rs, "rps"), values(rs, "srv_us_per_req")
            line = [srv, len(rs), spread(rate, "{:.0f}"), ratio(median(rate), b_rate),
                    spread(cpu, "{:.2f}"), ratio(median(cpu), b_cpu)]
            if tls:  # s_time gives no latencies, but which connections were resumed
                total, resumed = sum(values(rs, "connections")), sum(values(rs, "resumed"))
                line.append(f"{100 * resumed / total:.0f}%" if total else "n/a")
            else:
                line += [f"{median(values(rs, 'p50_us')) or 0:.0f}",
                         f"{median(values(rs, 'p99_us')) or 0:.0f}"]
            line += [int(sum(values(rs, "socket_errors"))), int(sum(values(rs, "non2xx"))),
                     sum(is_noisy(r, tol) for r in rs)]
            lines.append(line)
        head = ["server", "runs", f"{unit} median [min-max]", "ratio", f"server CPU {per}",
                "CPU ratio"] + (["resumed"] if tls else ["p50 us", "p99 us"]) + \
            ["socket errors", "non-2xx", "noisy runs"]
        title = REQUEST_KINDS[kind].format(conns=conns)
        table(out, f"{title}, pin={pin} (ratios to {base})", head, lines)


def memory_table(out, rows, wanted):
    lines = []
    for mode, sub in grouped(rows, lambda r: r.get("mode", "echo")).items():
        servers = list(OrderedDict.fromkeys(r["server"] for r in sub))
        base = pick_baseline(servers, wanted)
        runs = grouped(sub, lambda r: r["server"])
        b_per = median(values([r for r in runs[base] if "per_conn_b" in r], "per_conn_b"))
        for srv in servers:
            ok = [r for r in runs[srv] if "per_conn_b" in r]
            per = values(ok, "per_conn_b")
            lines.append([mode, srv, len(ok), runs[srv][0].get("conns", "?"),
                          f"{median(values(ok, 'rss_base_kb')) or 0:.0f}",
                          f"{median(values(ok, 'rss_kb')) or 0:.0f}", spread(per, "{:.0f}"),
                          ratio(median(per), b_per), len(runs[srv]) - len(ok)])
    table(out, "Memory: RSS growth per idle connection (each did one 64 B echo; ws: after the "
          "upgrade)", ["mode", "server", "runs", "conns", "base RSS KiB", "RSS KiB",
                       "bytes/conn median [min-max]", "ratio", "errors"], lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-b", "--baseline", default="",
                    help="baseline server(s), comma-separated: each table uses the first it has")
    ap.add_argument("--drop-noisy", action="store_true", help="leave noisy runs out")
    ap.add_argument("--noise-tol", type=float, default=0.15,
                    help="cores of foreign load that make a run noisy (default 0.15)")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    wanted = [b for b in args.baseline.split(",") if b]
    rows = read_rows(args.files)
    if args.drop_noisy:
        rows = [r for r in rows if not is_noisy(r, args.noise_tol)]
    out = sys.stdout
    round_trip_tables(out, [r for r in rows if r["kind"] in ROUND_TRIP_KINDS and "rtps" in r],
                      wanted, args.noise_tol)
    request_tables(out, [r for r in rows if r["kind"] in REQUEST_KINDS and "rps" in r], wanted,
                   args.noise_tol)
    mem = [r for r in rows if r["kind"] == "mem"]
    if mem:
        memory_table(out, mem, wanted)


if __name__ == "__main__":
    main()
