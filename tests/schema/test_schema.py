"""results/schema.json is the one owner of metric names and row fields.

- The C++ validator (harness/runs_schema.cpp, through faultline-validate-rows)
  and the Python one (analysis/schema.py) give the same problems, word for
  word, on one corpus: the committed fixture run (schema v1), the fuzz corpus
  of the results reader, and v2 rows broken in every way the schema names.
- analysis/ spells no metric name itself and uses only schema.NAMEs that exist.
- C++ spells no bpf_* metric the schema lacks (the producers' rows and
  counters are also checked at run time: harness rows by validate(), the
  bench's counters by BenchSchema tests).
"""

import ast
import copy
import glob
import json
import os
import re
import subprocess
import unittest

from analysis import schema

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
TOOL = os.environ.get("FAULTLINE_VALIDATE_ROWS", os.path.join(ROOT, "build",
                                                              "faultline-validate-rows"))


def v2_row():
    return {
        "schema_version": 2, "run_id": "20261201T000000Z-vm-custom",
        "cell": "load/mmap:private/forward/cold", "strategy": "mmap:private",
        "pattern": "forward", "cache": "cold", "rep": 1, "traced": False, "status": "ok",
        "error": None, "started_at": "2026-12-01T00:00:00Z", "wall_s": 0.5,
        "model": "/m.gguf", "model_bytes": 1 << 20, "processes": 1,
        "memory_limit_bytes": None, "exit_code": 0, "term_signal": None,
        "metrics": {"ready_ms": 0.01, "total_ms": 3.0, "rss_bytes": 1 << 20,
                    "perf_cycles": 12},
        "not_measured": {"bpf_fault_p50_us": "fentry/kprobe on handle_mm_fault unavailable"},
        "probes": ["rusage", "cachestat"], "fleet": [], "warnings": [], "raw": [],
    }


def mutations():
    """Valid and broken v2 rows: each field dropped, mistyped, and the cross rules."""
    base = v2_row()
    yield base
    wrong = [None, True, -1, 0, 1, 2.5, "", "x", [], ["a"], {}, {"ready_ms": 1},
             {"Bad": 1}, {"ready_ms": "fast"}, 1 << 63, (1 << 64) - 1]
    for field in base:
        dropped = copy.deepcopy(base)
        del dropped[field]
        yield dropped
        for value in wrong:
            changed = copy.deepcopy(base)
            changed[field] = value
            yield changed
    extra = copy.deepcopy(base)
    extra["surprise"] = 1
    yield extra
    for name in ("no_such_metric", "bpf_made_up", "perf_", "perf_instructions", "pid"):
        for where in ("metrics", "not_measured"):
            row = copy.deepcopy(base)
            row[where][name] = 1 if where == "metrics" else "why"
            yield row
    both = copy.deepcopy(base)
    both["not_measured"]["ready_ms"] = "no clock"
    yield both
    failed = copy.deepcopy(base)
    failed["status"] = "failed"
    yield failed
    failed["error"] = "it broke"
    yield failed
    fleet = copy.deepcopy(base)
    fleet["processes"] = 2
    fleet["metrics"] = {"fleet_pss_bytes": 10}
    fleet["fleet"] = [{"pid": 1, "rss_bytes": 5}, {"pid": 2, "rss_bytes": 5}]
    yield copy.deepcopy(fleet)
    fleet["fleet"].pop()
    yield copy.deepcopy(fleet)
    fleet["fleet"] = [{"pid": 1, "nonsense": 5}, {"pid": 2}]
    yield fleet
    for version in (0, 1, 3, -1, 2.0, "2"):
        row = copy.deepcopy(base)
        row["schema_version"] = version
        yield row
    cell = copy.deepcopy(base)
    cell["cell"] = "load/read/forward/cold"
    yield cell
    # A program cell's row: the optional field "command" (left out by every other row).
    program = copy.deepcopy(base)
    program.update({"strategy": "cmd:llama", "pattern": "program",
                    "cell": "load/cmd:llama/program/cold", "command": ["node", "load.mjs", "/m"]})
    program["metrics"]["rss_model_bytes"] = 1 << 20
    yield copy.deepcopy(program)
    for value in wrong + [[1], ["a", None]]:
        changed = copy.deepcopy(program)
        changed["command"] = value
        yield changed
    v1 = copy.deepcopy(program)
    v1["schema_version"] = 1
    yield v1


