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
INVERSE = ("gbps", "read_gbps")  # rates: scaled by 1 / factor


def with_nine_reps(run_dir, factor=1.0, traced_factor=None):
    """Turns the fixture copy's 3 untraced repetitions of each cell into 9 (each value
    three times), numbers its traced ones after them, and multiplies the untraced
    times by factor (rates by 1/factor), the traced ones by traced_factor."""
    rows = [r for r in support.read_rows(run_dir) if r["status"] == "ok"]
    out = []

    def scaled(r, rep, f):
        r = dict(r, rep=rep, metrics=dict(r["metrics"]))
        for m in SCALED:
            r["metrics"][m] *= f
        for m in INVERSE:
            if m in r["metrics"]:
                r["metrics"][m] /= f
        return r
    for copy in range(3):
        for r in rows:
            if not r["traced"]:
                out.append(scaled(r, r["rep"] + 3 * copy, factor))
    traced = {}
    for r in rows:
        if r["traced"]:
            traced[r["cell"]] = traced.get(r["cell"], 0) + 1
            out.append(scaled(r, 9 + traced[r["cell"]], traced_factor or factor))
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
        # Only the evidence metrics (touch_*, bpf_*: 1-3 traced repetitions a
        # cell) can have too few repetitions for the test; nothing else is noted.
        self.assertTrue(all("too few repetitions" in n for n in notes), notes)
        timed = [c for c in changes if c.metric in SCALED + INVERSE]
        self.assertTrue(timed)
        for c in timed:
            if c.metric == "read_gbps" and c.a.median == 0:
                continue  # a warm cell reads nothing: 0 against 0
            self.assertEqual(c.verdict, compare.REGRESSED, (c.cell, c.metric))
            expected = 1 / FACTOR if c.metric in INVERSE else FACTOR
            self.assertAlmostEqual(c.ratio, expected, places=9, msg=(c.cell, c.metric))
            self.assertLess(c.p, 0.01)
        others = [c for c in changes if c not in timed]
        self.assertTrue(others)
        self.assertEqual({c.verdict for c in others}, {compare.NOISE})
        # regressions first
        verdicts = [c.verdict for c in changes]
        self.assertEqual(verdicts, sorted(verdicts, key=compare.ORDER.get))

    def test_traced_repetitions_are_not_compared(self):
        tmp = support.TempDir()
        try:
            a, b = support.copy_fixture(tmp.path, "a"), support.copy_fixture(tmp.path, "b")
            with_nine_reps(a)
            with_nine_reps(b, traced_factor=10.0)  # only the traced repetitions got slower
            changes, _ = compare.compare_runs(load_runs.load_run(a), load_runs.load_run(b))
            self.assertEqual({c.verdict for c in changes}, {compare.NOISE})
            self.assertEqual(changes[0].a.n, 9)
        finally:
            tmp.cleanup()

    def test_a_metric_measured_on_one_side_only_is_not_a_change(self):
        tmp = support.TempDir()
        try:
            a, b = support.copy_fixture(tmp.path, "a"), support.copy_fixture(tmp.path, "b")
            support.edit_rows(b, lambda r: support.not_measured(r, "pss_bytes", "no smaps_rollup")
                              if r["strategy"] == "read" and r["status"] == "ok" else None)
            changes, _ = compare.compare_runs(load_runs.load_run(a), load_runs.load_run(b))
            nc = [c for c in changes if c.verdict == compare.NOT_COMPARABLE]
            self.assertEqual({(c.cell.split("/")[1], c.metric) for c in nc},
                             {("read", "pss_bytes")})
            self.assertEqual(nc[0].reason, "not measured in B (no smaps_rollup)")
            self.assertEqual([c.verdict for c in changes][-len(nc):], [compare.NOT_COMPARABLE]
                             * len(nc))  # listed last, never a regression
            p = support.run_module("analysis.compare", a, b, "--fail-on-regression")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("| not comparable | `load/read/forward/cold` | pss_bytes | 1.00 GiB | – "
                          "| not measured in B (no smaps_rollup) | – | 3/0 |", p.stdout)
            self.assertIn("6 not comparable**", p.stdout)
        finally:
            tmp.cleanup()

    def test_schema_1_against_schema_2(self):
        changes, notes = compare.compare_runs(load_runs.load_run(support.FIXTURE_V1),
                                              load_runs.load_run(support.FIXTURE))
        self.assertIn("A: times from traced repetitions in 16 cells (the run predates schema "
                      "2): they include the tracer's overhead", notes)
        touch = [c for c in changes if c.metric == "touch_p50_us"]
        self.assertTrue(touch)
        self.assertTrue(all(c.verdict == compare.NOT_COMPARABLE and c.reason ==
                            "not measured in A (not recorded: the run predates schema 2)"
                            for c in touch))
        # cells only in B (random:2048) are named, not compared
        self.assertTrue(any(n.startswith("only in B: load/mmap:private,advise=random/random:2048")
                            for n in notes))

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
