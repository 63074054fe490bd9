"""results_files.py — writes bench-results/runs.csv and bench-results/summary.md.

runs.csv has one line per run, failures included; summary.md describes the run
(command, machine, allocator versions), then lists notes, failures, the geometric
means, the rows where pagoda is behind, the tables and the charts.
"""
import csv

RUNS_FIELDS = ["benchmark", "kind", "allocator", "repetition", "status", "time_s",
               "throughput_per_s", "wall_s", "cpu_s", "peak_rss_kib", "failure"]


def write_runs_csv(path, runs):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(RUNS_FIELDS)
        for r in runs:
            w.writerow([r["benchmark"], r["kind"], r["allocator"], r["repetition"],
                        "ok" if r["ok"] else "FAILED",
                        "" if r["time_s"] is None else f"{r['time_s']:.6g}",
                        "" if r["throughput"] is None else f"{r['throughput']:.6g}",
                        f"{r['wall_s']:.4f}", f"{r['cpu_s']:.4f}", r["peak_rss_kib"], r["failure"]])


def describe_failure(bench, alloc, rep, why):
    """One failure, as "<benchmark> under <allocator> (<when>): <why>"."""
    where = f"repetition {rep}" if rep else "before the runs: allocator not measured"
    return f"{bench} under {alloc} ({where}): {why}"


def write_summary(path, how, machine_description, allocator_lines, notes, failures,
                  geomeans, behind, tables, pngs):
    lines = ["# pagoda benchmark results", "", how, "",
             "## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in machine_description]
    lines += ["", "## Allocators", ""] + [f"- {line}" for line in allocator_lines]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    if failures:
        lines += ["", "## FAILURES", "", "These runs failed and are not reported as times:", ""]
        lines += [f"- {describe_failure(*f).splitlines()[0]}" for f in failures]
    lines += ["", "## Geometric means", ""] + geomeans
    if behind:
        lines += ["", "## Rows where pagoda is behind", ""] + behind
    lines += ["", "## Results", ""] + tables
    if pngs:
        lines += ["## Charts", ""] + [f"![{p}]({p})" for p in pngs] + [""]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