def corpus_lines():
    lines = []
    for path in glob.glob(os.path.join(ROOT, "tests", "analysis", "fixtures", "*", "runs.jsonl")):
        with open(path, encoding="utf-8") as f:
            lines += [l.rstrip("\n") for l in f if l.strip()]
    for path in glob.glob(os.path.join(ROOT, "tests", "fuzz", "corpus", "results", "*")):
        with open(path, "rb") as f:
            for raw in f.read().split(b"\n"):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if text.strip():
                    lines.append(text)
    for row in mutations():
        lines.append(json.dumps(row))
    return lines


class ValidatorsAgree(unittest.TestCase):
    def test_same_problems_on_one_corpus(self):
        if not os.access(TOOL, os.X_OK):
            self.skipTest("%s not built" % TOOL)
        lines = corpus_lines()
        self.assertGreater(len(lines), 300)
        out = subprocess.run([TOOL], input="\n".join(lines) + "\n", capture_output=True,
                             text=True, check=True).stdout.split("\n")
        compared = 0
        valid = invalid = 0
        for line, cpp in zip(lines, out):
            if cpp == "unparsable":
                continue  # nlohmann refuses it outright (NaN, bad UTF-8...)
            try:
                row = json.loads(line)
            except ValueError:
                continue
            py = schema.validate(row)
            self.assertEqual(json.loads(cpp), py, "row: %s" % line)
            compared += 1
            valid += not py
            invalid += bool(py)
        self.assertGreater(compared, 300)
        self.assertGreater(valid, 5)
        self.assertGreater(invalid, 200)


class AnalysisNames(unittest.TestCase):
    def test_analysis_spells_no_metric_and_uses_only_known_names(self):
        metric_names = set(schema.METRICS_INFO)
        problems = []
        for path in sorted(glob.glob(os.path.join(ROOT, "analysis", "*.py"))):
            if path.endswith("schema.py"):
                continue
            with open(path, encoding="utf-8") as f:
                text = f.read()
            tree = ast.parse(text, path)
            lines = text.split("\n")
            for node in ast.walk(tree):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                        and node.value.id == "schema" and not hasattr(schema, node.attr)):
                    problems.append("%s:%d: schema.%s is not in results/schema.json"
                                    % (path, node.lineno, node.attr))
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if "# not a metric:" in lines[node.lineno - 1]:
                        continue  # another file's field that shares the name (said why)
                    if node.value in metric_names:
                        problems.append("%s:%d: spells the metric %r: use schema.%s"
                                        % (path, node.lineno, node.value, node.value.upper()))
                    elif re.fullmatch(r"bpf_[a-z0-9_]+", node.value):
                        problems.append("%s:%d: %r looks like a metric the schema lacks"
                                        % (path, node.lineno, node.value))
        self.assertEqual(problems, [])


class CppNames(unittest.TestCase):
    def test_cpp_spells_no_bpf_metric_the_schema_lacks(self):
        known = set(schema.METRICS_INFO) | set(schema.FAMILIES)  # metrics and probe families
        problems = []
        for folder in ("benchmarks", "bpf", "harness", "datasets", "common"):
            for path in glob.glob(os.path.join(ROOT, folder, "**", "*.[ch]*"), recursive=True):
                if path.endswith((".bpf.c", "_benchmark.cpp")):
                    continue  # BPF program names; the overhead benchmark's own counters
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, start=1):
                        for name in re.findall(r'"(bpf_[a-z0-9_]+)"', line):
                            if name not in known:
                                problems.append("%s:%d: %r is not in results/schema.json"
                                                % (path, number, name))
        self.assertEqual(problems, [])


class SchemaFile(unittest.TestCase):
    def test_every_metric_names_a_known_scope_family_and_unit(self):
        for m in schema.SCHEMA["metrics"]:
            self.assertIn(m["scope"], schema.SCOPES, m["name"])
            self.assertIn(m["family"], schema.FAMILIES, m["name"])
            self.assertIn(m["better"], ("lower", "higher", None), m["name"])
            self.assertTrue(m["doc"], m["name"])
        for f in schema.FIELDS:
            self.assertTrue(set(f["versions"]) <= set(schema.READABLE_VERSIONS), f["name"])

    def test_results_readme_names_every_metric_and_field(self):
        with open(os.path.join(ROOT, "results", "README.md"), encoding="utf-8") as f:
            text = f.read()
        missing = [m for m in schema.METRICS_INFO if "`%s`" % m not in text]
        missing += [f["name"] for f in schema.FIELDS if "`%s`" % f["name"] not in text]
        self.assertEqual(missing, [], "results/README.md does not document these")


if __name__ == "__main__":
    unittest.main()
