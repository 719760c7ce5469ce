"""The runs.jsonl row schema and metric names, as the analysis reads them.

Everything comes from results/schema.json, the one owner of metric names and
row fields (C++ reads the same file through CMake-generated headers). This
module turns it into Python names: every metric as an upper-case constant
(READY_MS = "ready_ms"), every row field likewise (RUN_ID = "run_id"; the
schema_version field is VERSION), and validate(), the same rules with the same
messages as harness/runs_schema.cpp (tests/harness/test_validators_agree.py
runs both on one corpus). Nothing in analysis/ spells a metric name itself.
"""

import json
import math
import os
import re

SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "results",
                           "schema.json")


def _load():
    with open(SCHEMA_FILE, encoding="utf-8") as f:
        return json.load(f)


SCHEMA = _load()
SCHEMA_VERSION = SCHEMA["schema_version"]
READABLE_VERSIONS = tuple(SCHEMA["readable_versions"])
STATUSES = tuple(SCHEMA["statuses"])
CACHES = tuple(SCHEMA["caches"])
METRICS_INFO = {m["name"]: m for m in SCHEMA["metrics"]}
PREFIXES = {p["prefix"]: p for p in SCHEMA["metric_prefixes"]}
FAMILIES = dict(SCHEMA["families"])
SCOPES = dict(SCHEMA["scopes"])
FIELDS = SCHEMA["row_fields"]

# Upper-case constants: metric names, then row field names.
for _name in METRICS_INFO:
    globals()[_name.upper()] = _name
for _f in FIELDS:
    globals()["VERSION" if _f["name"] == "schema_version" else _f["name"].upper()] = _f["name"]
for _p in PREFIXES:
    globals()[_p.rstrip("_").upper() + "_PREFIX"] = _p


def metric_info(name):
    """The schema's entry for a metric name (perf_<event> through its prefix), or None."""
    if name in METRICS_INFO:
        return METRICS_INFO[name]
    for prefix, info in PREFIXES.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            return info
    return None


def metric(name):
    """A metric name the schema knows; KeyError naming results/schema.json otherwise."""
    if metric_info(name) is None:
        raise KeyError("metric %r is not in results/schema.json" % name)
    return name


# A --processes N run reports the fleet's numbers instead (results/README.md).
FLEET_FALLBACK = {READY_MS: FLEET_READY_MS, RSS_BYTES: FLEET_RSS_BYTES,  # noqa: F821
                  PSS_BYTES: FLEET_PSS_BYTES}  # noqa: F821

# Metrics where a larger value is better (schema "better": "higher").
HIGHER_IS_BETTER = frozenset(n for n, m in METRICS_INFO.items() if m["better"] == "higher")
# Timing metrics: the ones whose spread (coefficient of variation) is checked
# (first_pass_ms and total_ms only where the pattern touches the model).
TIMING_METRICS = frozenset(n for n, m in METRICS_INFO.items()
                           if m["unit"] == "ms" and m["scope"] in ("region", "fleet"))
# Metrics that come from the tracer: read from traced repetitions only.
TRACE_METRICS = frozenset(n for n, m in METRICS_INFO.items() if m["family"].startswith("bpf_"))
# What only the evidence (traced) repetitions measure: the tracer's bpf_* and
# the first-touch timer (it costs ~0.1 us a page, so the timed ones go without).
EVIDENCE_METRICS = TRACE_METRICS | frozenset(
    n for n, m in METRICS_INFO.items() if m["family"] == "touch_timer")
NO_ACCESS_PATTERN = "none"  # ready only: first_pass_ms ~ 0, total_ms == ready_ms


def spread_matters(metric_name, pattern):
    """Whether a cell's spread in this metric is worth a warning."""
    if metric_name not in TIMING_METRICS:
        return False
    return pattern != NO_ACCESS_PATTERN or metric_name in (READY_MS, FLEET_READY_MS)  # noqa: F821


# The run folder's files (results/README.md).
RUNS_FILE = "runs.jsonl"
ENV_FILE = "env.json"
PLAN_FILE = "plan.json"
CALIBRATION_FILE = "calibration.json"

_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
_INT64 = (-(1 << 63), (1 << 63) - 1)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and _INT64[0] <= v <= _INT64[1]


def _is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < (1 << 64)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and (
        not isinstance(v, float) or math.isfinite(v))


def _metric_map(v):
    return isinstance(v, dict) and all(_SNAKE.match(k) and _is_num(x) for k, x in v.items())


def _strings(v):
    return isinstance(v, list) and all(isinstance(e, str) for e in v)


