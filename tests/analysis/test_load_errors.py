"""Broken results folders give one clear error naming the file (and line), a
nonzero exit and no stack trace, and leave no partial report behind."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

from analysis import load_runs, schema  # noqa: E402


class BrokenRunTest(unittest.TestCase):
    def setUp(self):
        self.tmp = support.TempDir()
        self.run_dir = support.copy_fixture(self.tmp.path)
        self.runs = os.path.join(self.run_dir, "runs.jsonl")
        self.out = os.path.join(self.tmp.path, "out")

    def tearDown(self):
        self.tmp.cleanup()

    def assert_clear_error(self, *expected):
        for module, args in (("analysis.report", [self.run_dir, "--out", self.out]),
                             ("analysis.compare", [support.FIXTURE, self.run_dir])):
            p = support.run_module(module, *args)
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertNotIn("Traceback", p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            for text in expected:
                self.assertIn(text, p.stderr)
        self.assertFalse(os.path.exists(self.out), "a partial report was left behind")

    def lines(self):
        with open(self.runs, encoding="utf-8") as f:
            return f.read().splitlines(keepends=True)

    def test_truncated_last_line(self):
        lines = self.lines()
        with open(self.runs, "w", encoding="utf-8") as f:
            f.writelines(lines[:-1])
            f.write(lines[-1][: len(lines[-1]) // 2])  # a torn append, no newline
        self.assert_clear_error("runs.jsonl:%d: truncated line" % len(lines))

    def test_garbage_line_in_the_middle(self):
        lines = self.lines()
        lines[4] = "{not json\n"
        with open(self.runs, "w", encoding="utf-8") as f:
            f.writelines(lines)
        self.assert_clear_error("runs.jsonl:5: not valid JSON")

    def test_unknown_schema_version(self):
        rows = support.read_rows(self.run_dir)
        rows[2]["schema_version"] = 99
        support.write_rows(self.run_dir, rows)
        self.assert_clear_error("runs.jsonl:3:", "unknown schema_version 99",
                                "schema versions 1, 2")

    def test_no_rows(self):
        open(self.runs, "w").close()
        self.assert_clear_error("runs.jsonl: no rows")

    def test_missing_runs_file(self):
        os.unlink(self.runs)
        self.assert_clear_error("runs.jsonl: missing")

    def test_invalid_row(self):
        rows = support.read_rows(self.run_dir)
        del rows[6]["metrics"]["ready_ms"]
        rows[7]["cache"] = "lukewarm"
        support.write_rows(self.run_dir, rows)
        self.assert_clear_error("runs.jsonl:7: invalid row: an ok row has metrics.ready_ms")

    def test_duplicate_repetition(self):
        rows = support.read_rows(self.run_dir)
        rows.append(rows[0])
        support.write_rows(self.run_dir, rows)
        self.assert_clear_error("runs.jsonl:%d:" % len(rows), "already recorded on line 1")

    def test_corrupt_env_json(self):
        with open(os.path.join(self.run_dir, "env.json"), "w") as f:
            f.write('{"host": ')
        self.assert_clear_error("env.json:1: not valid JSON")

    def test_not_a_folder(self):
        self.run_dir = os.path.join(self.tmp.path, "nothing-here")
        self.assert_clear_error("nothing-here: not a results folder")


class MissingDependencyTest(unittest.TestCase):
    def test_without_matplotlib(self):
        tmp = support.TempDir()
        try:
            fake = os.path.join(tmp.path, "matplotlib")
            os.makedirs(fake)
            with open(os.path.join(fake, "__init__.py"), "w") as f:
                f.write("raise ImportError('simulated: not installed')\n")
            out = os.path.join(tmp.path, "out")
            env = dict(os.environ, PYTHONPATH=tmp.path + os.pathsep + support.ROOT)
            p = subprocess.run([support.PYTHON, "-m", "analysis.report", support.FIXTURE,
                                "--out", out], cwd=support.ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 3)
            self.assertNotIn("Traceback", p.stderr)
            self.assertIn("cannot import matplotlib", p.stderr)
            self.assertIn("apt install python3-matplotlib", p.stderr)
            self.assertFalse(os.path.exists(out))
        finally:
            tmp.cleanup()


class SchemaTest(unittest.TestCase):
    def test_fixture_rows_are_valid(self):
        for row in support.read_rows(support.FIXTURE):
            self.assertEqual(schema.validate(row), [])

    def test_rules_of_runs_schema_h(self):
        row = support.read_rows(support.FIXTURE)[0]
        bad = dict(row, cell="load/x/none/cold")
        self.assertIn('field "cell" must be load/<strategy>/<pattern>/<cache>',
                      schema.validate(bad))
        bad = dict(row, status="failed", error=None)
        self.assertIn("a row that is not ok names its error", schema.validate(bad))
        bad = dict(row, metrics={"ReadyMs": 1.0})
        self.assertTrue(any("snake_case" in e for e in schema.validate(bad)))
        bad = dict(row, rep=True)
        self.assertIn('field "rep" must be an integer >= 1', schema.validate(bad))
        bad = dict(row)
        del bad["raw"]
        self.assertIn('missing field "raw"', schema.validate(bad))

    def test_load_run_reads_calibration_and_host(self):
        run = load_runs.load_run(support.FIXTURE)
        self.assertEqual((run.host, run.storage_gbps, run.pagecache_gbps), ("fixture", 2.2, 4.0))
        self.assertEqual(len(run.rows), 99)
        self.assertEqual(len(run.failed_rows), 1)
        self.assertEqual(run.source_versions, frozenset({2}))
        self.assertEqual(len(run.calibration.best), 3)
        self.assertEqual(run.calibration.host_cache.verdict, "not_observed")

    def test_schema_1_rows_are_upgraded(self):
        for row in support.read_rows(support.FIXTURE_V1):
            self.assertEqual(schema.validate(row), [])
        run = load_runs.load_run(support.FIXTURE_V1)
        self.assertEqual((run.storage_gbps, run.source_versions), (2.0, frozenset({1})))
        self.assertEqual(len(run.rows), 49)
        row = run.rows[0]
        self.assertEqual(schema.validate(row), [])  # a valid schema 2 row now
        self.assertEqual((row["schema_version"], row["traced"], row["not_measured"]),
                         (2, True, {}))
        m = row["metrics"]
        self.assertNotIn("bpf_ra_pages", m)
        self.assertIn("bpf_ra_requested_pages", m)
        # read_gbps derived from the row's own read_bytes / total_ms (GB/s)
        self.assertAlmostEqual(m["read_gbps"], m["read_bytes"] / m["total_ms"] / 1e6)

    def test_schema_1_tracer_off_reason(self):
        row = dict(support.read_rows(support.FIXTURE_V1)[0], trace="off: no BTF on this kernel")
        row["metrics"] = {k: v for k, v in row["metrics"].items() if not k.startswith("bpf_")}
        up = schema.upgrade(row)
        self.assertEqual(schema.validate(up), [])
        self.assertFalse(up["traced"])
        self.assertEqual(up["not_measured"]["bpf_user_faults"], "tracer off: no BTF on this kernel")
        self.assertEqual(schema.upgrade(dict(row, trace="off"))["not_measured"], {})


if __name__ == "__main__":
    unittest.main()
