"""Tests of benchmarks/run.py's choice of the rows that get more repetitions (close
calls), from runs made up here (no benchmark runs)."""
import os
import sys
import unittest

BENCHMARKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "benchmarks")
sys.path.insert(0, BENCHMARKS)
import run  # noqa: E402
from test_summarize import runs_of  # noqa: E402

ALLOCATORS = [run.Allocator("pagoda", "/lib/libpagoda.so"), run.Allocator("glibc", None),
              run.Allocator("jemalloc", "/lib/libjemalloc.so.2")]


class Workload:
    kind = "workload"

    def __init__(self, name):
        self.name = name


def calls(tables):
    """close_calls on {benchmark: runs_of table}, as {benchmark: [allocator names]}."""
    runs = [r for name, table in tables.items() for r in runs_of(name, table)]
    return {bench.name: [a.name for a in who]
            for bench, who in run.close_calls([Workload(n) for n in tables], ALLOCATORS, runs)}


class CloseCalls(unittest.TestCase):
    def test_rows_where_pagoda_is_near_the_best_are_rerun_with_those_near_it(self):
        found = calls({
            "pagoda narrowly behind": {"pagoda": [(1.08, 1)], "glibc": [(1.0, 1)],
                                       "jemalloc": [(1.5, 1)]},
            "pagoda narrowly ahead": {"pagoda": [(1.0, 1)], "glibc": [(1.5, 1)],
                                      "jemalloc": [(1.05, 1)]},
            "three near": {"pagoda": [(1.0, 1)], "glibc": [(1.02, 1)], "jemalloc": [(1.09, 1)]},
        })
        self.assertEqual(found, {"pagoda narrowly behind": ["pagoda", "glibc"],
                                 "pagoda narrowly ahead": ["pagoda", "jemalloc"],
                                 "three near": ["pagoda", "glibc", "jemalloc"]})

    def test_rows_far_apart_or_close_without_pagoda_are_not(self):
        found = calls({
            "pagoda far ahead": {"pagoda": [(1.0, 1)], "glibc": [(1.2, 1)], "jemalloc": [(2.0, 1)]},
            "pagoda far behind": {"pagoda": [(1.5, 1)], "glibc": [(1.0, 1)],
                                  "jemalloc": [(1.01, 1)]},
        })
        self.assertEqual(found, {})


if __name__ == "__main__":
    unittest.main()
