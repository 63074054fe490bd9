#!/usr/bin/env python3
"""zero_and_release.py — the two measurements behind pagoda's zeroing and release rules.

  calloc     The seed's loop: calloc(SIZE, 1) + free, SIZE = 1 MiB .. 1 GiB, untouched
             and with one byte written per page before the free. Allocators are
             interleaved (A B C … A B C …); each cell is the median of --reps runs of
             build/bench/calloc_loop, in microseconds per iteration. Prints a Markdown
             table with each row's best marked, and writes calloc.csv (into --out,
             bench-results/ by default).
  retention  build/bench/retention under each allocator (2 threads build ~1 GiB, free a
             random 90 %, then a light steady load): RSS every 100 ms after the big
             free. Writes retention.csv and retention.png (gnuplot) into --out and
             prints RSS 5 s after the free per allocator.

  python3 benchmarks/zero_and_release.py calloc [--reps N] [--quick] [common options]
  python3 benchmarks/zero_and_release.py retention [--seconds S] [common options]
  common options: --allocators LIST, --out DIR, --pagoda-lib PATH
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import ALL_ALLOCATORS, BUILD, RESULTS, find_allocators  # noqa: E402

MIB = 1 << 20
# (size, touch, iterations): iterations keep the slowest allocator near a second a row.
CALLOC_ROWS = [
    ("1M", False, 4000), ("8M", False, 1000), ("100M", False, 24), ("1G", False, 3),
    ("1M", True, 1000), ("8M", True, 100), ("100M", True, 8), ("1G", True, 2),
]


def metric(output, name):
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "METRIC" and parts[1] == name:
            return float(parts[2])
    return None


def run_checked(argv, alloc):
    done = subprocess.run(argv, env=alloc.env(), capture_output=True, text=True)
    if done.returncode != 0 or "CHECK OK" not in done.stdout:
        sys.exit(f"{' '.join(argv)} failed under {alloc.name}:\n{done.stdout}{done.stderr}")
    return done.stdout


def calloc_table(args, allocators):
    program = os.path.join(BUILD, "bench", "calloc_loop")
    samples = {}
    for rep in range(args.reps):
        for size, touch, iters in CALLOC_ROWS:
            if args.quick:
                iters = max(1, iters // 8)
            for alloc in allocators:
                argv = [program, "--size", size, "--iters", str(iters)] + (["--touch"] if touch else [])
                print(f"\r[{rep + 1}/{args.reps}] calloc {size}{' written' if touch else ''} "
                      f"{alloc.name:<9}", end="", file=sys.stderr, flush=True)
                value = metric(run_checked(argv, alloc), "us_per_iter")
                samples.setdefault((size, touch, alloc.name), []).append(value)
    print(file=sys.stderr)
    names = [a.name for a in allocators]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "calloc.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["size", "written", "allocator", "us_per_iter_median", "runs"])
        for (size, touch, name), values in samples.items():
            writer.writerow([size, int(touch), name, f"{statistics.median(values):.1f}", len(values)])
    print("| size | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for size, touch, _ in CALLOC_ROWS:
        medians = {n: statistics.median(samples[(size, touch, n)]) for n in names}
        best = min(medians.values())
        cells = [f"**{medians[n]:,.1f}**" if medians[n] == best else f"{medians[n]:,.1f}" for n in names]
        print(f"| {size} {'written' if touch else 'untouched'} | " + " | ".join(cells) + " |")


def retention_curves(args, allocators):
    program = os.path.join(BUILD, "bench", "retention")
    curves = {}
    for alloc in allocators:
        print(f"retention under {alloc.name} ...", file=sys.stderr, flush=True)
        out = run_checked([program, "--threads", "2", "--seconds", str(args.seconds)], alloc)
        curves[alloc.name] = {int(p[1]): int(p[2]) for p in
                              (line.split() for line in out.splitlines()) if p and p[0] == "RSS"}
    os.makedirs(args.out, exist_ok=True)
    names = [a.name for a in allocators]
    times = sorted(set().union(*[c.keys() for c in curves.values()]))
    data = os.path.join(args.out, "retention.csv")
    with open(data, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["ms_after_big_free"] + [f"{n}_rss_mib" for n in names])
        for t in times:
            writer.writerow([t] + [f"{curves[n][t] / MIB:.1f}" if t in curves[n] else "" for n in names])
    plot = ", ".join(f"'{data}' using ($1/1000):{i + 2} with lines lw 2 title '{n}'"
                     for i, n in enumerate(names))
    script = (f"set terminal pngcairo size 900,500 noenhanced; set output '{os.path.join(args.out, 'retention.png')}';"
              "set datafile separator ','; set key autotitle columnhead outside right;"
              "set xlabel 'seconds after freeing 90 % of ~1 GiB'; set ylabel 'RSS (MiB)';"
              "set grid; set yrange [0:*];"
              f"set title 'Resident memory after a big free (retention workload)'; plot {plot}")
    subprocess.run(["gnuplot", "-e", script], check=True)
    for n in names:
        at_5s = min((t for t in curves[n] if t >= 5000), default=max(curves[n]))
        print(f"{n}: {curves[n][at_5s] / MIB:.0f} MiB at {at_5s / 1000:.1f} s after the big free")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["calloc", "retention"])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--allocators", default=",".join(ALL_ALLOCATORS))
    parser.add_argument("--out", default=RESULTS, help="where the CSV and PNG files go")
    parser.add_argument("--pagoda-lib", default=os.path.join(BUILD, "libpagoda.so"))
    args = parser.parse_args()
    allocators, skipped = find_allocators(args.allocators.split(","), args.pagoda_lib)
    for name, why in skipped.items():
        print(f"skipping {name}: {why}", file=sys.stderr)
    (calloc_table if args.what == "calloc" else retention_curves)(args, allocators)


if __name__ == "__main__":
    main()