# The validator's vocabulary (results/schema.json "type"): predicate, and what
# a value must be; the same words as type_what() in harness/runs_schema.cpp.
_TYPES = {
    "version": (_is_int, "an integer"),
    "nonempty_string": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "string": (lambda v: isinstance(v, str), "a string"),
    "cache": (lambda v: isinstance(v, str) and v in CACHES, "one of " + ", ".join(CACHES)),
    "status": (lambda v: isinstance(v, str) and v in STATUSES, "one of " + ", ".join(STATUSES)),
    "int_ge1": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "uint": (_is_uint, "a non-negative integer"),
    "number": (_is_num, "a number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "string_or_null": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "int_or_null": (lambda v: v is None or _is_int(v), "an integer or null"),
    "uint_or_null": (lambda v: v is None or _is_uint(v), "a non-negative integer or null"),
    "strings": (_strings, "an array of strings"),
    "metrics": (_metric_map, "an object of snake_case metric names to numbers"),
    "fleet": (lambda v: isinstance(v, list) and all(_metric_map(e) for e in v),
              "an array of objects of snake_case metric names to numbers"),
    "reasons": (lambda v: isinstance(v, dict) and all(
        _SNAKE.match(k) and isinstance(x, str) and x != "" for k, x in v.items()),
        "an object of snake_case metric names to non-empty strings"),
}


def _dump(v):
    """The value as nlohmann::json::dump() prints it (for the version message)."""
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def version_problem(row):
    """A message when the row's schema version is not one this reader knows, else None."""
    if not isinstance(row, dict):
        return "row is not a JSON object"
    if VERSION not in row:  # noqa: F821
        return 'missing field "%s"' % VERSION  # noqa: F821
    v = row[VERSION]  # noqa: F821
    if not _is_int(v) or v not in READABLE_VERSIONS:
        return ("unknown schema_version %s (this reader knows schema versions %s; "
                "a newer faultline wrote it?)"
                % (_dump(v), ", ".join(str(x) for x in READABLE_VERSIONS)))
    return None


def validate(row):
    """Every problem with a row (the rules of runs::validate()), empty when valid."""
    problem = version_problem(row)
    if problem:
        return [problem]
    version = row[VERSION]  # noqa: F821
    fields = [f for f in FIELDS if version in f["versions"]]
    errors = []
    for f in fields:
        ok, what = _TYPES[f["type"]]
        if f["name"] not in row:
            if not f.get("optional"):
                errors.append('missing field "%s"' % f["name"])
        elif not ok(row[f["name"]]):
            errors.append('field "%s" must be %s' % (f["name"], what))
    names = {f["name"] for f in fields}
    for key in sorted(row):  # nlohmann's objects iterate in key order
        if key not in names:
            errors.append('unknown field "%s" (schema version %d)' % (key, version))
    if errors:
        return errors
    if row[CELL] != cell_name(row[STRATEGY], row[PATTERN], row[CACHE]):  # noqa: F821
        errors.append('field "cell" must be load/<strategy>/<pattern>/<cache>')
    ok = row[STATUS] == "ok"  # noqa: F821
    if ok and row[ERROR] is not None:  # noqa: F821
        errors.append("an ok row has error null")
    if not ok and not isinstance(row[ERROR], str):  # noqa: F821
        errors.append("a row that is not ok names its error")
    if version >= 2:
        def check_names(obj, where):
            for k in sorted(obj):
                if metric_info(k) is None:
                    errors.append('%s: unknown metric "%s" (not in results/schema.json)'
                                  % (where, k))
        check_names(row[METRICS], METRICS)  # noqa: F821
        check_names(row[NOT_MEASURED], NOT_MEASURED)  # noqa: F821
        for entry in row[FLEET]:  # noqa: F821
            check_names(entry, FLEET)  # noqa: F821
        for k in sorted(row[NOT_MEASURED]):  # noqa: F821
            if k in row[METRICS]:  # noqa: F821
                errors.append('metric "%s" is both measured and not measured' % k)
    if ok:
        metrics = row[METRICS]  # noqa: F821
        if row[PROCESSES] == 1 and READY_MS not in metrics:  # noqa: F821
            errors.append("an ok row has metrics.ready_ms")
        if row[PROCESSES] > 1:  # noqa: F821
            if FLEET_PSS_BYTES not in metrics:  # noqa: F821
                errors.append("an ok fleet row has metrics.fleet_pss_bytes")
            if len(row[FLEET]) != row[PROCESSES]:  # noqa: F821
                errors.append("an ok fleet row has one fleet entry per process")
    return errors


def upgrade(row):
    """A valid row of any readable version in the current version's shape.

    Version 1 had no tracing split: its bpf_* came from the same repetitions
    as its times ("trace": "on"), and its bpf_ra_pages counted the pages
    readahead *requested* (now bpf_ra_requested_pages). It had no read_gbps:
    that is derived here from the row's own read_bytes / total_ms, the
    definition in results/schema.json (what the storage limit is held against).
    A row traced "off: <reason>" names that reason for its absent bpf_*."""
    if row[VERSION] >= 2:  # noqa: F821
        return row
    out = {k: v for k, v in row.items() if k != TRACE}  # noqa: F821
    out[VERSION] = SCHEMA_VERSION  # noqa: F821
    out[TRACED] = row[TRACE] == "on"  # noqa: F821
    metrics = dict(row[METRICS])  # noqa: F821
    if BPF_RA_PAGES in metrics:  # noqa: F821
        metrics[BPF_RA_REQUESTED_PAGES] = metrics.pop(BPF_RA_PAGES)  # noqa: F821
    if (READ_GBPS not in metrics and READ_BYTES in metrics  # noqa: F821
            and metrics.get(TOTAL_MS, 0) > 0):  # noqa: F821
        metrics[READ_GBPS] = metrics[READ_BYTES] / metrics[TOTAL_MS] / 1e6  # noqa: F821
    out[METRICS] = {k: v for k, v in metrics.items() if metric_info(k)}  # noqa: F821
    trace = row[TRACE]  # noqa: F821
    off = trace.split(":", 1)[1].strip() if trace.startswith("off:") else ""
    out[NOT_MEASURED] = ({m: "tracer off: " + off for m in sorted(TRACE_METRICS)  # noqa: F821
                          if m not in out[METRICS]} if off else {})  # noqa: F821
    out[PROBES] = []  # noqa: F821
    return out


def cell_name(strategy, pattern, cache):
    """load/<strategy>/<pattern>/<cache> (runs::Row::cell())."""
    return "load/%s/%s/%s" % (strategy, pattern, cache)
