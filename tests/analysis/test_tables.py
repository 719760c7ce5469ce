"""The headline table of the committed fixture: medians, spreads, ratios against
read, best marks and the CV warning, checked against numbers worked out by hand
from tests/analysis/make_fixture.py's tables."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

from analysis import cells, load_runs, stats, tables  # noqa: E402


def headline():
    runs = load_runs.load_runs([support.FIXTURE])
    rcs = [cells.RunCells(r) for r in runs]
    return rcs, tables.build_headline(rcs)


class HeadlineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rcs, cls.h = headline()
        cls.by = {r.strategy: r.entries for r in cls.h.rows}

    def entry(self, strategy, column):
        e = self.by[strategy][column]
        self.assertIsNotNone(e, "%s %s" % (strategy, column))
        return e

    def test_strategies_in_plan_order_read_first(self):
        self.assertEqual([r.strategy for r in self.h.rows],
                         ["read", "mmap:private", "mmap:private,populate",
                          "mmap:private,advise=random"])

    def test_patterns(self):
        self.assertEqual(self.h.patterns["fixture"], {"startup": "none", "headline": "forward"})

    def test_medians_and_spreads(self):
        e = self.entry("read", "ready_cold")
        self.assertEqual((e.summary.median, e.summary.n), (1000.0, 3))
        self.assertAlmostEqual(e.summary.min, 990.0)
        self.assertAlmostEqual(e.summary.max, 1010.0)
        e = self.entry("mmap:private,populate", "ready_cold")  # the noisy cell
        self.assertEqual((e.summary.median, e.summary.min, e.summary.max), (500.0, 400.0, 800.0))
        self.assertAlmostEqual(self.entry("mmap:private,populate", "total_cold").summary.median,
                               510.0)
        self.assertAlmostEqual(self.entry("read", "total_warm").summary.median, 420.0)
        self.assertAlmostEqual(self.entry("mmap:private", "first_pass_cold").summary.median,
                               1500.0)
        self.assertEqual(self.entry("read", "rss_anon").summary.median, (1 << 30) + (4 << 20))
        self.assertEqual(self.entry("mmap:private,advise=random", "major_faults").summary.median,
                         262144)

    def test_throughput_is_read_gbps_over_the_storage_limit(self):
        # read_gbps = 1 GiB read from storage / total_ms, over the calibrated 2.2 GB/s
        totals = {"read": 1020, "mmap:private": 1500.01, "mmap:private,populate": 510,
                  "mmap:private,advise=random": 20000.012}
        for s, total in totals.items():
            self.assertAlmostEqual(self.entry(s, "storage_fraction").summary.median,
                                   (1 << 30) / total / 1e6 / 2.2, places=6)
        self.assertAlmostEqual(self.entry("mmap:private,populate", "storage_fraction")
                               .summary.median, 0.957, places=3)

    def test_touched_throughput_and_amplification(self):
        # forward touches the whole file: gbps = 1 GiB / total_ms, amplification 1
        self.assertAlmostEqual(self.entry("read", "touched_gbps").summary.median,
                               (1 << 30) / 1020 / 1e6)
        self.assertEqual(self.entry("read", "amplification").summary.median, 1.0)
        self.assertIsNone(self.entry("read", "amplification").ratio)  # no ratio of a ratio

    def test_ratios_against_read(self):
        self.assertAlmostEqual(self.entry("read", "ready_cold").ratio, 1.0)
        self.assertAlmostEqual(self.entry("mmap:private,populate", "ready_cold").ratio, 0.5)
        self.assertAlmostEqual(self.entry("mmap:private,populate", "total_cold").ratio, 0.5)
        self.assertAlmostEqual(self.entry("mmap:private", "first_pass_cold").ratio, 75.0)
        self.assertAlmostEqual(self.entry("mmap:private,advise=random", "first_pass_cold").ratio,
                               1000.0)
        self.assertAlmostEqual(self.entry("mmap:private,populate", "storage_fraction").ratio, 2.0)
        self.assertAlmostEqual(self.entry("mmap:private,populate", "touched_gbps").ratio, 2.0)
        # read has no file RSS: no ratio against 0
        self.assertIsNone(self.entry("mmap:private", "rss_file").ratio)

    def test_best_marks(self):
        def best(column):
            return sorted(s for s, e in self.by.items() if e[column] and e[column].best)
        self.assertEqual(best("ready_cold"), ["mmap:private"])
        self.assertEqual(best("ready_warm"), ["mmap:private"])
        self.assertEqual(best("first_pass_cold"), ["mmap:private,populate"])
        self.assertEqual(best("total_cold"), ["mmap:private,populate"])
        self.assertEqual(best("total_warm"), ["mmap:private"])
        self.assertEqual(best("storage_fraction"), ["mmap:private,populate"])  # higher is better
        self.assertEqual(best("touched_gbps"), ["mmap:private,populate"])
        self.assertEqual(best("amplification"), [])  # 1.0× everywhere
        self.assertEqual(best("rss_file"), ["read"])
        self.assertEqual(best("rss_anon"), ["mmap:private", "mmap:private,advise=random",
                                            "mmap:private,populate"])  # a tie
        self.assertEqual(best("major_faults"), ["read"])
        self.assertEqual(best("minor_faults"), ["mmap:private,advise=random"])
        self.assertEqual(best("read_bytes"), [])  # everyone read 1 GiB: nothing stands out
        self.assertEqual(best("peak_rss"), [])

    def test_cv_warning_on_the_noisy_cell_only(self):
        noisy = [(r.strategy, k) for r in self.h.rows for k, e in r.entries.items()
                 if e and e.noisy]
        self.assertEqual(noisy, [("mmap:private,populate", "ready_cold")])
        warnings = tables.spread_warnings(self.rcs)
        self.assertEqual([(w.cell, w.metric) for w in warnings],
                         [("load/mmap:private,populate/none/cold", "ready_ms")])
        self.assertGreater(warnings[0].summary.cv, stats.CV_LIMIT)
        self.assertIn("CV 37 %", warnings[0].text())

    def test_markdown_cells(self):
        md = tables.markdown_table(self.h, tables.TIME_COLUMNS, with_host=False)
        self.assertIn("| `read` | 1000 (990–1010) ×1.00 |", md)
        self.assertIn("500 (400–800) ×0.50 ⚠", md)
        self.assertIn("**510** (505–515) ×0.50", md)
        self.assertIn("**96 %** (95 %–97 %) ×2.00", md)
        md = tables.markdown_table(self.h, tables.MEMORY_COLUMNS, with_host=False)
        self.assertIn("| `read` | **0 B** | 1.00 GiB ×1.00 |", md)
        # PSS of populate: measured in reps 1 and 3 only; the footnote says so
        self.assertIn("| 1.00 GiB ×1.00 [1] |", md)
        self.assertEqual(tables.footnote_lines(self.h), [
            "[1] PSS, `mmap:private,populate`: measured in 2 of 3 untraced repetitions; not "
            "measured in 1: smaps_rollup: cannot read (Permission denied)"])

    def test_failed_repetition_is_not_counted(self):
        cell = self.rcs[0].get("mmap:private,advise=random", "forward", "cold")
        self.assertEqual((len(cell.untraced_rows), len(cell.traced_rows),
                          len(cell.failed_rows)), (3, 1, 1))
        self.assertEqual(cell.summary("ready_ms").n, 3)


if __name__ == "__main__":
    unittest.main()
