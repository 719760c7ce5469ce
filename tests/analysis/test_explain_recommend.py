""""What the kernel did" and the recommendation, on the fixture."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from test_compare import with_nine_reps  # noqa: E402

from analysis import cells, explain, load_runs, recommend  # noqa: E402


def run_cells(path):
    return [cells.RunCells(r) for r in load_runs.load_runs([path])]


class ExplainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lines = {e.strategy: e.text for e in explain.explain(run_cells(support.FIXTURE))}

    def test_random_advice(self):
        text = self.lines["mmap:private,advise=random"]
        self.assertIn("no readahead (0 readahead windows)", text)
        self.assertIn("one file fault per page (262,144 faults)", text)
        self.assertIn("1.00 GiB from the device in 262,144 block requests (4.00 KiB each on "
                      "average), bio latency p50 53.0 µs", text)
        self.assertIn("first touch p50 70.0 µs, p99 210 µs", text)
        # untraced medians: 20000 / 1500 (the traced repetitions are 5 % slower)
        self.assertIn("13.3× slower than `mmap:private` to the end of the `forward` pass", text)

    def test_populate_pays_inside_ready(self):
        self.assertIn("the I/O is paid inside ready_ms (495 ms ready, 15.0 ms pass)",
                      self.lines["mmap:private,populate"])

    def test_lazy_mmap(self):
        text = self.lines["mmap:private"]
        self.assertIn("readahead read 262,144 pages (100 % of the file) in 2,048 sync + 0 async "
                      "windows (it asked for 267,264), 2.1 % of it never used (5,505 pages)",
                      text)
        self.assertIn("fault-around windows spanned 245,760 pages", text)
        self.assertIn("ready at once, the I/O is paid by the first pass (1500 ms)", text)

    def test_kernel_fault_latency_is_not_measured_here(self):
        self.assertIn("first touch p50 0.9 µs, p99 1800 µs (kernel fault latency not measured "
                      "here: fentry/fexit attach refused (EPERM) and no kprobes on this "
                      "kernel)", self.lines["mmap:private"])
        for text in self.lines.values():
            self.assertNotIn("handle_mm_fault p50", text)

    def test_read(self):
        self.assertIn("no file page faults", self.lines["read"])
        self.assertIn("every page of it used", self.lines["read"])

    def test_schema_1_readahead_counted_what_it_asked_for(self):
        lines = {e.strategy: e.text for e in explain.explain(run_cells(support.FIXTURE_V1))}
        self.assertIn("readahead asked for 262,144 pages (100 % of the file) in 2,048 sync + 0 "
                      "async windows", lines["mmap:private"])
        self.assertNotIn("readahead read", lines["mmap:private"])

    def test_untraced_cells_are_not_explained_from_nothing(self):
        tmp = support.TempDir()
        try:
            run = support.copy_fixture(tmp.path)
            support.edit_rows(run, lambda r: r.update(status="failed", error="tracer failed",
                                                      metrics={}, exit_code=1)
                              if r["traced"] and r["strategy"] == "read" else None)
            lines = {e.strategy: e.text for e in explain.explain(run_cells(run))}
            self.assertEqual(lines["read"], "not traced (no traced repetition of this cell)")
        finally:
            tmp.cleanup()


class RecommendTest(unittest.TestCase):
    def test_fixture(self):
        recs = {r.goal.key: r for r in recommend.recommend(run_cells(support.FIXTURE))}
        r = recs["startup"]
        self.assertEqual((r.best.strategy, r.runner_up.strategy),
                         ("mmap:private", "mmap:private,advise=random"))
        self.assertIn("margin 1.20×", r.text())
        self.assertIn("too few repetitions for a test (n = 3 and 3); ranges do not overlap",
                      r.text())
        r = recs["first_forward"]
        self.assertEqual((r.best.strategy, r.runner_up.strategy),
                         ("mmap:private,populate", "read"))
        self.assertIn("`mmap:private,populate` (510 ms) over `read` (1020 ms): margin 2.00×",
                      r.text())
        # every mmap strategy ends with the same RSS and anon: a tie, the faster first
        # read ends with its copy in anon memory, the mmaps with the file: same RSS
        for key, runner in (("rss", "read"), ("memory_limit", "mmap:private")):
            r = recs[key]
            self.assertEqual((r.best.strategy, r.runner_up.strategy, r.tie),
                             ("mmap:private,populate", runner, True))
            self.assertIn("ties with `%s`" % runner, r.text())
            self.assertIn("named as the fastest to the end of the forward pass", r.text())
        self.assertIn("no cell of this run had a memory limit", recs["memory_limit"].text())

    def test_under_a_real_memory_limit(self):
        tmp = support.TempDir()
        try:
            run = support.copy_fixture(tmp.path)
            rows = support.read_rows(run)
            for r in rows:
                r["memory_limit_bytes"] = 1 << 30
                if r["strategy"] == "mmap:private,populate" and r["rep"] == 2:
                    r.update(status="oom_killed", error="killed by the OOM killer", metrics={},
                             term_signal=9, exit_code=None)
            support.write_rows(run, rows)
            recs = {r.goal.key: r for r in recommend.recommend(run_cells(run))}
            r = recs["memory_limit"]
            self.assertEqual((r.best.strategy, r.runner_up.strategy), ("read", "mmap:private"))
            self.assertIn("never failed under the 1.00 GiB limit", r.text())
            self.assertIn("failed: `mmap:private,populate`", r.text())
        finally:
            tmp.cleanup()

    def test_beyond_noise_with_enough_repetitions(self):
        tmp = support.TempDir()
        try:
            run = support.copy_fixture(tmp.path)
            with_nine_reps(run)
            recs = {r.goal.key: r for r in recommend.recommend(run_cells(run))}
            self.assertIn("beyond noise (Mann-Whitney p =", recs["startup"].verdict)
            self.assertIn("beyond noise", recs["first_forward"].verdict)
        finally:
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
