#!/usr/bin/env python3
"""run.py — runs pagoda's benchmarks under pagoda, glibc, jemalloc, tcmalloc and mimalloc.

Each microbenchmark case (build/bench/micro, one process per case) and each
workload of benchmarks/workloads/manifest.tsv runs once per allocator, the
allocators interleaved (A B C D E A B C D E …) for R repetitions, each repetition
starting one allocator further on (B C D E A … in the second). Every run starts the
benchmark through the dynamic loader, `ld.so [--preload LIBRARY] PROGRAM …`, so
that the allocator is loaded into the benchmark alone (not into GNU time, which
reports the peak RSS) and glibc's runs start the same way. Per run it records the benchmark's time, the
child's wall and CPU time and its peak RSS. A run that exits non-zero, lacks a
workload's final "CHECK OK" line or whose preload did not take is a failure: it
is never reported as a time, and it makes the whole run exit non-zero, naming it,
at the end. Results go to bench-results/: runs.csv, summary.md and PNG charts.

Rows where pagoda and another allocator end within 10 % of the best get more
repetitions of those allocators (--close-reps).

  python3 benchmarks/run.py [--quick] [--reps N] [--close-reps N] [--only REGEX]
                            [--allocators LIST] [--pagoda PATH] [--manifest PATH]
                            [--timeout SECONDS]
"""
import argparse
import datetime
import functools
import glob
import json
import os
import re
import shlex
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "report"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import charts  # noqa: E402
import machine  # noqa: E402
import results_files  # noqa: E402
import summarize  # noqa: E402

BUILD = os.path.join(ROOT, "build")
MICRO = os.path.join(BUILD, "bench", "micro")
MANIFEST = os.path.join(ROOT, "benchmarks", "workloads", "manifest.tsv")
RESULTS = os.path.join(ROOT, "bench-results")
GNU_TIME = "/usr/bin/time"

