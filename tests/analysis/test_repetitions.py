"""Which repetitions a number comes from: headline times, memory, faults and
throughput from the untraced repetitions; bpf_* from the traced ones only; the
fall-back to traced repetitions of a schema 1 run (and of a cell whose
untraced repetitions all failed), said in the report; the tracer's overhead
where a cell has 3 traced repetitions."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

from analysis import cells, document, load_runs, provenance, tables  # noqa: E402

COLD_FORWARD = ("mmap:private", "forward", "cold")


def run_cells(path):
    return cells.RunCells(load_runs.load_run(path))


class UntracedFirstTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rc = run_cells(support.FIXTURE)

    def test_times_come_from_the_untraced_repetitions(self):
        cell = self.rc.get(*COLD_FORWARD)
        self.assertEqual((len(cell.untraced_rows), len(cell.traced_rows)), (3, 3))
        self.assertFalse(cell.fallback)
        # untraced 1500 x (1.00, 1.01, 0.99); traced x (1.05, 1.06, 1.04) are left out
        s = cell.summary("total_ms")
        self.assertEqual(s.n, 3)
        self.assertAlmostEqual(s.median, 1500.01)
        self.assertAlmostEqual(s.max, 0.01 * 1.01 + 1500 * 1.01)
        self.assertEqual(cell.source("total_ms"), cells.UNTRACED)

    def test_bpf_metrics_come_from_the_traced_repetitions_only(self):
        cell = self.rc.get(*COLD_FORWARD)
        self.assertEqual(cell.summary("bpf_filemap_faults").n, 3)
        self.assertEqual(cell.source("bpf_filemap_faults"), cells.TRACED)

    def test_a_bpf_value_in_an_untraced_row_is_ignored(self):
        tmp = support.TempDir()
        try:
            def poison(r):
                if not r["traced"] and r["status"] == "ok":
                    r["metrics"]["bpf_filemap_faults"] = 999999
            rc = run_cells(support.copy_with(tmp, poison))
            cell = rc.get("read", "forward", "cold")
            self.assertEqual(cell.summary("bpf_filemap_faults").values, (0.0,))
        finally:
            tmp.cleanup()

    def test_tracer_overhead_where_three_traced_repetitions(self):
        fraction, traced, untraced = self.rc.get(*COLD_FORWARD).tracer_overhead()
        self.assertAlmostEqual(fraction, 0.05, places=6)
        self.assertEqual((traced.n, untraced.n), (3, 3))
        self.assertIsNone(self.rc.get("read", "forward", "cold").tracer_overhead())  # 1 traced
        lines = provenance.overhead_lines(self.rc)
        self.assertEqual(lines, ["fixture: tracer overhead on `load/mmap:private/forward/cold`: "
                                 "+5.0 % total_ms (traced median 1575 ms over 3 repetitions, "
                                 "untraced 1500 ms over 3)"])

    def test_the_report_says_where_numbers_come_from(self):
        lines = provenance.lines(self.rc)
        self.assertEqual(lines, [
            "fixture: times, memory, faults, bytes read and throughput: the untraced "
            "repetitions (3 per cell, rows with traced false); kernel evidence (bpf_*), the "
            "timeline and RSS samples: the traced repetitions (1–3 per cell)"])
        self.assertEqual(provenance.fallback_notes(self.rc), [])
        facts = dict(document.host_facts(self.rc))
        self.assertEqual(facts["repetitions"], "3 untraced + 1–3 traced per cell")


class FallbackTest(unittest.TestCase):
    def test_schema_1_run_falls_back_to_traced_and_says_so(self):
        run = load_runs.load_run(support.FIXTURE_V1)
        self.assertTrue(run.predates_schema_2)
        rc = cells.RunCells(run)
        self.assertEqual(len(rc.fallback_cells()), len(rc.cells))
        cell = rc.get(*COLD_FORWARD)
        self.assertEqual(cell.summary("total_ms").n, 3)
        self.assertEqual(cell.source("total_ms"), cells.TRACED)
        self.assertEqual(provenance.fallback_notes(rc),
                         ["fixture: times from traced repetitions: this run predates schema 2"])
        doc = document.build([run])
        self.assertIn("fixture: times from traced repetitions: this run predates schema 2",
                      doc.caveats)
        self.assertIn("the traced repetitions (3 per cell; the run has no untraced "
                      "repetition)", doc.provenance[0])
        # its bpf_ra_pages counted what readahead asked for: renamed, not mistaken for reads
        self.assertIsNone(cell.summary("bpf_ra_pages"))
        self.assertEqual(cell.summary("bpf_ra_requested_pages").median, 262144)

    def test_a_v2_cell_whose_untraced_repetitions_failed(self):
        tmp = support.TempDir()
        try:
            def fail(r):
                if (r["strategy"], r["pattern"], r["cache"]) == ("read", "forward", "cold") \
                        and not r["traced"]:
                    r.update(status="failed", error="exit status 1", metrics={},
                             not_measured={}, exit_code=1)
            rc = run_cells(support.copy_with(tmp, fail))
            cell = rc.get("read", "forward", "cold")
            self.assertTrue(cell.fallback)
            self.assertAlmostEqual(cell.summary("total_ms").median, 1020 * 1.05)
            self.assertEqual(provenance.fallback_notes(rc), [
                "fixture: times from traced repetitions in 1 cell (no untraced repetition "
                "finished): the tracer's overhead is in those numbers"])
            self.assertIn("`load/read/forward/cold`", provenance.lines(rc)[1])
            h = tables.build_headline([rc])
            by = {r.strategy: r.entries for r in h.rows}
            self.assertAlmostEqual(by["read"]["total_cold"].summary.median, 1071.0)
        finally:
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
