"""Availability is data: a metric a row does not measure (with its reason in
not_measured) is never 0. The table shows "–" and the reason in a footnote, the
explanation says "not measured here: <reason>" where it would have stated a
finding, the plots leave the bar out with a note, and repetitions that
disagree are said to."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

from analysis import cells, explain, load_runs, plots, tables  # noqa: E402

NO_FILEMAP = "tp_btf/mm_filemap_fault: this kernel has no filemap tracepoints"
NO_READAHEAD = "readahead tracepoints missing (kernel before 6.14) and fentry refused (EPERM)"
FILEMAP = ("bpf_filemap_faults", "bpf_faultaround_pages")
READAHEAD = ("bpf_ra_sync", "bpf_ra_async", "bpf_ra_pages", "bpf_ra_requested_pages",
             "bpf_ra_unused_pages")


def without_tracepoints(r):
    """A kernel without the filemap and readahead tracepoints."""
    if r["traced"] and r["status"] == "ok":
        for m in FILEMAP:
            support.not_measured(r, m, NO_FILEMAP)
        for m in READAHEAD:
            support.not_measured(r, m, NO_READAHEAD)


class NoTracepointsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = support.TempDir()
        cls.run_dir = support.copy_with(cls.tmp, without_tracepoints)
        cls.rc = cells.RunCells(load_runs.load_run(cls.run_dir))
        cls.lines = {e.strategy: e.text for e in explain.explain([cls.rc])}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_no_false_findings(self):
        for strategy, text in self.lines.items():
            self.assertNotIn("no readahead", text, strategy)
            self.assertNotIn("no file page faults", text, strategy)
            self.assertIn("readahead: not measured here: " + NO_READAHEAD, text, strategy)
            self.assertIn("file page faults: not measured here: " + NO_FILEMAP, text, strategy)
        # what was measured is still said
        self.assertIn("1.00 GiB from the device in 1,024 block requests", self.lines["read"])

    def test_plot_leaves_the_bars_out_and_says_so(self):
        out = os.path.join(self.tmp.path, "plots")
        _, notes = plots.make_plots([self.rc], out)
        text = "\n".join(notes)
        self.assertIn("bpf_filemap_faults left out for `read`, `mmap:private`, "
                      "`mmap:private,populate`, `mmap:private,advise=random`: not measured "
                      "here: " + NO_FILEMAP, text)
        self.assertIn("bpf_ra_pages left out for `read`", text)  # no strategy had it: no series


class TableGapsTest(unittest.TestCase):
    def test_a_metric_not_measured_is_a_dash_with_its_reason(self):
        tmp = support.TempDir()
        try:
            def no_pss(r):
                if r["strategy"] == "read" and r["status"] == "ok":
                    support.not_measured(r, "pss_bytes", "smaps_rollup absent (CONFIG_PROC_PAGE_MONITOR=n)")
            rc = cells.RunCells(load_runs.load_run(support.copy_with(tmp, no_pss)))
            h = tables.build_headline([rc])
            by = {r.strategy: r.entries for r in h.rows}
            gap = by["read"]["pss"]
            self.assertIsInstance(gap, tables.Gap)
            md = tables.markdown_table(h, tables.MEMORY_COLUMNS, with_host=False)
            self.assertIn("| `read` | **0 B** | 1.00 GiB ×1.00 | 1.00 GiB ×1.00 | – [1] |", md)
            self.assertIn("[1] PSS, `read`: not measured here: smaps_rollup absent "
                          "(CONFIG_PROC_PAGE_MONITOR=n)", tables.footnote_lines(h))
            # nothing to compare against: no ratios in the PSS column, no best mark from 0
            self.assertIsNone(by["mmap:private"]["pss"].ratio)
            self.assertFalse(any(by[s]["pss"].best for s in by if s != "read"))
        finally:
            tmp.cleanup()

    def test_availability_counts(self):
        rc = cells.RunCells(load_runs.load_run(support.FIXTURE))
        a = rc.get("mmap:private,populate", "forward", "cold").availability("pss_bytes")
        self.assertEqual((a.total, a.measured, a.partial), (3, 2, True))
        a = rc.get("read", "none", "cold").availability("gbps")
        self.assertEqual(a.text(), "not measured here: does not apply: pattern none touches "
                                   "nothing")
        a = rc.get("read", "forward", "cold").availability("bpf_fault_p50_us")
        self.assertEqual((a.source, a.total, a.measured), ("traced", 1, 0))
        self.assertIsNone(rc.get("read", "forward", "cold").availability("total_ms").text())


class DisagreementTest(unittest.TestCase):
    def test_traced_repetitions_that_disagree(self):
        tmp = support.TempDir()
        try:
            def drop_one(r):
                if (r["cell"], r["rep"]) == ("load/mmap:private/forward/cold", 5):
                    support.not_measured(r, "bpf_ra_pages", "readahead bitmap map full")
            rc = cells.RunCells(load_runs.load_run(support.copy_with(tmp, drop_one)))
            text = explain.explain_strategy(rc, "mmap:private")
            self.assertIn("⚠ bpf_ra_pages measured in 2 of 3 traced repetitions; not measured "
                          "in 1: readahead bitmap map full", text)
            self.assertIn("readahead read 262,144 pages", text)  # from the two that have it
        finally:
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
