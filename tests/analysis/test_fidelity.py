"""The fidelity table (analysis/fidelity.py) on program_fixture's hand-checkable
numbers: ratios and verdicts against the 10 % tolerance, a metric not measured
on one side, bpf_* from traced repetitions only, the naming rule and plan.json
"fidelity" pairs, and bad plan.json pairs as notes, never a crash."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import program_fixture as pf  # noqa: E402
import support  # noqa: E402

from analysis import fidelity  # noqa: E402


def table(tables, program, cache="cold"):
    found = [t for t in tables if t.pair.program == program and t.cache == cache]
    assert len(found) == 1, [(t.pair, t.cache) for t in tables]
    return found[0]


def line(t, label):
    return next(r for r in fidelity.rows(t) if r[0] == label)


class FidelityTest(unittest.TestCase):
    def setUp(self):
        self.tmp = support.TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def tables(self, **kw):
        return fidelity.tables(pf.load(pf.build(self.tmp, **kw)))

    def test_ratios_and_verdicts(self):
        tables, notes = self.tables()
        self.assertEqual(notes, [])
        t = table(tables, pf.PROGRAM)
        self.assertEqual((t.pair.preset, t.pair.source, t.preset_pattern),
                         (pf.PRESET, "naming rule", "none"))
        self.assertEqual(t.replay, ("read", pf.REPLAY))
        # within 10 %: ready 950 / 1000
        self.assertEqual(line(t, "ready (ms)")[1:5], ["1000", "950", "×0.95", "faithful"])
        # the replay's total_ms (10 ms load + 1000 ms of recorded reads), not its ready_ms
        self.assertEqual(line(t, "ready (ms)")[5:], ["1010", "×1.01", "faithful"])
        # outside: (1 + 32) / (25 + 33) windows; the replay's 58 is faithful
        self.assertEqual(line(t, fidelity.WINDOWS),
                         [fidelity.WINDOWS, "58", "33", "×0.57", "differs: 0.57×", "58",
                          "×1.00", "faithful"])
        self.assertEqual(line(t, "readahead pages read")[1:],
                         ["92,000", "67,600", "×0.73", "differs: 0.73×", "90,000", "×0.98",
                          "faithful"])
        # not measured on the preset's side: its reason, no ratio, no verdict
        bio = line(t, "block I/O bytes")
        self.assertEqual(bio[2], "not measured (%s)" % pf.BIO_OFF)
        self.assertEqual(bio[3], "–")
        self.assertEqual(bio[4], "not measured (%s)" % pf.BIO_OFF)
        self.assertEqual(bio[7], "faithful")
        # a measured 0 is a value, not a gap
        self.assertEqual(line(t, "RSS anon")[2:5], ["0 B", "×0", "differs: 0×"])
        # warm has no replay cell: dashes, no verdict
        warm = table(tables, pf.PROGRAM, "warm")
        self.assertIsNone(warm.replay)
        self.assertEqual(line(warm, "ready (ms)")[5:], ["–", "–", "–"])
        self.assertIn("no `replay:` cell", fidelity.legend(warm))

    def test_baseline_lines_subtract_the_runtime(self):
        t = table(self.tables()[0], pf.PROGRAM)
        # 1000 - 200 = 800 ms against the preset's 950
        self.assertEqual(line(t, "ready (ms) − baseline")[1:5],
                         ["800", "950", "×1.19", "differs: 1.19×"])
        self.assertEqual(line(t, "RSS file − baseline")[1:5],
                         ["310 MiB", "320 MiB", "×1.03", "faithful"])
        # no baseline, no such lines
        node = table(self.tables(name="b")[0], pf.NODE)
        self.assertFalse([r for r in fidelity.rows(node) if "baseline" in r[0]])

    def test_trace_metrics_come_from_traced_repetitions_only(self):
        run = pf.build(self.tmp)

        def spoil(row):
            if row["strategy"] == pf.PROGRAM and not row["traced"]:
                row["metrics"]["bpf_ra_pages"] = 1
        support.edit_rows(run, spoil)
        t = table(fidelity.tables(pf.load(run))[0], pf.PROGRAM)
        self.assertEqual(line(t, "readahead pages read")[1], "92,000")

    def test_plan_fidelity_pairs_and_a_pattern(self):
        tables, _ = self.tables()
        t = table(tables, pf.NODE)
        self.assertEqual((t.pair.preset, t.pair.source), ("mmap:private,populate",
                                                          "plan.json fidelity"))
        self.assertEqual(line(t, "ready (ms)")[1:5], ["700", "500", "×0.71", "differs: 0.71×"])
        tables, _ = self.tables(name="p", fidelity={pf.NODE: {
            "preset": "mmap:private,populate", "pattern": "forward"}})
        t = table(tables, pf.NODE)
        self.assertEqual(t.preset_pattern, "forward")
        self.assertEqual(line(t, "ready (ms)")[2], "510")  # its total_ms: load + forward pass

    def test_naming_rule_alone(self):
        tables, notes = self.tables(fidelity=False)
        self.assertEqual(sorted({t.pair.program for t in tables}), [pf.PROGRAM])
        self.assertEqual(notes, [])

    def test_plan_fidelity_overrides_the_naming_rule(self):
        tables, _ = self.tables(fidelity={pf.PROGRAM: "read"})
        self.assertEqual({t.pair.preset for t in tables if t.pair.program == pf.PROGRAM},
                         {"read"})

    def test_bad_plan_fidelity_is_a_note(self):
        cases = [
            ({"cmd:ghost": "read"}, "names `cmd:ghost`, but no such program cell"),
            ({pf.NODE: "direct:qd=32"}, "this run has no `direct:qd=32` rows"),
            ({pf.NODE: 7}, "must name a preset"),
            (["cmd:llama-node"], "is not an object"),
        ]
        for i, (value, words) in enumerate(cases):
            tables, notes = self.tables(name="bad%d" % i, fidelity=value)
            self.assertEqual(len(notes), 1, notes)
            self.assertIn(words, notes[0])
            self.assertIn('plan.json "fidelity"', notes[0])
            # the naming rule still pairs the other program
            self.assertIn(pf.PROGRAM, {t.pair.program for t in tables})

    def test_a_program_cell_that_never_finished_is_a_note(self):
        run = pf.build(self.tmp)

        def fail(row):
            if row["cell"] == "load/%s/program/cold" % pf.PROGRAM:
                row.update(status="timeout", error="never printed its ready line")
        support.edit_rows(run, fail)
        tables, notes = fidelity.tables(pf.load(run))
        self.assertFalse([t for t in tables if t.pair.program == pf.PROGRAM
                          and t.cache == "cold"])
        self.assertTrue([t for t in tables if t.pair.program == pf.PROGRAM
                         and t.cache == "warm"])
        self.assertIn("`%s` (cold): no repetition finished" % pf.PROGRAM, notes[0])
        from analysis import programs
        sec = [s for s in programs.sections(pf.load(run)) if s.program == pf.PROGRAM][0]
        self.assertIn("cold: no repetition finished", sec.lines[-1])
        self.assertEqual(sec.head[1], "warm")

    def test_verdict_edges(self):
        S = fidelity.Side
        prog = S(object(), 100.0, 3)
        self.assertEqual(fidelity.verdict(S(object(), 110.0, 3), prog), "faithful")
        self.assertEqual(fidelity.verdict(S(object(), 90.0, 3), prog), "faithful")
        self.assertEqual(fidelity.verdict(S(object(), 111.0, 3), prog), "differs: 1.11×")
        zero = S(object(), 0.0, 3)
        self.assertEqual(fidelity.verdict(S(object(), 0.0, 3), zero), "faithful")
        self.assertEqual(fidelity.verdict(S(object(), 5.0, 3), zero),
                         "differs: the program's is 0")
        self.assertEqual(fidelity.verdict(S(object(), 5.0, 3), S(object(), why="off")),
                         "not measured (program: off)")
        self.assertEqual(fidelity.verdict(S(object(), 0.12, 3), prog), "differs: 0.0012×")
        below = S(object(), -53248.0, 3)  # a figure minus its baseline's, below 0
        self.assertIsNone(fidelity.ratio(S(object(), 45056.0, 3), below))
        self.assertEqual(fidelity.verdict(S(object(), 45056.0, 3), below, "rss_file_bytes"),
                         "differs: the program's is below 0 (-52 KiB)")

    def test_report_has_the_table_in_every_format(self):
        run = pf.build(self.tmp, fidelity={"cmd:ghost": "read", pf.NODE: "mmap:private,populate"})
        p = support.run_module("analysis.report", run, "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(run, "report.md"), encoding="utf-8") as f:
            md = f.read()
        self.assertIn("## Fidelity", md)
        self.assertIn("### `%s` vs preset `%s` (cold)" % (pf.PROGRAM, pf.PRESET), md)
        self.assertIn("| ready (ms) | 1000 | 950 | ×0.95 | faithful |", md)
        self.assertIn("no such program cell", md)
        with open(os.path.join(run, "report.html"), encoding="utf-8") as f:
            html = f.read()
        self.assertIn("<h2>Fidelity</h2>", html)
        self.assertIn("differs: 0.57×", html)
        records = pf.results_json(run)["fidelity"]
        windows = [r for r in records if r["program"] == pf.PROGRAM and r["cache"] == "cold"
                   and r["metric"] == fidelity.WINDOWS][0]
        self.assertEqual(windows["values"]["program"]["median"], 58)
        self.assertEqual(windows["preset_verdict"], "differs: 0.57×")
        self.assertEqual(windows["replay_strategy"], "read")
        bio = [r for r in records if r["program"] == pf.PROGRAM and r["cache"] == "cold"
               and r["metric"] == "block I/O bytes"][0]
        self.assertIsNone(bio["values"]["preset"]["median"])
        self.assertEqual(bio["values"]["preset"]["not_measured"], pf.BIO_OFF)
        self.assertIsNone(bio["preset_ratio"])


if __name__ == "__main__":
    unittest.main()
