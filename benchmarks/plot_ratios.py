#!/usr/bin/env python3
"""benchmarks/plot_ratios.py: a bar chart (SVG, no dependencies) of server CPU per unit of work
relative to a baseline server, from benchmarks/kit/run.sh result files.

    python3 benchmarks/plot_ratios.py -b nginx -o docs/img/https-cpu.svg --title TEXT FILE...

One group of bars per measured cell (the kind, e.g. https or tls-handshake, and for echo/ws
the connections x bytes), one bar per server: the median over the rounds of srv_us_per_req
(or srv_us_per_rt) divided by the baseline's median in the same cell. 1.0 is a dashed line.
--label NAME=TEXT renames a server in the legend.
"""
import argparse
import statistics
import sys
from collections import defaultdict
from xml.sax.saxutils import escape

COLOURS = ["#d62728", "#1f77b4", "#9467bd", "#2ca02c", "#ff7f0e", "#17becf", "#7f7f7f"]


def parse(files):
    """{cell: {server: [value per round]}}, cells and servers in the order first seen."""
    cells = defaultdict(lambda: defaultdict(list))
    for path in files:
        with open(path) as f:
            for line in f:
                if not line.startswith("kind=") or "error=" in line:
                    continue
                kv = dict(p.split("=", 1) for p in line.split() if "=" in p)
                value = kv.get("srv_us_per_req") or kv.get("srv_us_per_rt")
                if value is None:
                    continue
                cell = kv["kind"]
                if "size" in kv:
                    cell += f" {kv['conns']}x{kv['size']}"
                cells[cell][kv["server"]].append(float(value))
    return cells


def cell_label(cell):
    names = {"https": "keep-alive request", "tls-handshake": "full handshake",
             "tls-resume": "resumption"}
    kind, _, rest = cell.partition(" ")
    if not rest:
        return names.get(kind, kind)
    conns, _, size = rest.partition("x")
    size = int(size)
    size_text = f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} B"
    return f"{kind} {conns} x {size_text}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-b", "--baseline", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default="server CPU per unit of work, relative")
    ap.add_argument("--label", action="append", default=[])
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    labels = dict(x.split("=", 1) for x in args.label)

    cells = parse(args.files)
    servers = []
    for per_server in cells.values():
        servers += [s for s in per_server if s not in servers]
    ratios = {}
    for cell, per_server in cells.items():
        if args.baseline not in per_server:
            sys.exit(f"plot_ratios.py: no '{args.baseline}' in cell {cell}")
        base = statistics.median(per_server[args.baseline])
        ratios[cell] = {s: statistics.median(v) / base for s, v in per_server.items()}

    top = max(max(r.values()) for r in ratios.values()) * 1.15
    bar, gap, left, plot_h, top_margin = 30, 50, 60, 260, 50
    group_w = bar * len(servers) + gap
    width = max(left + group_w * len(cells) + 20, int(len(args.title) * 7.5) + 40)
    legend_h = 22 * len(servers)
    height = top_margin + plot_h + 50 + legend_h
    y = lambda v: top_margin + plot_h - v / top * plot_h  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">'
           f'{escape(args.title)}</text>']
    tick = 0.5 if top > 1.5 else 0.25
    v = 0.0
    while v <= top:
        out.append(f'<line x1="{left}" x2="{width - 20}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        v += tick
    out.append(f'<line x1="{left}" x2="{width - 20}" y1="{y(1):.1f}" y2="{y(1):.1f}" '
               'stroke="black" stroke-dasharray="5,4"/>')
    for i, (cell, r) in enumerate(ratios.items()):
        x0 = left + gap / 2 + i * group_w
        for j, s in enumerate(servers):
            if s not in r:
                continue
            x = x0 + j * bar
            out.append(f'<rect x="{x:.1f}" y="{y(r[s]):.1f}" width="{bar - 4}" '
                       f'height="{y(0) - y(r[s]):.1f}" fill="{COLOURS[j % len(COLOURS)]}"/>')
            out.append(f'<text x="{x + (bar - 4) / 2:.1f}" y="{y(r[s]) - 4:.1f}" '
                       f'text-anchor="middle" font-size="10">{r[s]:.2f}</text>')
        out.append(f'<text x="{x0 + bar * len(servers) / 2:.1f}" y="{y(0) + 18:.1f}" '
                   f'text-anchor="middle">{escape(cell_label(cell))}</text>')
    for j, s in enumerate(servers):
        ly = top_margin + plot_h + 40 + 22 * j
        out.append(f'<rect x="{left}" y="{ly}" width="14" height="14" '
                   f'fill="{COLOURS[j % len(COLOURS)]}"/>')
        out.append(f'<text x="{left + 20}" y="{ly + 12}">{escape(labels.get(s, s))}</text>')
    out.append("</svg>")
    with open(args.output, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
