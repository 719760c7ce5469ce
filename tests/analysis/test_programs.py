"""Program cells (cmd:NAME, pattern program) in every part of the report: the
headline (beside the strategies, never best), the Programs section with the
--command-baseline subtracted, compare, the recommendations (never a program,
and the same as without them), plots and results.csv/json."""

import csv
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import program_fixture as pf  # noqa: E402
import support  # noqa: E402

from analysis import cells, compare, load_runs, programs, recommend, tables  # noqa: E402


def plain():
    return cells.RunCells(load_runs.load_run(support.FIXTURE))


class ProgramsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = support.TempDir()
        self.run = pf.build(self.tmp)
        self.rc = pf.load(self.run)

    def tearDown(self):
        self.tmp.cleanup()

    def test_programs_are_not_strategies(self):
        self.assertEqual(self.rc.programs, [pf.PROGRAM, pf.NODE])
        self.assertFalse([s for s in self.rc.strategies if s.startswith("cmd:")])
        self.assertNotIn("program", self.rc.patterns)
        self.assertNotIn("baseline", self.rc.patterns)
        self.assertEqual(self.rc.headline_pattern, "forward")
        self.assertEqual(self.rc.startup_pattern, "none")

    def test_headline_shows_programs_beside_the_strategies_never_best(self):
        h = tables.build_headline([self.rc])
        by = {r.strategy: r for r in h.rows}
        row = by[pf.PROGRAM]
        self.assertTrue(row.program)
        ready = row.entries["ready_cold"]
        self.assertEqual(ready.summary.median, 1000)
        self.assertAlmostEqual(ready.ratio, 1.0)  # against read's ready (pattern none)
        self.assertEqual(row.entries["rss_anon"].summary.median, 300 * pf.MIB)
        self.assertIsNone(row.entries["total_cold"])  # a program has no pass: no footnote
        for r in h.rows:
            if r.program:
                self.assertFalse([k for k, e in r.entries.items()
                                  if isinstance(e, tables.Entry) and e.best], r.strategy)
        # the strategies' best marks are those of the run without programs
        base = {r.strategy: {k: getattr(e, "best", None) for k, e in r.entries.items()}
                for r in tables.build_headline([plain()]).rows}
        for s, marks in base.items():
            self.assertEqual({k: getattr(e, "best", None) for k, e in by[s].entries.items()},
                             marks, s)
        md = tables.markdown_table(h, tables.TIME_COLUMNS, False)
        self.assertIn("| `%s` (program) | 1000 (990–1010) ×1.00 |" % pf.PROGRAM, md)
        self.assertIn("(program)` rows", tables.legend(h))

    def test_recommendations_never_name_a_program_and_do_not_change(self):
        with_programs = [r.text() for r in recommend.recommend([self.rc])]
        self.assertEqual(with_programs, [r.text() for r in recommend.recommend([plain()])])
        self.assertFalse([t for t in with_programs if "cmd:" in t])
        lines = dict((p, t) for _, p, t in programs.comparisons(self.rc))
        # it read the model before ready: against the strategies that did too
        self.assertIn("its cold load (ready_ms 1000 ms) is 2.00× slower than "
                      "`mmap:private,populate` (500 ms), the fastest strategy that, like it, "
                      "read the model before ready (pattern `none`)", lines[pf.PROGRAM])
        self.assertIn("1.05× slower than `llama.cpp:no-mmap` (950 ms), the preset paired",
                      lines[pf.PROGRAM])
        self.assertIn("as fast as `read` (1000 ms)", lines[pf.PROGRAM])
        self.assertIn("800 ms without the runtime's own cost", lines[pf.PROGRAM])
        self.assertIn("1.96× slower than `mmap:private,populate` (510 ms) to the end of its "
                      "`forward` pass", lines[pf.PROGRAM])
        self.assertIn("1.43× faster than `read`", lines[pf.NODE])
        self.assertIn("1.40× slower than `mmap:private,populate` (500 ms), the fastest "
                      "strategy that, like it, read", lines[pf.NODE])

        def reads_nothing(row):
            if row["strategy"] == pf.NODE:
                row["metrics"]["read_bytes"] = 0
        support.edit_rows(self.run, reads_nothing)
        lines = dict((p, t) for _, p, t in programs.comparisons(pf.load(self.run)))
        self.assertIn("is 70000× slower than `mmap:private` (0.01 ms), the fastest strategy to "
                      "ready (pattern `none`)", lines[pf.NODE])

    def test_baseline_is_subtracted_beside_the_raw_figure(self):
        sec = {s.program: s for s in programs.sections(self.rc)}
        s = sec[pf.PROGRAM]
        self.assertEqual(s.head, ["metric", "cold", "cold baseline", "cold − baseline", "warm",
                                  "warm baseline", "warm − baseline"])
        rows = {r[0]: r for r in s.rows}
        self.assertEqual(rows["ready_ms"][1:], ["1000 (990–1010)", "200 (198–202)", "800",
                                                "400 (396–404)", "150 (148–152)", "250"])
        self.assertEqual(rows["rss_anon_bytes"][3], "250 MiB")
        self.assertIn("`node load.mjs --no-mmap /models/fixture-1G.gguf`", s.lines[0])
        self.assertIn("16 MiB", s.lines[1])
        node = sec[pf.NODE]
        self.assertEqual(node.head, ["metric", "cold"])
        self.assertIn("no `--command-baseline`", node.lines[1])
        recs = [r for r in programs.records(self.rc) if r["program"] == pf.PROGRAM
                and r["cache"] == "cold" and r["metric"] == "ready_ms"]  # not a metric: test
        self.assertEqual((recs[0]["median"], recs[0]["baseline_median"],
                          recs[0]["minus_baseline"]), (1000, 200, 800))

    def test_a_baseline_metric_not_measured_leaves_no_difference(self):
        def drop(row):
            if row["pattern"] == "baseline":
                support.not_measured(row, "rss_model_bytes", "smaps: cannot read")
        support.edit_rows(self.run, drop)
        rows = {r[0]: r for r in programs.sections(pf.load(self.run))[0].rows}
        self.assertEqual(rows["rss_model_bytes"][2:4],
                         ["not measured: smaps: cannot read", "–"])

    def test_compare_matches_program_cells(self):
        other = pf.build(self.tmp, name="b")

        def slower(row):
            if row["strategy"] == pf.PROGRAM and row["pattern"] == "program":
                row["metrics"]["ready_ms"] *= 2
        support.edit_rows(other, slower)
        changes, notes = compare.compare_runs(load_runs.load_run(self.run),
                                              load_runs.load_run(other))
        ready = [c for c in changes if c.cell == "load/%s/program/cold" % pf.PROGRAM
                 and c.metric == "ready_ms"]  # not a metric: the test's own key
        self.assertEqual(len(ready), 1)
        self.assertAlmostEqual(ready[0].ratio, 2.0)
        changes, notes = compare.compare_runs(load_runs.load_run(support.FIXTURE),
                                              load_runs.load_run(self.run))
        self.assertTrue([n for n in notes if n.startswith("only in B:") and pf.PROGRAM in n])

    def test_report_with_programs(self):
        p = support.run_module("analysis.report", self.run, "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.run, "report.md"), encoding="utf-8") as f:
            md = f.read()
        for words in ("## Programs", "### `%s`" % pf.PROGRAM, "| ready_ms | 1000 (990–1010) | "
                      "200 (198–202) | 800 |", "**your program `%s`**" % pf.NODE,
                      "- `%s`: readahead read 92,000 pages" % pf.PROGRAM):
            self.assertIn(words, md)
        with open(os.path.join(self.run, "report.html"), encoding="utf-8") as f:
            html = f.read()
        for words in ("<h2>Programs</h2>", "<code>%s</code> (program)</td>" % pf.PROGRAM,
                      "your program <code>%s</code>" % pf.NODE, "<th>cold − baseline</th>"):
            self.assertIn(words, html)
        with open(os.path.join(self.run, "results.csv"), encoding="utf-8") as f:
            strategies = {r["strategy"] for r in csv.DictReader(f)}
        self.assertIn(pf.PROGRAM, strategies)
        self.assertTrue(pf.results_json(self.run)["programs"])
        self.assertTrue(os.path.exists(os.path.join(self.run, "plots", "startup.png")))

    def test_a_run_of_programs_only(self):
        rows = [r for r in support.read_rows(self.run) if r["strategy"].startswith("cmd:")]
        support.write_rows(self.run, rows)
        p = support.run_module("analysis.report", self.run, "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_a_command_without_rows_is_a_note(self):
        rows = [r for r in support.read_rows(self.run) if r["strategy"] != pf.NODE]
        support.write_rows(self.run, rows)
        notes = programs.unknown_commands(pf.load(self.run))
        self.assertEqual(len(notes), 1)
        self.assertIn("`llama-node`, but no `cmd:llama-node` cell", notes[0])


if __name__ == "__main__":
    unittest.main()
