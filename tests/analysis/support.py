"""Helpers of the analysis tests: the committed fixtures (FIXTURE, schema 2;
FIXTURE_V1, a schema 1 run with the old calibration.json layout), copies of
them that the tests change, and running the analysis commands as a user would."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "analysis", "fixtures")
FIXTURE = os.path.join(FIXTURES, "20261128T100000Z-fixture-quick")
FIXTURE_V1 = os.path.join(FIXTURES, "20261127T100000Z-fixture-v1")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def run_module(module, *args):
    """Runs `python3 -m <module> args...` from the source root; returns the process."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("FAULTLINE_DEBUG", None)
    return subprocess.run([PYTHON, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


class TempDir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="faultline-analysis-test-")

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def copy_fixture(dest_parent, name=None, source=FIXTURE):
    dest = os.path.join(dest_parent, name or os.path.basename(source))
    shutil.copytree(source, dest)
    return dest


def edit_rows(run_dir, change):
    """Rewrites runs.jsonl with change(row) applied to every row (it edits in place)."""
    rows = read_rows(run_dir)
    for r in rows:
        change(r)
    write_rows(run_dir, rows)


def not_measured(row, metric, reason):
    """Moves a metric of a row from metrics to not_measured."""
    row["metrics"].pop(metric, None)
    row["not_measured"][metric] = reason


def read_json(run_dir, name):
    with open(os.path.join(run_dir, name), encoding="utf-8") as f:
        return json.load(f)


def write_json(run_dir, name, data):
    with open(os.path.join(run_dir, name), "w", encoding="utf-8") as f:
        json.dump(data, f)


def copy_with(tmp, change_rows=None, calibration=None, name=None):
    """A changed copy of FIXTURE: change_rows(row) on every row; calibration(dict) edits
    calibration.json in place."""
    run = copy_fixture(tmp.path, name)
    if change_rows:
        edit_rows(run, change_rows)
    if calibration:
        data = read_json(run, "calibration.json")
        calibration(data)
        write_json(run, "calibration.json", data)
    return run


def read_rows(run_dir):
    with open(os.path.join(run_dir, "runs.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_rows(run_dir, rows):
    with open(os.path.join(run_dir, "runs.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, sort_keys=True) + "\n")


def set_host(run_dir, host, run_id):
    """Renames the host and run id of a copied fixture run."""
    path = os.path.join(run_dir, "env.json")
    with open(path, encoding="utf-8") as f:
        env = json.load(f)
    env["host"] = host
    with open(path, "w", encoding="utf-8") as f:
        json.dump(env, f)
    rows = read_rows(run_dir)
    for r in rows:
        r["run_id"] = run_id
    write_rows(run_dir, rows)
