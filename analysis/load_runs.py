"""Reads a results folder written by `faultline run` (layout: results/README.md).

Every problem is a LoadError whose message names the file (and line) at fault;
nothing here raises anything else for bad input.
"""

import json
import math
import os
from dataclasses import dataclass, field

from analysis import calibration as calibration_json, schema


class LoadError(Exception):
    """A results folder that cannot be read; str() names the file and line."""


@dataclass
class Run:
    path: str                   # the run folder
    run_id: str
    host: str
    env: dict                   # env.json ({} when absent)
    plan: dict                  # plan.json ({} when absent)
    storage_gbps: float = None  # calibrated sequential read limit (None when unknown)
    pagecache_gbps: float = None
    rows: list = field(default_factory=list)  # every valid row, in file order (schema v2)
    label: str = ""             # how reports name this run ("vm", or "vm (run id)")
    calibration: calibration_json.Calibration = field(
        default_factory=calibration_json.Calibration)
    source_versions: frozenset = frozenset()  # the schema versions its rows were written in

    @property
    def predates_schema_2(self):
        return bool(self.source_versions) and max(self.source_versions) < 2

    @property
    def ok_rows(self):
        return [r for r in self.rows if r[schema.STATUS] == "ok"]

    @property
    def failed_rows(self):
        return [r for r in self.rows if r[schema.STATUS] != "ok"]

    @property
    def model_bytes(self):
        for r in self.rows:
            return r[schema.MODEL_BYTES]
        return 0

    def raw_path(self, rel):
        return os.path.join(self.path, rel)


def _read_json_file(path, required):
    if not os.path.exists(path):
        if required:
            raise LoadError("%s: missing" % path)
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise LoadError("%s:%d: not valid JSON (%s)" % (path, e.lineno, e.msg)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise LoadError("%s: cannot read (%s)" % (path, e)) from None


def _finite(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def read_rows(path, versions=None):
    """The rows of a runs.jsonl, validated and upgraded to the current schema
    version (schema.upgrade); LoadError naming file:line otherwise. The versions
    they were written in are added to the set `versions` when given."""
    if not os.path.isfile(path):
        raise LoadError("%s: missing (is this a folder written by `faultline run`?)" % path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise LoadError("%s: cannot read (%s)" % (path, e)) from None
    lines = text.split("\n")
    torn = not text.endswith("\n")  # the last line was never completed
    last_number = max((i for i, l in enumerate(lines, start=1) if l.strip()), default=0)
    rows, seen = [], {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            what = "truncated line" if (torn and number == last_number) else "not valid JSON"
            raise LoadError("%s:%d: %s (%s at column %d); a run interrupted mid-append? "
                            "`faultline run --resume` drops a torn last line"
                            % (path, number, what, e.msg, e.colno)) from None
        problems = schema.validate(row)
        if problems:
            raise LoadError("%s:%d: invalid row: %s" % (path, number, "; ".join(problems)))
        if versions is not None:
            versions.add(row[schema.VERSION])
        row = schema.upgrade(row)
        key = (row[schema.CELL], row[schema.REP])
        if key in seen:
            raise LoadError("%s:%d: %s rep %d already recorded on line %d"
                            % (path, number, key[0], key[1], seen[key]))
        seen[key] = number
        rows.append(row)
    if not rows:
        raise LoadError("%s: no rows (the run recorded no finished cell)" % path)
    return rows


def load_run(path):
    """One results folder: env.json, plan.json, calibration.json (all optional) and
    runs.jsonl (required, at least one valid row)."""
    path = os.path.normpath(path)
    if not os.path.isdir(path):
        raise LoadError("%s: not a results folder" % path)
    versions = set()
    rows = read_rows(os.path.join(path, schema.RUNS_FILE), versions)
    env = _read_json_file(os.path.join(path, schema.ENV_FILE), required=False) or {}
    plan = _read_json_file(os.path.join(path, schema.PLAN_FILE), required=False) or {}
    calibration = _read_json_file(os.path.join(path, schema.CALIBRATION_FILE), required=False)
    if calibration is None and isinstance(env, dict):
        calibration = env.get("calibration")  # older layout: calibration inside env.json
    cal = calibration_json.parse(calibration)
    run_id = rows[0][schema.RUN_ID]
    host = env.get("host") if isinstance(env, dict) and _is_text(env.get("host")) else None
    if not host:
        parts = run_id.split("-")  # <timestamp>-<host>-<preset>
        host = "-".join(parts[1:-1]) if len(parts) >= 3 else run_id
    return Run(path=path, run_id=run_id, host=host, env=env if isinstance(env, dict) else {},
               plan=plan if isinstance(plan, dict) else {},
               storage_gbps=cal.storage_gbps, pagecache_gbps=cal.pagecache_gbps, rows=rows,
               calibration=cal, source_versions=frozenset(versions), label=host)


def _is_text(v):
    return isinstance(v, str) and v and v != "unknown"


def load_runs(paths):
    """Several runs; labels are host names, with the run id added where a host repeats."""
    runs = [load_run(p) for p in paths]
    hosts = [r.host for r in runs]
    for r in runs:
        r.label = r.host if hosts.count(r.host) == 1 else "%s (%s)" % (r.host, r.run_id)
    return runs


# --- Optional per-row evidence in raw/ (see the contract in analysis/README.md) ---

def _raw_candidates(run, row, suffixes):
    for rel in row[schema.RAW]:
        if any(rel.endswith(s) for s in suffixes):
            yield run.raw_path(rel)


def _load_optional(path):
    try:
        return _read_json_file(path, required=False)
    except LoadError:
        return None


def timeline_events(run, row):
    """The per-event trace timeline of a row, or None when not recorded.

    Looked for in raw/<stem>.timeline.json and raw/<stem>.trace.json: either a
    JSON list of events or an object whose "timeline" is that list. An event is
    {"t_ms": number, "kind": str, "offset": bytes, "pages": n, ...} as
    `faultline trace --json` writes it (bpf/trace_summary.cpp).
    """
    for path in _raw_candidates(run, row, (".timeline.json", ".trace.json")):
        data = _load_optional(path)
        events = data.get("timeline") if isinstance(data, dict) else data
        if isinstance(events, list):
            good = [e for e in events if isinstance(e, dict) and _finite(e.get("t_ms"))
                    and isinstance(e.get("kind"), str)]
            if good:
                return good
    return None


def rss_samples(run, row):
    """RSS over time of a row, or None: [{"t_s", "rss_bytes", "rss_anon_bytes",
    "rss_file_bytes"}] from "rss": {"samples": [...]} of raw/<stem>.timeline.json,
    raw/<stem>.trace.json or
    raw/<stem>.rss.json (the `faultline trace --json` layout)."""
    for path in _raw_candidates(run, row, (".rss.json", ".timeline.json", ".trace.json")):
        data = _load_optional(path)
        if not isinstance(data, dict):
            continue
        rss = data.get("rss")
        samples = rss.get("samples") if isinstance(rss, dict) else data.get("samples")
        if isinstance(samples, list):
            good = [s for s in samples if isinstance(s, dict) and _finite(s.get("t_s"))
                    and _finite(s.get("rss_bytes"))]  # not a metric: an RSS sample field
            if good:
                return good
    return None
