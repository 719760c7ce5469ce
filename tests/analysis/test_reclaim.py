"""Proactive reclaim in the report: env.json's "damon_pageout" (the DAMON pageout
schemes `faultline run` found running) is a host fact; when one ran, a caveat
says so with what the traced repetitions saw (pages of the model evicted during
a load, bpf_pagecache_evict_pages); a run that predates the check says it was
not checked."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

from analysis import cells, document, load_runs, reclaim, schema  # noqa: E402

SCHEME = ("kdamond 0 (pid 77): pageout of physical memory not accessed for 60 s (12 "
          "aggregations of 5 s), at most 128M per 1 s; filters: anon rejected, unmapped "
          "allowed; stop it with echo off > /sys/kernel/mm/damon/admin/kdamonds/0/state")


def run_with(tmp, damon, change_rows=None):
    run = support.copy_with(tmp, change_rows)
    env = support.read_json(run, "env.json")
    if damon is None:
        env.pop("damon_pageout", None)
    else:
        env["damon_pageout"] = damon
    support.write_json(run, "env.json", env)
    return load_runs.load_run(run)


def evicted(pages_of):
    """A row change: bpf_pagecache_evict_pages = pages_of(row) where the row measured it
    (the fixture's own values are made up)."""
    def change(row):
        if EVICTED in row["metrics"]:
            row["metrics"][EVICTED] = pages_of(row)
    return change


EVICTED = schema.BPF_PAGECACHE_EVICT_PAGES  # noqa: F821


def fact(doc):
    return dict(doc.host_rows[0][1])["proactive reclaim"]


class ReclaimTest(unittest.TestCase):
    def setUp(self):
        self.tmp = support.TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def test_a_run_that_predates_the_check(self):
        doc = document.build([run_with(self.tmp, None)])
        self.assertEqual(fact(doc), "not checked (the run predates it)")
        self.assertFalse([c for c in doc.caveats if "proactive reclaim" in c])

    def test_a_run_that_could_not_tell_says_why(self):
        why = "unknown: /sys/kernel/mm/damon/admin/kdamonds/0/state: Permission denied"
        doc = document.build([run_with(self.tmp, why)])
        self.assertEqual(fact(doc), why)
        self.assertFalse([c for c in doc.caveats if "proactive reclaim" in c])

    def test_no_scheme_is_no_caveat(self):
        doc = document.build([run_with(self.tmp, [])])
        self.assertEqual(fact(doc), "none found (no DAMON pageout scheme running)")
        self.assertFalse([c for c in doc.caveats if "proactive reclaim" in c])

    def test_a_scheme_without_evictions_seen(self):
        doc = document.build([run_with(self.tmp, [SCHEME], evicted(lambda r: 0))])
        self.assertTrue(fact(doc).startswith("DAMON: kdamond 0 (pid 77): pageout of physical"))
        self.assertNotIn("stop it with", fact(doc))
        caveat = [c for c in doc.caveats if "proactive reclaim" in c]
        self.assertEqual(len(caveat), 1)
        self.assertIn("no traced repetition of the 24 cells that measured it saw a page of "
                      "the model evicted", caveat[0])

    def test_evictions_seen_name_the_cell_with_the_most(self):
        only_read_cold = evicted(
            lambda r: 11 if (r["strategy"], r["pattern"], r["cache"]) == ("read", "none", "cold")
            else 0)
        rc = cells.RunCells(run_with(self.tmp, [SCHEME], only_read_cold))
        seen, measured = reclaim.evictions(rc)
        self.assertEqual(measured, 24)
        self.assertEqual(seen, [("load/read/none/cold", 11)])
        self.assertIn("traced repetitions saw pages of the model evicted during the load in 1 "
                      "of 24 cells (most: 11 pages in `load/read/none/cold`",
                      reclaim.caveat(rc))


if __name__ == "__main__":
    unittest.main()
