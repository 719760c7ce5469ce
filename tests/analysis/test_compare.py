"""faultline compare: a run against itself shows no significant change; a copy
whose times are all scaled by a known factor shows that factor, as regressions."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

from analysis import compare, load_runs, stats  # noqa: E402

FACTOR = 2.0
SCALED = ("ready_ms", "first_pass_ms", "total_ms", "task_clock_ms")


def with_nine_reps(run_dir, factor=1.0):
    """Turns the fixture copy's 3 repetitions into 9 (each value three times) and
    multiplies its times by factor (throughput by 1/factor)."""
    rows = [r for r in support.read_rows(run_dir) if r["status"] == "ok"]
    out = []
    for copy in range(3):
        for r in rows:
            r = dict(r, rep=r["rep"] + 3 * copy, metrics=dict(r["metrics"]))
            for m in SCALED:
                r["metrics"][m] *= factor
            r["metrics"]["gbps"] /= factor
            out.append(r)
    support.write_rows(run_dir, out)


class CompareTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = support.TempDir()
        cls.a = support.copy_fixture(cls.tmp.path, "a")
        cls.b = support.copy_fixture(cls.tmp.path, "b")
        with_nine_reps(cls.a)
        with_nine_reps(cls.b, FACTOR)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_a_run_against_itself(self):
        for run in (support.FIXTURE, self.a):
            p = support.run_module("analysis.compare", run, run)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("**0 regressed, 0 improved,", p.stdout)
            self.assertNotIn("| regressed |", p.stdout)
            self.assertNotIn("| improved |", p.stdout)

    def test_three_reps_cannot_be_significant_and_it_says_so(self):
        p = support.run_module("analysis.compare", support.FIXTURE, support.FIXTURE)
        self.assertIn("too few repetitions for the test to ever reach p < 0.05", p.stdout)
        self.assertGreater(stats.min_p_value(3, 3), stats.ALPHA)
        self.assertLess(stats.min_p_value(4, 4), stats.ALPHA)

    def test_a_known_factor(self):
        changes, notes = compare.compare_runs(load_runs.load_run(self.a),
                                              load_runs.load_run(self.b))
        self.assertEqual(notes, [])
        timed = [c for c in changes if c.metric in SCALED or c.metric == "gbps"]
        self.assertTrue(timed)
        for c in timed:
            self.assertEqual(c.verdict, compare.REGRESSED, (c.cell, c.metric))
            expected = 1 / FACTOR if c.metric == "gbps" else FACTOR
            self.assertAlmostEqual(c.ratio, expected, places=9, msg=(c.cell, c.metric))
            self.assertLess(c.p, 0.01)
        others = [c for c in changes if c not in timed]
        self.assertTrue(others)
        self.assertTrue(all(c.verdict == compare.NOISE for c in others))
        # regressions first
        verdicts = [c.verdict for c in changes]
        self.assertEqual(verdicts, sorted(verdicts, key=compare.ORDER.get))

    def test_command_line(self):
        out = os.path.join(self.tmp.path, "compare.md")
        p = support.run_module("analysis.compare", self.a, self.b, "--changes-only",
                               "--fail-on-regression", "--out", out)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("| regressed | `load/read/none/cold` | ready_ms | 1000 (990–1010) | "
                      "2000 (1980–2020) | ×2.00 |", p.stdout)
        self.assertNotIn("| within noise |", p.stdout)
        with open(out, encoding="utf-8") as f:
            self.assertEqual(f.read(), p.stdout)
        p = support.run_module("analysis.compare", self.b, self.a, "--changes-only")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("| improved | `load/read/none/cold` | ready_ms |", p.stdout)
        self.assertIn("×0.50", p.stdout)


if __name__ == "__main__":
    unittest.main()