# (name, shared object file name, Debian package, required). glibc needs no preload.
PEERS = [
    ("jemalloc", "libjemalloc.so.2", "libjemalloc2", True),
    ("tcmalloc", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4", False),
    ("mimalloc", "libmimalloc.so.2", "libmimalloc2.0", False),
]
ALL_ALLOCATORS = ["pagoda", "glibc"] + [p[0] for p in PEERS]
GLIBC_MALLOC_FROM = "libc.so.6"

# Google Benchmark's minimum measuring time per case, in seconds.
MIN_TIME = {False: 0.1, True: 0.01}
DEFAULT_REPS = {False: 3, True: 1}
# Rows where pagoda and at least one other allocator end within CLOSE_MARGIN of the
# best median get this many more repetitions of every allocator that close, so
# that the close calls, where noise decides most, rest on more runs (rows far apart
# are left at their repetitions).
CLOSE_MARGIN = 1.10
DEFAULT_CLOSE_REPS = {False: 2, True: 0}


@functools.lru_cache(maxsize=None)
def program_interpreter(path):
    """The dynamic loader named by an ELF executable's PT_INTERP program header."""
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        sys.exit(f"run.py: {path} is not a 64-bit ELF executable")
    order = "<" if elf[5] == 1 else ">"
    phoff, = struct.unpack_from(order + "Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from(order + "HH", elf, 0x36)
    for i in range(phnum):
        kind, _, offset, _, _, size = struct.unpack_from(order + "IIQQQQ", elf, phoff + i * phentsize)
        if kind == 3:                   # PT_INTERP
            return elf[offset:offset + size].rstrip(b"\0").decode()
    sys.exit(f"run.py: {path} names no dynamic loader (PT_INTERP)")


class Allocator:
    def __init__(self, name, preload):
        self.name = name
        self.preload = preload  # shared object to preload, None for glibc
        self.malloc_from = os.path.basename(preload) if preload else GLIBC_MALLOC_FROM

    def launch(self, cmd):
        """cmd run by its dynamic loader, with this allocator preloaded into it alone."""
        return [program_interpreter(cmd[0])] + (["--preload", self.preload] if self.preload else []) + cmd

    @staticmethod
    def env():
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        return env


def find_shared_object(file_name, package):
    """Path of a peer's shared object: from dpkg's file list, else the usual library dirs."""
    try:
        listed = subprocess.run(["dpkg-query", "-L", package], capture_output=True, text=True).stdout
    except OSError:
        listed = ""
    for path in listed.splitlines():
        if os.path.basename(path) == file_name and os.path.exists(path):
            return path
    for pattern in ("/usr/lib/*/", "/usr/lib64/", "/usr/lib/", "/lib/*/", "/usr/local/lib/"):
        hits = sorted(glob.glob(pattern + file_name))
        if hits:
            return hits[0]
    return None


def find_allocators(wanted, pagoda_lib):
    """(allocators found, {name: why skipped}); exits if required jemalloc is missing."""
    found, skipped = [], {}
    for name in wanted:
        if name == "glibc":
            found.append(Allocator(name, None))
        elif name == "pagoda":
            lib = os.path.abspath(pagoda_lib)
            if os.path.exists(lib):
                found.append(Allocator(name, lib))
            else:
                skipped[name] = f"{os.path.relpath(lib, ROOT)} does not exist (build it with `make lib`)"
        else:
            _, file_name, package, required = next(p for p in PEERS if p[0] == name)
            path = find_shared_object(file_name, package)
            if path:
                found.append(Allocator(name, path))
            elif required:
                sys.exit(f"run.py: {name} ({file_name}) not found; it is required: "
                         f"install it with tools/install-deps bench")
            else:
                skipped[name] = f"{file_name} not found (Debian package {package})"
    return found, skipped


class Child:
    """A finished child process: exit status, output, wall/CPU time, peak RSS.

    The child runs under GNU time, which reports its peak RSS: a process forked
    from this Python interpreter inherits the interpreter's RSS high-water mark
    across exec (the kernel keeps the larger one), so wait4's ru_maxrss on a
    direct child never reads below Python's own ~17 MiB. Wall time is measured
    here, CPU time (user + sys) comes from wait4.
    """

    def __init__(self, cmd, env, timeout):
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
                tempfile.NamedTemporaryFile("r") as report:
            start = time.perf_counter()
            proc = subprocess.Popen([GNU_TIME, "-f", "%M", "-o", report.name, "--"] + cmd,
                                    env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
            self.timed_out = False
            timer = threading.Timer(timeout, self._kill, (proc.pid,))
            timer.start()
            _, status, usage = os.wait4(proc.pid, 0)
            self.wall_s = time.perf_counter() - start
            timer.cancel()
            proc.returncode = self.returncode = os.waitstatus_to_exitcode(status)
            self.cpu_s = usage.ru_utime + usage.ru_stime
            lines = report.read().splitlines()
            self.signal = next((int(line.split()[-1]) for line in lines
                                if line.startswith("Command terminated by signal")), None)
            self.peak_rss_kib = int(lines[-1]) if lines and lines[-1].isdigit() else 0
            out.seek(0)
            err.seek(0)
            self.stdout = out.read().decode(errors="replace")
            self.stderr = err.read().decode(errors="replace")

    def _kill(self, pid):
        self.timed_out = True
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def failure(self, timeout):
        """Why the process failed, or None when it exited 0 with its preload taken."""
        if self.timed_out:
            return f"timed out after {timeout:g} s"
        if self.signal is not None:
            return f"killed by {signal.Signals(self.signal).name}"
        if self.returncode != 0:
            return f"exit status {self.returncode}"
        if "cannot be preloaded" in self.stderr:
            return "the preload was ignored by the dynamic loader"
        return None

    def stderr_tail(self, lines=5):
        return "\n".join(self.stderr.strip().splitlines()[-lines:])


class MicroCase:
    kind = "micro"

    def __init__(self, gb_name, quick, min_time):
        self.gb_name = gb_name
        self.name = gb_name.removesuffix("/real_time")
        self.quick = quick
        self.min_time = min_time

    def command(self, alloc):
        return [MICRO] + (["--quick"] if self.quick else []) + [
            f"--expect-malloc-from={alloc.malloc_from}",
            f"--benchmark_filter=^{re.escape(self.gb_name)}$",
            "--benchmark_format=json", f"--benchmark_min_time={self.min_time}"]

    def result(self, child):
        """(time_s, throughput or None, failure or None) from Google Benchmark's JSON."""
        try:
            report = json.loads(child.stdout)
            entry = next(b for b in report["benchmarks"] if b["name"] == self.gb_name)
        except (ValueError, KeyError, StopIteration):
            return None, None, "no result in Google Benchmark's JSON output"
        if entry.get("error_occurred"):
            return None, None, f"benchmark error: {entry.get('error_message')}"
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[entry["time_unit"]]
        return entry["real_time"] * scale, entry.get("throughput"), None


def _argument_labels(args):
    """Compact labels for a workload's extra arguments: --size 1M --touch -> size:1M, touch."""
    labels = []
    for i, arg in enumerate(args):
        if arg.startswith("--"):
            has_value = i + 1 < len(args) and not args[i + 1].startswith("--")
            labels.append(arg[2:] + (":" + args[i + 1] if has_value else ""))
        elif i == 0 or not args[i - 1].startswith("--"):
            labels.append(arg)
    return labels


class Workload:
    kind = "workload"

    def __init__(self, program, threads, args, quick):
        self.program = program
        self.threads = threads
        self.args = args
        self.quick = quick
        self.name = "/".join([program] + _argument_labels(args) + [f"threads:{threads}"])

    def command(self, alloc):
        return ([os.path.join(BUILD, "bench", self.program), "--threads", str(self.threads)]
                + (["--quick"] if self.quick else []) + self.args)

    def result(self, child):
        """(wall time, METRIC throughput or None, failure or None) from the output."""
        lines = [line for line in child.stdout.splitlines() if line.strip()]
        if not lines or not lines[-1].startswith("CHECK OK"):
            return None, None, "no final 'CHECK OK' line: the workload's self-check did not pass"
        metrics = {}
        for line in lines:
            words = line.split()
            if len(words) == 3 and words[0] == "METRIC":
                try:
                    metrics[words[1]] = float(words[2])
                except ValueError:
                    return None, None, f"malformed line: {line!r}"
        return child.wall_s, metrics.get("throughput"), None


def read_manifest(path, quick):
    """The workloads of the manifest (name<TAB>threads,…<TAB>args), one per thread count."""
    workloads = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.split("\t")
            try:
                threads = [int(t) for t in fields[1].split(",")]
            except (IndexError, ValueError):
                sys.exit(f"run.py: {path}:{number}: expected name<TAB>threads,…<TAB>args")
            args = shlex.split(fields[2]) if len(fields) > 2 else []
            workloads += [Workload(fields[0].strip(), n, args, quick) for n in threads]
    return workloads


def list_micro_cases(alloc, quick, timeout):
    """The micro case names, listed under alloc, which also proves its preload works."""
    cmd = [MICRO] + (["--quick"] if quick else []) + [
        f"--expect-malloc-from={alloc.malloc_from}", "--benchmark_list_tests=true"]
    child = Child(alloc.launch(cmd), alloc.env(), timeout)
    failure = child.failure(timeout)
    if failure:
        return None, f"{failure}: {child.stderr_tail()}"
    return child.stdout.split(), None


def parse_args():
    p = argparse.ArgumentParser(description="Compare pagoda with glibc, jemalloc, tcmalloc and mimalloc.")
    p.add_argument("--quick", action="store_true",
                   help="fewer repetitions, short micro runs, workloads in their --quick mode")
    p.add_argument("--reps", type=int, help="repetitions per benchmark and allocator "
                   f"(default {DEFAULT_REPS[False]}, {DEFAULT_REPS[True]} with --quick)")
    p.add_argument("--close-reps", type=int, metavar="N",
                   help="more repetitions for the rows where pagoda and another allocator end "
                   f"within {(CLOSE_MARGIN - 1) * 100:.0f}%% of the best, of the allocators that close "
                   f"(default {DEFAULT_CLOSE_REPS[False]}, {DEFAULT_CLOSE_REPS[True]} with --quick)")
    p.add_argument("--only", metavar="REGEX", help="run only the benchmarks whose name matches")
    p.add_argument("--allocators", metavar="LIST", default=",".join(ALL_ALLOCATORS),
                   help=f"comma-separated subset of {','.join(ALL_ALLOCATORS)}")
    p.add_argument("--pagoda", metavar="PATH", default=os.path.join(BUILD, "libpagoda.so"),
                   help="the pagoda build to measure (default build/libpagoda.so)")
    p.add_argument("--manifest", default=MANIFEST,
                   help=f"workload manifest (default {os.path.relpath(MANIFEST, ROOT)})")
    p.add_argument("--timeout", type=float, default=600, help="seconds before a run is killed (600)")
    args = p.parse_args()
    args.allocators = [a.strip() for a in args.allocators.split(",") if a.strip()]
    unknown = [a for a in args.allocators if a not in ALL_ALLOCATORS]
    if unknown or not args.allocators:
        p.error(f"unknown allocator(s) {','.join(unknown)}; choose from {','.join(ALL_ALLOCATORS)}")
    if args.reps is None:
        args.reps = DEFAULT_REPS[args.quick]
    if args.reps < 1:
        p.error("--reps must be at least 1")
    if args.close_reps is None:
        args.close_reps = DEFAULT_CLOSE_REPS[args.quick]
    if args.close_reps < 0:
        p.error("--close-reps must be at least 0")
    return args


def measure(bench, alloc, rep, timeout):
    """Runs bench once under alloc; the run's record for runs.csv and the summary."""
    child = Child(alloc.launch(bench.command(alloc)), alloc.env(), timeout)
    time_s, throughput, failure = None, None, child.failure(timeout)
    if failure:
        failure = f"{failure}: {child.stderr_tail()}" if child.stderr.strip() else failure
    else:
        time_s, throughput, failure = bench.result(child)
    return {"benchmark": bench.name, "kind": bench.kind, "allocator": alloc.name,
            "repetition": rep, "ok": failure is None, "time_s": time_s,
            "throughput": throughput, "wall_s": child.wall_s, "cpu_s": child.cpu_s,
            "peak_rss_kib": child.peak_rss_kib, "failure": failure or ""}



def close_calls(benchmarks, allocators, runs):
    """[(benchmark, [allocators within CLOSE_MARGIN of the best])] for the rows where
    pagoda is one of two or more such allocators, from the runs so far."""
    names = [a.name for a in allocators]
    summaries = summarize.summarize(runs, [(b.name, b.kind) for b in benchmarks], names)
    calls = []
    for bench, summary in zip(benchmarks, summaries):
        near = summarize.contenders(summary, CLOSE_MARGIN)
        if "pagoda" in near and len(near) > 1:
            calls.append((bench, [a for a in allocators if a.name in near]))
    return calls


def rotated(items, by):
    """items, starting at index `by` (modulo their count) and wrapping around. Each
    repetition runs the allocators in an order rotated by one more: the first run of
    a benchmark can pay for what the runs before it left behind (here the first
    process to touch a gigabyte after small ones ran 0.3-0.8 s longer, whichever
    allocator it had), and rotating spreads that over the allocators instead of
    charging it to the first one every time."""
    if not items:
        return items
    by %= len(items)
    return items[by:] + items[:by]


def progress(text):
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + text)
    else:
        sys.stderr.write(text + "\n")
    sys.stderr.flush()


def main():
    args = parse_args()
    started = datetime.datetime.now().astimezone()
    machine_description = machine.describe()
    notes = []
    if not os.access(GNU_TIME, os.X_OK):
        sys.exit(f"run.py: GNU time ({GNU_TIME}) is missing: install it with tools/install-deps bench")
    if not os.path.exists(MICRO):
        sys.exit(f"run.py: {os.path.relpath(MICRO, ROOT)} is missing: build it with `make bench-programs`")

    allocators, skipped = find_allocators(args.allocators, args.pagoda)
    # Taken before the runs: the tree (and build/libpagoda.so) may change during them.
    versions = {a.name: f"**{a.name}**: {machine.allocator_version(a.name, a.preload, ROOT)}"
                + (f" — preloaded from `{a.preload}`" if a.preload else "") for a in allocators}
    failures = []  # (benchmark, allocator, repetition, reason)
    cases = None
    for alloc in list(allocators):
        names, failure = list_micro_cases(alloc, args.quick, args.timeout)
        if failure:
            failures.append(("preload check", alloc.name, 0, failure))
            allocators.remove(alloc)
        elif cases is None:
            cases = names
    if not allocators:
        cases = []

    benchmarks = [MicroCase(c, args.quick, MIN_TIME[args.quick]) for c in cases or []]
    if os.path.exists(args.manifest):
        benchmarks += read_manifest(args.manifest, args.quick)
    else:
        notes.append(f"{os.path.relpath(args.manifest, ROOT)} does not exist: microbenchmarks only.")
    if args.only:
        benchmarks = [b for b in benchmarks if re.search(args.only, b.name)]
    for name, why in skipped.items():
        notes.append(f"{name} SKIPPED: {why}.")
    for note in notes:
        print("run.py: " + note)

    runs = []
    total = args.reps * len(benchmarks) * len(allocators)

    def run_once(bench, alloc, rep, label):
        progress(f"[{len(runs) + 1}/{total}] {label}  {bench.name}  {alloc.name}")
        runs.append(measure(bench, alloc, rep, args.timeout))
        if not runs[-1]["ok"]:
            failures.append((bench.name, alloc.name, rep, runs[-1]["failure"]))

    for rep in range(1, args.reps + 1):
        for bench in benchmarks:
            for alloc in rotated(allocators, rep - 1):
                run_once(bench, alloc, rep, f"rep {rep}/{args.reps}")
    close = close_calls(benchmarks, allocators, runs) if args.close_reps else []
    total += args.close_reps * sum(len(who) for _, who in close)
    for rep in range(args.reps + 1, args.reps + args.close_reps + 1):
        for bench, who in close:
            for alloc in rotated(who, rep - 1):
                run_once(bench, alloc, rep, f"close call, rep {rep}/{args.reps + args.close_reps}")
    if total:
        progress(f"done: {total} runs in {(datetime.datetime.now().astimezone() - started).total_seconds():.0f} s")
        if sys.stderr.isatty():
            sys.stderr.write("\n")

    names = [a.name for a in allocators]
    summaries = summarize.summarize(runs, [(b.name, b.kind) for b in benchmarks], names)
    os.makedirs(RESULTS, exist_ok=True)
    results_files.write_runs_csv(os.path.join(RESULTS, "runs.csv"), runs)
    pngs = charts.draw(RESULTS, summaries, names) if summaries and names else []
    tables = summarize.markdown_tables(summaries, names)
    geomeans = summarize.geomean_lines(summaries, names) if summaries and names else []
    behind = summarize.behind_lines(summaries, names)
    command = " ".join(shlex.quote(a) for a in ["python3", "benchmarks/run.py"] + sys.argv[1:])
    how = (f"Run on {started:%Y-%m-%d %H:%M %Z} with `{command}`: {args.reps} repetition(s) per "
           f"benchmark and allocator, allocators interleaved (their order rotated by one each "
           f"repetition){', quick mode' if args.quick else ''}"
           + (f"; on the {len(close)} rows where pagoda and another allocator ended within "
              f"{CLOSE_MARGIN - 1:.0%} of the best, {args.close_reps} more repetition(s) of the allocators "
              f"that close" if close else "")
           + f"; load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.")
    allocator_lines = [versions[a.name] for a in allocators]
    allocator_lines += [f"**{a}**: FAILED its preload check, not measured (see FAILURES)"
                        for b, a, _, _ in failures if b == "preload check"]
    allocator_lines += [f"**{name}**: SKIPPED — {why}" for name, why in skipped.items()]
    results_files.write_summary(os.path.join(RESULTS, "summary.md"), how, machine_description,
                                allocator_lines, notes, failures, geomeans, behind, tables, pngs)

    print("\n".join([""] + tables + geomeans + [""] + behind))
    print(f"\nResults: {os.path.relpath(RESULTS, ROOT)}/summary.md, runs.csv"
          + "".join(", " + p for p in pngs))
    return report_status(failures, skipped, args.allocators)


def report_status(failures, skipped, requested):
    """Exit status: 1 on any failure, 3 if pagoda was requested but missing, else 0."""
    if failures:
        print(f"\nBENCHMARK RUN FAILED: {len(failures)} failed run(s):", file=sys.stderr)
        for f in failures:
            print("  FAILED " + results_files.describe_failure(*f).replace("\n", "\n      "), file=sys.stderr)
        return 1
    if "pagoda" in requested and "pagoda" in skipped:
        print(f"\nPAGODA SKIPPED: {skipped['pagoda']}; only its peers were measured.", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
