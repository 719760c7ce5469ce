"""A storage limit that is a limit: the throughput column holds read_gbps (bytes
from storage) against calibration.json's limit; a cold cell over 105 % of it
turns the column off and the report says the limit is wrong and why; the
calibration sweep is in an appendix; a host that caches the disk makes "cold"
mean cold in the guest only. And throughput on the bytes that moved: read
amplification of the patterns that touch part of the file."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

from analysis import (amplification, calibration, cells, document, load_runs,  # noqa: E402
                      storage_limit, tables)


def doc_of(path):
    return document.build([load_runs.load_run(path)])


def limit(gbps):
    def change(cal):
        cal["storage"]["gbps"] = cal["storage_gbps"] = gbps
    return change


class LimitTest(unittest.TestCase):
    def test_the_fixture_limit_holds(self):
        rc = cells.RunCells(load_runs.load_run(support.FIXTURE))
        j = storage_limit.judge(rc)
        self.assertFalse(j.wrong)
        self.assertEqual(j.limit_label, "2.20 GB/s, fio O_DIRECT bs=2M qd=32 (libaio)")
        self.assertEqual(doc_of(support.FIXTURE).caveats, [])

    def test_a_limit_beaten_by_more_than_5_percent(self):
        tmp = support.TempDir()
        try:
            run = support.copy_with(tmp, calibration=limit(1.39))
            rc = cells.RunCells(load_runs.load_run(run))
            j = storage_limit.judge(rc)
            self.assertTrue(j.wrong)
            # populate random:2048 cold: 1 GiB in 500 ms = 2.15 GB/s = 154 % of 1.39
            self.assertEqual((j.beaten[0].strategy, j.beaten[0].pattern),
                             ("mmap:private,populate", "random:2048"))
            self.assertAlmostEqual(j.beaten[0].fraction, (1 << 30) / 500 / 1e6 / 1.39)
            text = j.text()
            self.assertEqual(text, (
                "fixture: the storage limit (1.39 GB/s, fio O_DIRECT bs=2M qd=32 (libaio)) is "
                "beaten by `mmap:private,populate` at 154 % (cold `random:2048`; 1 more cold "
                "cell over 105 %): the calibration did not find the storage's real limit "
                "(buffered readahead in 8 MiB windows is faster here), so no cell is shown "
                "against it"))
            h = tables.build_headline([rc])
            for r in h.rows:  # no percentage printed against a wrong limit
                self.assertIsInstance(r.entries["storage_fraction"], tables.Gap)
            md = tables.markdown_table(h, tables.TIME_COLUMNS, with_host=False)
            self.assertNotIn("%", md)
            doc = document.build([load_runs.load_run(run)])
            self.assertIn(text, doc.caveats)
            self.assertIn("beaten: not a limit on this run", dict(doc.host_rows[0][1])[
                "storage limit"])
        finally:
            tmp.cleanup()

    def test_just_under_the_tolerance_is_shown(self):
        tmp = support.TempDir()
        try:
            # the fastest cold cell (populate random:2048, 1 GiB in 500 ms) at 104.9 %
            top = (1 << 30) / 500 / 1e6
            run = support.copy_with(tmp, calibration=limit(top / 1.049))
            rc = cells.RunCells(load_runs.load_run(run))
            self.assertFalse(storage_limit.judge(rc).wrong)
        finally:
            tmp.cleanup()

    def test_old_layout_and_the_reference_example(self):
        # the v1 fixture: old calibration.json, read_gbps derived from read_bytes / total_ms
        run = load_runs.load_run(support.FIXTURE_V1)
        self.assertEqual((run.storage_gbps, run.calibration.storage_method), (2.0, "fixture"))
        j = storage_limit.judge(cells.RunCells(run))
        self.assertIn("beaten by `mmap:private,populate` at 105.3 % (cold `forward`)", j.text())
        self.assertIn("(buffered readahead in 128 KiB windows is faster here)", j.text())

    def test_host_cache_explains_a_beaten_limit(self):
        tmp = support.TempDir()
        try:
            def observed(cal):
                limit(1.39)(cal)
                cal["host_cache"].update(verdict="observed", first_gbps=2.1, again_gbps=6.5)
            rc = cells.RunCells(load_runs.load_run(support.copy_with(tmp, calibration=observed)))
            self.assertIn("(the host caches this virtual disk: the same bytes read again at "
                          "6.50 GB/s after 2.10 GB/s)", storage_limit.judge(rc).text())
        finally:
            tmp.cleanup()


class HostCacheTest(unittest.TestCase):
    def caveats(self, **host_cache):
        tmp = support.TempDir()
        try:
            run = support.copy_with(tmp, calibration=lambda c: c["host_cache"].update(host_cache))
            return doc_of(run).caveats
        finally:
            tmp.cleanup()

    def test_observed(self):
        self.assertEqual(self.caveats(verdict="observed", first_gbps=2.1, again_gbps=6.5), [
            "fixture: “cold” means cold in the guest only: the host caches this virtual disk, "
            "so a cold cell may be served from the host's memory; the model's first read from "
            "the disk ran at 2.10 GB/s, the same bytes again (dropped from the guest's cache) "
            "at 6.50 GB/s; the first 256 MiB read twice with O_DIRECT, the guest's cache "
            "dropped in between"])

    def test_unknown_on_a_virtual_machine(self):
        text = self.caveats(verdict="unknown", first_gbps=None, again_gbps=None)
        self.assertEqual(len(text), 1)
        self.assertIn("“cold” means cold in the guest only: this is a virtual machine and "
                      "whether its host caches the disk is unknown", text[0])

    def test_not_observed_or_unknown_on_bare_metal(self):
        self.assertEqual(self.caveats(verdict="not_observed"), [])
        self.assertEqual(self.caveats(verdict="unknown", virtual_machine=False), [])


class AppendixTest(unittest.TestCase):
    def test_the_sweep(self):
        doc = doc_of(support.FIXTURE)
        (label, lines, head, rows), = doc.appendix
        self.assertIn("storage limit: 2.20 GB/s, fio O_DIRECT bs=2M qd=32 (libaio) (the median "
                      "of the three re-measured best points)", lines)
        self.assertIn("re-measured: fio O_DIRECT bs=1M qd=64 (libaio): 2.20 GB/s (runs: 2.18, "
                      "2.20, 2.21)", lines)
        self.assertEqual(sum(1 for l in lines if l.startswith("re-measured:")), 3)
        self.assertEqual(len(rows), 13)
        self.assertEqual(rows[0][:4], ["coarse", "libaio", "yes", "4M"])  # fastest coarse first

    def test_junk_is_ignored_not_guessed(self):
        cal = calibration.parse({"storage": {"gbps": "fast", "points": [{"gbps": None}, 3]},
                                 "host_cache": {"verdict": "maybe"}, "storage_gbps": -1})
        self.assertIsNone(cal.storage_gbps)
        self.assertEqual(cal.points, [])
        self.assertEqual(cal.host_cache.verdict, "unknown")
        self.assertIsNone(calibration.parse(None).storage_gbps)
        cal = calibration.parse({"storage": {"error": "fio not installed"}})
        self.assertEqual(calibration.appendix(cal)[0], ["storage calibration failed: fio not "
                                                        "installed"])


class AmplificationTest(unittest.TestCase):
    def test_patterns_that_touch_a_fraction(self):
        rc = cells.RunCells(load_runs.load_run(support.FIXTURE))
        self.assertEqual(amplification.partial_patterns(rc), [("random:2048", 8 << 20)])
        self.assertEqual(amplification.sentences(rc), [
            "cold `random:2048` reads 128.0× what it touches under `read`, 127.5× under "
            "`mmap:private`, 128.0× under `mmap:private,populate` and 1.0× under "
            "`mmap:private,advise=random` (it touches 8.00 MiB of 1.00 GiB): the read "
            "amplification Crotty, Leis and Pavlo measured for mmap (CIDR 2022)"])

    def test_forward_minus_the_header_is_not_a_fraction(self):
        tmp = support.TempDir()
        try:
            def header(r):  # a real GGUF: forward touches every tensor, not the header
                if r["pattern"] == "forward" and "touched_bytes" in r["metrics"]:
                    r["metrics"]["touched_bytes"] -= 6 << 20
            rc = cells.RunCells(load_runs.load_run(support.copy_with(tmp, header)))
            self.assertEqual([p for p, _ in amplification.partial_patterns(rc)],
                             ["random:2048"])
        finally:
            tmp.cleanup()

    def test_without_touched_bytes_nothing_is_claimed(self):
        rc = cells.RunCells(load_runs.load_run(support.FIXTURE_V1))
        self.assertEqual(amplification.sentences(rc), [])


if __name__ == "__main__":
    unittest.main()
