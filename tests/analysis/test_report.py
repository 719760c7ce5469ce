"""The report of the fixture: every file is written, results.csv holds the
statistics, report.html is self-contained and renders in headless Chromium."""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium"
                                        if os.path.exists("/usr/bin/chromium") else None)
PLOTS = ["startup", "rss", "faults", "rss-over-time", "heatmap-mmap-private",
         "heatmap-mmap-private-advise-random"]


class FixtureReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = support.TempDir()
        cls.run_dir = support.copy_fixture(cls.tmp.path)
        cls.proc = support.run_module("analysis.report", cls.run_dir)  # into the run folder

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, *parts):
        return os.path.join(self.run_dir, *parts)

    def test_exit_status_and_summary(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertIn("1 run, 99 rows", self.proc.stdout)
        self.assertIn("⚠ fixture: load/mmap:private,populate/none/cold ready_ms", self.proc.stdout)

    def test_every_file(self):
        for name in ("report.md", "report.html", "results.csv"):
            self.assertGreater(os.path.getsize(self.path(name)), 1000, name)
        for plot in PLOTS:
            for ext in ("png", "svg"):
                self.assertGreater(os.path.getsize(self.path("plots", plot + "." + ext)), 1000)
        leftovers = [n for n in os.listdir(self.run_dir) if n.startswith(".faultline")]
        self.assertEqual(leftovers, [])

    def test_markdown_sections(self):
        with open(self.path("report.md"), encoding="utf-8") as f:
            md = f.read()
        for section in ("## Hosts", "## Headline: time", "## Headline: memory, faults and I/O",
                        "## What the kernel did", "## Recommendation", "## Plots",
                        "## Repetitions that did not finish", "Spread warnings",
                        "### Where the numbers come from", "## Read amplification",
                        "## Appendix: storage calibration"):
            self.assertIn(section, md)
        self.assertNotIn("## Caveats", md)  # the fixture's limit holds, its host does not cache
        self.assertIn("![Startup latency](plots/startup.png)", md)
        self.assertIn("timed out after 1800 s", md)
        self.assertIn("- [1] PSS, `mmap:private,populate`: measured in 2 of 3 untraced "
                      "repetitions", md)
        self.assertIn("tracer overhead on `load/mmap:private/forward/cold`: +5.0 %", md)
        self.assertIn("| repetitions | 3 untraced + 1–3 traced per cell |", md)
        with open(self.path("report.html"), encoding="utf-8") as f:
            page = f.read()
        for text in ("Where the numbers come from", "Read amplification",
                     "Appendix: storage calibration", '<sup class="ref">[1]</sup>',
                     "Crotty, Leis and Pavlo"):
            self.assertIn(text, page)

    def test_csv(self):
        with open(self.path("results.csv"), newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        by = {(r["strategy"], r["pattern"], r["cache"], r["metric"]): r for r in rows}
        r = by[("mmap:private,populate", "none", "cold", "ready_ms")]
        self.assertEqual((float(r["median"]), float(r["min"]), float(r["max"])),
                         (500.0, 400.0, 800.0))
        self.assertEqual((r["n"], r["noisy"], float(r["ratio_vs_read"])), ("3", "yes", 0.5))
        r = by[("mmap:private,advise=random", "forward", "cold", "total_ms")]
        self.assertEqual((r["n"], r["failed_reps"]), ("3", "1"))
        self.assertEqual({x["host"] for x in rows}, {"fixture"})
        self.assertEqual(r["repetitions"], "untraced")
        r = by[("mmap:private", "forward", "cold", "bpf_filemap_faults")]
        self.assertEqual((r["n"], r["repetitions"], r["not_measured"]), ("3", "traced", ""))
        r = by[("read", "none", "cold", "gbps")]  # not measured: a row, no number
        self.assertEqual((r["n"], r["median"]), ("0", ""))
        self.assertEqual(r["not_measured"], "not measured here: does not apply: pattern none "
                         "touches nothing")
        r = by[("read", "forward", "cold", "bpf_fault_p50_us")]
        self.assertIn("fentry/fexit attach refused", r["not_measured"])

    def test_json_holds_the_csv_records_typed(self):
        with open(self.path("results.csv"), newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        with open(self.path("results.json"), encoding="utf-8") as f:
            doc = json.load(f)
        self.assertEqual(doc["format"], "faultline results summary 1")
        records = doc["records"]
        self.assertEqual(len(records), len(rows))
        for row, rec in zip(rows, records):
            for k, v in row.items():
                if rec[k] is None or rec[k] is False:
                    self.assertEqual(v, "", k)
                elif rec[k] is True:
                    self.assertEqual(v, "yes", k)
                elif isinstance(rec[k], float):
                    self.assertEqual(float(v), rec[k], k)
                else:
                    self.assertEqual(v, str(rec[k]), k)
        by = {(r["strategy"], r["pattern"], r["cache"], r["metric"]): r for r in records}
        r = by[("mmap:private,advise=random", "forward", "cold", "total_ms")]
        self.assertEqual(r["failed_statuses"], {"timeout": 1})

    def test_html_is_self_contained(self):
        with open(self.path("report.html"), encoding="utf-8") as f:
            page = f.read()
        refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]*)""", page, re.I)
        refs += re.findall(r"""url\(\s*["']?([^"')]*)""", page, re.I)
        outside = [r for r in refs if not (r.startswith("data:") or r.startswith("#"))]
        self.assertEqual(outside, [])
        self.assertEqual(page.count('src="data:image/png;base64,'), len(PLOTS))
        self.assertNotIn("<link", page)
        self.assertNotIn("<script", page)
        self.assertIn('name="viewport"', page)

    @unittest.skipUnless(CHROMIUM, "chromium is not installed")
    def test_renders_in_headless_chromium(self):
        from matplotlib import image
        import numpy as np

        for width, height in ((1280, 2000), (390, 1600)):  # a laptop and a phone
            profile = tempfile.mkdtemp(prefix="faultline-chromium-")
            shot = os.path.join(self.tmp.path, "shot-%d.png" % width)
            try:
                subprocess.run(
                    [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--user-data-dir=" + profile, "--screenshot=" + shot,
                     "--window-size=%d,%d" % (width, height),
                     "file://" + self.path("report.html")],
                    capture_output=True, timeout=120, check=False)
            finally:
                shutil.rmtree(profile, ignore_errors=True)
            self.assertTrue(os.path.exists(shot), "no screenshot at width %d" % width)
            pixels = image.imread(shot)[..., :3]
            self.assertEqual(pixels.shape[:2], (height, width))
            not_white = np.mean(np.any(pixels < 0.9, axis=2))
            self.assertGreater(not_white, 0.02, "the page looks blank at width %d" % width)
            self.assertGreater(float(np.std(pixels)), 0.05)


class CaveatsReportTest(unittest.TestCase):
    def test_a_schema_1_run_with_the_old_calibration(self):
        tmp = support.TempDir()
        try:
            run = support.copy_fixture(tmp.path, source=support.FIXTURE_V1)
            p = support.run_module("analysis.report", run, "--quiet")
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(run, "report.md"), encoding="utf-8") as f:
                md = f.read()
            self.assertIn("## Caveats", md)
            self.assertIn("- ⚠ fixture: times from traced repetitions: this run predates "
                          "schema 2", md)
            self.assertIn("is beaten by `mmap:private,populate` at 105.3 %", md)
            self.assertIn("read amplification, every strategy: not recorded: the run predates "
                          "schema 2", md)
            self.assertIn("readahead asked for 262,144 pages", md)
        finally:
            tmp.cleanup()

    def test_host_cache_and_a_wrong_limit(self):
        tmp = support.TempDir()
        try:
            def cal(c):
                c["storage"]["gbps"] = 1.39
                c["host_cache"].update(verdict="observed", again_gbps=6.5)
            run = support.copy_with(tmp, calibration=cal)
            p = support.run_module("analysis.report", run, "--quiet")
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(run, "report.md"), encoding="utf-8") as f:
                md = f.read()
            caveats = md[md.index("## Caveats"):md.index("## Headline: time")]
            self.assertIn("the storage limit (1.39 GB/s, fio O_DIRECT bs=2M qd=32 (libaio)) is "
                          "beaten by", caveats)
            self.assertIn("“cold” means cold in the guest only: the host caches this virtual "
                          "disk", caveats)
            self.assertIn("again (dropped from the guest's cache) at 6.50 GB/s", caveats)
        finally:
            tmp.cleanup()


class MultiHostReportTest(unittest.TestCase):
    def test_host_is_a_column(self):
        tmp = support.TempDir()
        try:
            a = support.copy_fixture(tmp.path, "a")
            b = support.copy_fixture(tmp.path, "b")
            support.set_host(b, "edge-box", "20261128T110000Z-edge-box-quick")
            out = os.path.join(tmp.path, "report")
            p = support.run_module("analysis.report", a, b, "--out", out, "--quiet")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, "")
            with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
                md = f.read()
            self.assertIn("| host | strategy | ready cold (ms)", md)
            self.assertIn("| fixture | `read` |", md)
            self.assertIn("| edge-box | `read` |", md)
            self.assertTrue(os.path.exists(os.path.join(out, "plots", "edge-box-startup.png")))
            with open(os.path.join(out, "results.csv"), encoding="utf-8") as f:
                self.assertEqual({r["host"] for r in csv.DictReader(f)}, {"fixture", "edge-box"})
            # the same report again replaces the old one in place
            p = support.run_module("analysis.report", a, b, "--out", out, "--quiet")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(sorted(os.listdir(out)),
                             ["plots", "report.html", "report.md", "results.csv", "results.json"])
        finally:
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
