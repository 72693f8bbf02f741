#!/usr/bin/env python3
"""benchmarks/micro_report.py: run Google Benchmark programs and print a Markdown table of
medians and ratios to each group's baseline.

    python3 benchmarks/micro_report.py [-r REPS] [--cpu N] [--min-time S] [-o OUT.md] PROGRAM [...]
    python3 benchmarks/micro_report.py --json results.json [...]    # tables from saved output

Benchmarks are named "group/variant"; the first variant of a group is its baseline. A benchmark
with a "batch" counter does that many operations per iteration: its time is divided by it.
Times are CPU time (steadier than wall time on a shared machine), median over REPS repetitions.
"""
import argparse
import json
import statistics
import subprocess
import sys
from collections import OrderedDict


def run(program, reps, cpu, min_time):
    cmd = [program, "--benchmark_format=json", f"--benchmark_repetitions={reps}",
           f"--benchmark_min_time={min_time}"]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu)] + cmd
    print("running:", " ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def to_ns(value, unit):
    return value * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]


def table(data):
    per = OrderedDict()  # name -> list of (cpu ns per op, wall ns per op)
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        name = b.get("run_name", b["name"])
        n = b.get("batch", 1) or 1
        per.setdefault(name, []).append((to_ns(b["cpu_time"], b["time_unit"]) / n,
                                         to_ns(b["real_time"], b["time_unit"]) / n))
    groups = OrderedDict()
    for name, vals in per.items():
        group, _, variant = name.partition("/")
        groups.setdefault(group, []).append((variant or group, vals))
    lines = ["| benchmark | variant | CPU ns/op median [min-max] | ratio to first | wall ns/op median | reps |",
             "|---|---|---|---|---|---|"]
    for group, items in groups.items():
        base = statistics.median(v[0] for v in items[0][1])
        for variant, vals in items:
            cpu = [v[0] for v in vals]
            med = statistics.median(cpu)
            wall = statistics.median(v[1] for v in vals)
            lines.append(f"| {group} | {variant} | {med:.1f} [{min(cpu):.1f}-{max(cpu):.1f}] | "
                         f"{med / base:.2f} | {wall:.1f} | {len(cpu)} |")
    ctx = data.get("context", {})
    head = (f"{ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs, "
            f"library build: {ctx.get('library_build_type', '?')}, {ctx.get('date', '')}")
    return head, "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("programs", nargs="*")
    ap.add_argument("--json", nargs="*", default=[], help="saved --benchmark_format=json output")
    ap.add_argument("-r", "--reps", type=int, default=5)
    ap.add_argument("--cpu", type=int, default=None, help="pin to this CPU with taskset")
    ap.add_argument("--min-time", default="0.2", help="seconds per repetition (default 0.2)")
    ap.add_argument("--save-json", help="also write the raw JSON of the (last) program here")
    ap.add_argument("-o", "--output", help="write the Markdown here as well")
    args = ap.parse_args()
    datasets = [json.load(open(p)) for p in args.json]
    for prog in args.programs:
        d = run(prog, args.reps, args.cpu, args.min_time)
        if args.save_json:
            json.dump(d, open(args.save_json, "w"), indent=1)
        datasets.append(d)
    if not datasets:
        ap.error("give a program or --json")
    text = []
    for d in datasets:
        head, tab = table(d)
        text += [f"<!-- {head} -->", tab, ""]
    print("\n".join(text))
    if args.output:
        with open(args.output, "w") as f:
            f.write("\n".join(text))


if __name__ == "__main__":
    main()
