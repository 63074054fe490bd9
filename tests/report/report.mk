# report.mk — the benchmark report's tests (included by the top-level Makefile).
#
#   make test-report   run the unittest suite of tests/report/ against the Python code
#                      that turns benchmark runs into medians, ratios and the rows where
#                      pagoda is behind (benchmarks/report/summarize.py), and the runner's
#                      choice of close calls and its --help (benchmarks/run.py). No benchmark
#                      runs; python3's own unittest is all it needs.

.PHONY: test-report

test-report:
	python3 -m unittest discover -s tests/report -p 'test_*.py'

TEST_STEPS += test-report
