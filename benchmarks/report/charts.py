"""charts.py — draws the PNG charts of a benchmark run with gnuplot.

For each kind of benchmark (micro, workload): the time ratio to the best
allocator (log scale, 1 = best) and the median peak RSS, one cluster of bars per
benchmark and one bar per allocator (benchmarks/report/clustered_bars.gp).
"""
import glob
import os
import shutil
import subprocess

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clustered_bars.gp")


def _write_data(path, summaries, allocators, value):
    with open(path, "w") as f:
        f.write("benchmark\t" + "\t".join(allocators) + "\n")
        for s in summaries:
            cells = [s.cells[a] for a in allocators]
            f.write(s.name + "\t" + "\t".join(
                "?" if c.failed else f"{value(c):.6g}" for c in cells) + "\n")


def _plot(datafile, outfile, title, ylabel, allocators, names, log_y):
    label_chars = max(len(n) for n in names)
    width = max(800, min(4000, 160 + 5 * label_chars + len(names) * (11 * len(allocators) + 12)))
    height = 520 + 6 * label_chars
    settings = (f"datafile='{datafile}'; outfile='{outfile}'; chart_title='{title}'; "
                f"y_label='{ylabel}'; columns={len(allocators)}; width={width}; height={height}; "
                f"label_chars={label_chars}; log_y={int(log_y)}")
    subprocess.run(["gnuplot", "-e", settings, SCRIPT], check=True)


def draw(out_dir, summaries, allocators):
    """Writes the .tsv data and .png charts into out_dir; returns the PNG names."""
    if not shutil.which("gnuplot"):
        print("charts: gnuplot not found, no PNG charts (tools/install-deps bench installs it)")
        return []
    for stale in glob.glob(os.path.join(out_dir, "time-ratio-*")) + \
            glob.glob(os.path.join(out_dir, "peak-rss-*")):
        os.remove(stale)
    drawn = []
    for kind in ("micro", "workload"):
        group = [s for s in summaries if s.kind == kind]
        if not group:
            continue
        for stem, title, ylabel, value, log_y in (
                (f"time-ratio-{kind}", f"{kind}: time ratio to the best allocator (lower is better)",
                 "ratio to best (log scale)", lambda c: c.ratio, True),
                (f"peak-rss-{kind}", f"{kind}: median peak RSS (lower is better)",
                 "MiB", lambda c: c.peak_rss_kib / 1024, False)):
            data = os.path.join(out_dir, stem + ".tsv")
            png = os.path.join(out_dir, stem + ".png")
            _write_data(data, group, allocators, value)
            _plot(data, png, title, ylabel, allocators, [s.name for s in group], log_y)
            drawn.append(stem + ".png")
    return drawn
