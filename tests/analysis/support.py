"""Helpers of the analysis tests: the committed fixture, copies of it that the
tests change, and running the analysis commands as a user would."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "tests", "analysis", "fixtures", "20261128T100000Z-fixture-quick")
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


def copy_fixture(dest_parent, name=None):
    dest = os.path.join(dest_parent, name or os.path.basename(FIXTURE))
    shutil.copytree(FIXTURE, dest)
    return dest


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
