"""summarize.py — turns individual benchmark runs into medians, ratios and tables.

A run is a dict with: benchmark, kind ('micro' or 'workload'), allocator, ok,
time_s, throughput (None unless the benchmark reports one) and peak_rss_kib.
For each benchmark and allocator the summary holds the median time (or, for a
benchmark that reports a throughput, the median throughput), its ratio to the best
allocator (always >= 1, 1 = best, whichever way the metric points) and the median
peak RSS with its ratio to the smallest. Where pagoda is not first, the section
"Rows where pagoda is behind" says in how many repetitions it was behind: the
runner measures the allocators one after another within each repetition, so the
results of one repetition are paired, and a row behind in one of three repetitions
is the machine's noise more often than the allocator's doing.
"""
import math
import statistics


class Cell:
    """One allocator's result on one benchmark."""

    def __init__(self, runs):
        good = [r for r in runs if r["ok"]]
        self.failed = len(good) != len(runs) or not runs
        self.runs = len(runs)
        self.time_s = statistics.median(r["time_s"] for r in good) if good else None
        thr = [r["throughput"] for r in good if r["throughput"] is not None]
        self.throughput = statistics.median(thr) if thr and len(thr) == len(good) else None
        self.peak_rss_kib = statistics.median(r["peak_rss_kib"] for r in good) if good else None
        self.rep_time = {r["repetition"]: r["time_s"] for r in good}
        self.rep_throughput = {r["repetition"]: r["throughput"] for r in good}
        self.rep_rss = {r["repetition"]: r["peak_rss_kib"] for r in good}
        self.ratio = None
        self.rss_ratio = None


class Summary:
    """Every allocator's result on one benchmark, with ratios to the best."""

    def __init__(self, name, kind, runs, allocators):
        self.name = name
        self.kind = kind
        self.cells = {a: Cell([r for r in runs if r["allocator"] == a]) for a in allocators}
        ok = [c for c in self.cells.values() if not c.failed]
        self.by_throughput = bool(ok) and all(c.throughput is not None for c in ok)
        if not ok:
            return
        if self.by_throughput:
            best = max(c.throughput for c in ok)
            for c in ok:
                c.ratio = best / c.throughput if c.throughput > 0 else math.inf
        else:
            best = min(c.time_s for c in ok)
            for c in ok:
                c.ratio = c.time_s / best if best > 0 else math.nan
        least = min(c.peak_rss_kib for c in ok)
        for c in ok:
            c.rss_ratio = c.peak_rss_kib / least if least > 0 else math.nan


def summarize(runs, benchmarks, allocators):
    """One Summary per (name, kind) in benchmarks, in that order."""
    return [Summary(name, kind, [r for r in runs if r["benchmark"] == name], allocators)
            for name, kind in benchmarks]


def geometric_means(summaries, allocators):
    """{allocator: (time-ratio geomean, RSS-ratio geomean)} and the benchmark count,
    over the benchmarks on which every allocator succeeded (so all share one set)."""
    complete = [s for s in summaries if all(not s.cells[a].failed for a in allocators)]
    if not complete:
        return {}, 0

    def geomean(values):
        return math.exp(sum(math.log(v) for v in values) / len(values))

    return ({a: (geomean([s.cells[a].ratio for s in complete]),
                 geomean([s.cells[a].rss_ratio for s in complete])) for a in allocators},
            len(complete))


def contenders(summary, margin):
    """The allocators whose median on this row is within `margin` (a ratio, 1.10 for
    10 %) of the best one's, best first; none when every allocator failed."""
    ok = [(c.ratio, a) for a, c in summary.cells.items() if not c.failed]
    return [a for ratio, a in sorted(ok) if ratio <= margin]


def _reps_behind(mine, theirs, worse):
    """(repetitions in which `worse(mine, theirs)`, repetitions both have)."""
    paired = [rep for rep in mine if rep in theirs]
    return sum(1 for rep in paired if worse(mine[rep], theirs[rep])), len(paired)


