"""The runner's --help: argparse expands every help string with %-formatting, so a bare
percent sign in one breaks the whole page (it did once)."""
import os
import subprocess
import sys
import unittest

RUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "benchmarks", "run.py")


class RunHelp(unittest.TestCase):
    def test_help_lists_every_option(self):
        done = subprocess.run([sys.executable, RUN, "--help"], capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr[-500:])
        for option in ("--quick", "--reps", "--close-reps", "--only", "--allocators", "--pagoda",
                       "--manifest", "--timeout"):
            self.assertIn(option, done.stdout)
        self.assertIn("within 10% of the best", " ".join(done.stdout.split()))


if __name__ == "__main__":
    unittest.main()
