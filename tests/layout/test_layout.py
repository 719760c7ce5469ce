"""The house rules that a newcomer relies on, checked on the tree itself.

- Layering: each folder includes only the folders below it
  (common <- datasets <- benchmarks <- bpf <- harness; recording/ uses
  only common and is used by benchmarks and above), as the folders'
  READMEs say. faultline-bench's main may use the tracer (bpf/) when it is
  built; nothing else in benchmarks/ may.
- Every source file stays under 400 lines.
- Every source folder has a README.md (or is listed in its parent's).
"""
import os
import re
import subprocess
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# folder -> the faultline folders its sources may include ("schema" is the
# header CMake generates from results/schema.json).
MAY_USE = {
    "common": {"common"},
    "datasets": {"common", "datasets"},
    "recording": {"common", "recording"},
    "benchmarks": {"common", "datasets", "recording", "benchmarks", "schema"},
    "bpf": {"common", "datasets", "recording", "benchmarks", "bpf", "schema"},
    "harness": {"common", "datasets", "recording", "benchmarks", "bpf", "harness", "schema"},
}
# Files allowed one more folder, with the reason.
EXCEPTIONS = {
    "benchmarks/bench_main.cpp": {"bpf"},  # --trace: the tracer, when built with BPF
}
SOURCE = re.compile(r"\.(c|h|cpp)$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/', re.M)
MAX_LINES = 400


def tracked():
    out = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True, text=True)
    if out.returncode != 0:  # not a checkout: walk the tree
        files = []
        for d, _, names in os.walk(ROOT):
            if "/build" in d or "/." in d:
                continue
            files += [os.path.relpath(os.path.join(d, n), ROOT) for n in names]
        return files
    return [f for f in out.stdout.splitlines() if os.path.exists(os.path.join(ROOT, f))]


class Layout(unittest.TestCase):
    def test_folders_include_only_what_they_may_use(self):
        bad = []
        for f in tracked():
            top = f.split("/", 1)[0]
            if top not in MAY_USE or not SOURCE.search(f):
                continue
            allowed = MAY_USE[top] | EXCEPTIONS.get(f, set())
            with open(os.path.join(ROOT, f), encoding="utf-8", errors="replace") as fh:
                for used in INCLUDE.findall(fh.read()):
                    if used not in allowed and used in MAY_USE | {"schema": 0, "tests": 0, "analysis": 0}:
                        bad.append(f"{f} includes {used}/ (may use: {', '.join(sorted(allowed))})")
        self.assertEqual(bad, [], "\n".join(bad))

    def test_no_source_file_reaches_400_lines(self):
        long = []
        for f in tracked():
            if not re.search(r"\.(c|h|cpp|py|cmake|sh)$", f) and not f.startswith("scripts/"):
                continue
            if "/fixtures/" in f or "/corpus/" in f or f.startswith("results/"):
                continue
            with open(os.path.join(ROOT, f), encoding="utf-8", errors="replace") as fh:
                n = sum(1 for _ in fh)
            if n >= MAX_LINES:
                long.append(f"{f}: {n} lines")
        self.assertEqual(long, [], "\n".join(long))

    def test_every_source_folder_has_a_readme(self):
        # A folder's README, or its parent's when that one lists it
        # (tests/README.md names every tests/<area>).
        def covered(d):
            if os.path.exists(os.path.join(ROOT, d, "README.md")):
                return True
            parent = os.path.join(ROOT, os.path.dirname(d), "README.md")
            if os.path.dirname(d) and os.path.exists(parent):
                with open(parent, encoding="utf-8") as fh:
                    return f"`{os.path.basename(d)}/`" in fh.read()
            return False

        folders = {os.path.dirname(f) for f in tracked() if SOURCE.search(f) or f.endswith(".py")}
        missing = sorted(d for d in folders if d and not covered(d))
        self.assertEqual(missing, [], "folders without a README.md: " + ", ".join(missing))


if __name__ == "__main__":
    unittest.main()
