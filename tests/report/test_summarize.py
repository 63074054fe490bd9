"""Tests of benchmarks/report/summarize.py: medians, ratios, and the rows where pagoda
is behind, from runs made up here (no benchmark runs)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "benchmarks", "report"))
import summarize  # noqa: E402

ALLOCATORS = ["pagoda", "glibc", "jemalloc"]


def run(benchmark, allocator, repetition, time_s, rss_kib, throughput=None, ok=True):
    return {"benchmark": benchmark, "kind": "workload", "allocator": allocator,
            "repetition": repetition, "ok": ok, "time_s": time_s,
            "throughput": throughput, "peak_rss_kib": rss_kib}


def runs_of(benchmark, table, throughput=False):
    """table: {allocator: [(value, rss) per repetition]}, value a time or a rate."""
    return [run(benchmark, a, rep + 1, 1.0 if throughput else value, rss,
                throughput=value if throughput else None)
            for a, reps in table.items() for rep, (value, rss) in enumerate(reps)]


def behind(runs, names):
    benchmarks = list(dict.fromkeys((r["benchmark"], r["kind"]) for r in runs))
    return summarize.behind_lines(summarize.summarize(runs, benchmarks, names), names)


class MediansAndRatios(unittest.TestCase):
    def test_time_ratio_is_to_the_fastest_median(self):
        runs = runs_of("b", {"pagoda": [(2.0, 100), (3.0, 100), (4.0, 100)],
                             "glibc": [(1.0, 50), (1.5, 60), (9.0, 70)],
                             "jemalloc": [(6.0, 80), (6.0, 80), (6.0, 80)]})
        (s,) = summarize.summarize(runs, [("b", "workload")], ALLOCATORS)
        self.assertEqual(s.cells["glibc"].time_s, 1.5)
        self.assertEqual(s.cells["pagoda"].ratio, 2.0)
        self.assertEqual(s.cells["glibc"].ratio, 1.0)
        self.assertEqual(s.cells["pagoda"].rss_ratio, 100 / 60)

    def test_a_failed_run_fails_the_cell(self):
        runs = runs_of("b", {"pagoda": [(1.0, 10)], "glibc": [(2.0, 10)],
                             "jemalloc": [(3.0, 10)]})
        runs.append(run("b", "jemalloc", 2, None, None, ok=False))
        (s,) = summarize.summarize(runs, [("b", "workload")], ALLOCATORS)
        self.assertTrue(s.cells["jemalloc"].failed)
        self.assertIsNone(s.cells["jemalloc"].ratio)


class Contenders(unittest.TestCase):
    def test_the_allocators_within_the_margin_best_first(self):
        runs = runs_of("b", {"pagoda": [(1.05, 10)], "glibc": [(1.0, 10)],
                             "jemalloc": [(1.2, 10)]})
        (s,) = summarize.summarize(runs, [("b", "workload")], ALLOCATORS)
        self.assertEqual(summarize.contenders(s, 1.10), ["glibc", "pagoda"])
        self.assertEqual(summarize.contenders(s, 1.0), ["glibc"])
        self.assertEqual(summarize.contenders(s, 1.25), ["glibc", "pagoda", "jemalloc"])

    def test_by_throughput_and_without_failed_cells(self):
        runs = runs_of("b", {"pagoda": [(95.0, 10)], "glibc": [(100.0, 10)],
                             "jemalloc": [(100.0, 10)]}, throughput=True)
        runs.append(run("b", "jemalloc", 2, None, None, ok=False))
        (s,) = summarize.summarize(runs, [("b", "workload")], ALLOCATORS)
        self.assertEqual(summarize.contenders(s, 1.10), ["glibc", "pagoda"])


class RowsBehind(unittest.TestCase):
    def test_counts_the_repetitions_behind_the_best_of_the_same_repetition(self):
        # pagoda's median (2.0) is behind glibc's (1.5); paired by repetition it is
        # behind in repetitions 1 and 2 and ahead in 3 (1.0 against 9.0).
        runs = runs_of("slow row", {"pagoda": [(2.0, 10), (3.0, 10), (1.0, 10)],
                                    "glibc": [(1.0, 10), (1.5, 10), (9.0, 10)],
                                    "jemalloc": [(6.0, 10), (6.0, 10), (6.0, 10)]})
        lines = behind(runs, ALLOCATORS)
        rows = [line for line in lines if line.startswith("| slow row |")]
        self.assertEqual(len(rows), 1)
        self.assertIn("| glibc 1.5 s |", rows[0])
        self.assertIn("| 1.33× |", rows[0])
        self.assertTrue(rows[0].endswith("| 2 of 3 |"), rows[0])

    def test_higher_throughput_is_better(self):
        runs = runs_of("rate row", {"pagoda": [(100.0, 10), (90.0, 10), (95.0, 10)],
                                    "glibc": [(200.0, 10), (80.0, 10), (190.0, 10)],
                                    "jemalloc": [(50.0, 10), (50.0, 10), (50.0, 10)]},
                       throughput=True)
        rows = [line for line in behind(runs, ALLOCATORS) if line.startswith("| rate row |")]
        self.assertEqual(len(rows), 1)
        self.assertIn("| glibc 190 /s |", rows[0])
        self.assertTrue(rows[0].endswith("| 2 of 3 |"), rows[0])

    def test_peak_rss_is_compared_with_jemalloc_only(self):
        # Above glibc's RSS (not listed) and above jemalloc's in 1 of 2 repetitions.
        runs = runs_of("big row", {"pagoda": [(1.0, 300), (1.0, 500)],
                                   "glibc": [(2.0, 100), (2.0, 100)],
                                   "jemalloc": [(2.0, 350), (2.0, 350)]})
        lines = behind(runs, ALLOCATORS)
        self.assertIn("None: pagoda is the best on every row.", lines)
        rows = [line for line in lines if line.startswith("| big row |")]
        self.assertEqual(rows, ["| big row | 400 KiB | 350 KiB | 1.143× | 1 of 2 |"])

    def test_first_everywhere_says_so(self):
        runs = runs_of("good row", {"pagoda": [(1.0, 10)], "glibc": [(2.0, 20)],
                                    "jemalloc": [(3.0, 30)]})
        lines = behind(runs, ALLOCATORS)
        self.assertIn("None: pagoda is the best on every row.", lines)
        self.assertIn("None: pagoda's peak RSS is at or below jemalloc's on every row.", lines)

    def test_nothing_without_pagoda_or_a_peer(self):
        runs = runs_of("row", {"glibc": [(1.0, 10)], "jemalloc": [(2.0, 10)]})
        self.assertEqual(behind(runs, ["glibc", "jemalloc"]), [])
        runs = runs_of("row", {"pagoda": [(1.0, 10)]})
        self.assertEqual(behind(runs, ["pagoda"]), [])

    def test_without_jemalloc_the_memory_baseline_is_missing(self):
        runs = runs_of("row", {"pagoda": [(2.0, 10)], "glibc": [(1.0, 10)]})
        lines = behind(runs, ["pagoda", "glibc"])
        self.assertIn("jemalloc was not measured.", lines)
        self.assertTrue(any(line.startswith("| row |") for line in lines))


if __name__ == "__main__":
    unittest.main()