def behind_lines(summaries, allocators, subject="pagoda", baseline="jemalloc"):
    """Markdown lines: the rows where `subject` is not the fastest, and those where its
    peak RSS is above `baseline`'s, each with the repetitions it was behind in."""
    if subject not in allocators or len(allocators) < 2:
        return []
    time_rows, rss_rows = [], []
    for s in summaries:
        mine = s.cells[subject]
        if mine.failed:
            continue
        if mine.ratio > 1.0:
            best_name = next(a for a in allocators if a != subject and s.cells[a].ratio == 1.0)
            best = s.cells[best_name]
            if s.by_throughput:
                count, reps = _reps_behind(mine.rep_throughput, best.rep_throughput, lambda a, b: a < b)
                values = format_rate(mine.throughput), format_rate(best.throughput)
            else:
                count, reps = _reps_behind(mine.rep_time, best.rep_time, lambda a, b: a > b)
                values = format_time(mine.time_s), format_time(best.time_s)
            time_rows.append(f"| {s.name} | {values[0]} | {best_name} {values[1]} | "
                             f"{mine.ratio:.2f}× | {count} of {reps} |")
        other = s.cells.get(baseline)
        if other and not other.failed and mine.peak_rss_kib > other.peak_rss_kib:
            count, reps = _reps_behind(mine.rep_rss, other.rep_rss, lambda a, b: a > b)
            rss_rows.append(f"| {s.name} | {format_kib(mine.peak_rss_kib)} | "
                            f"{format_kib(other.peak_rss_kib)} | "
                            f"{mine.peak_rss_kib / other.peak_rss_kib:.3f}× | {count} of {reps} |")
    lines = [f"Time: the rows where {subject}'s median is not the best, with the repetitions "
             f"in which it was behind the best allocator's run of the same repetition.", ""]
    if time_rows:
        lines += [f"| Benchmark | {subject} | best | ratio | repetitions behind |",
                  "|---|---:|---:|---:|---:|"] + time_rows
    else:
        lines += [f"None: {subject} is the best on every row."]
    lines += ["", f"Peak RSS: the rows where {subject}'s median is above {baseline}'s.", ""]
    if baseline not in allocators:
        lines += [f"{baseline} was not measured."]
    elif rss_rows:
        lines += [f"| Benchmark | {subject} | {baseline} | ratio | repetitions above |",
                  "|---|---:|---:|---:|---:|"] + rss_rows
    else:
        lines += [f"None: {subject}'s peak RSS is at or below {baseline}'s on every row."]
    return lines


def format_time(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_rate(per_second):
    for unit, scale in (("G/s", 1e9), ("M/s", 1e6), ("k/s", 1e3)):
        if per_second >= scale:
            return f"{per_second / scale:.3g} {unit}"
    return f"{per_second:.3g} /s"


def format_kib(kib):
    return f"{kib / 1024:.1f} MiB" if kib >= 1024 else f"{kib:.0f} KiB"


def _table(summaries, allocators, cell_text):
    lines = ["| Benchmark | " + " | ".join(allocators) + " |",
             "|---|" + "---:|" * len(allocators)]
    for s in summaries:
        lines.append(f"| {s.name} | " + " | ".join(cell_text(s, s.cells[a]) for a in allocators) + " |")
    return lines


def _time_cell(summary, cell):
    if cell.failed:
        return "**FAILED**"
    value = format_rate(cell.throughput) if summary.by_throughput else format_time(cell.time_s)
    text = f"{value} ({cell.ratio:.2f}×)"
    return f"**{text}**" if cell.ratio == 1.0 else text


def _rss_cell(summary, cell):
    if cell.failed:
        return "**FAILED**"
    return f"{format_kib(cell.peak_rss_kib)} ({cell.rss_ratio:.2f}×)"


def markdown_tables(summaries, allocators):
    """Markdown lines: a time table and a peak-RSS table for each kind of benchmark."""
    lines = []
    for kind, title in (("micro", "Microbenchmarks"), ("workload", "Workloads")):
        group = [s for s in summaries if s.kind == kind]
        if not group:
            continue
        lines += [f"### {title}: time", "",
                  "Median time per iteration (micro) or per run (workloads); a rate "
                  "(`/s`, higher is better) where the benchmark reports a throughput. "
                  "In brackets: ratio to the best allocator (1.00× = best, shown in bold).", ""]
        lines += _table(group, allocators, _time_cell) + [""]
        lines += [f"### {title}: peak RSS", "",
                  "Median peak resident set size of the whole process; in brackets: "
                  "ratio to the smallest.", ""]
        lines += _table(group, allocators, _rss_cell) + [""]
    return lines


def geomean_lines(summaries, allocators):
    """Markdown lines: one line per allocator with both geometric means."""
    means, count = geometric_means(summaries, allocators)
    if not means:
        return ["No benchmark succeeded under every allocator: no geometric mean."]
    lines = [f"Geometric mean of the ratios to the best, over the {count} benchmarks "
             f"that succeeded under every allocator (1.00 = best everywhere):", ""]
    width = max(len(a) for a in allocators)
    lines += [f"    {a:<{width}}  time {means[a][0]:6.2f}×   peak RSS {means[a][1]:6.2f}×"
              for a in allocators]
    return lines
