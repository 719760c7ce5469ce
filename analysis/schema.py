"""The runs.jsonl row schema, as the analysis reads it.

The source of truth is harness/runs_schema.h (field names, kSchemaVersion and
validate()), documented in results/README.md; metric names come from
benchmarks/metrics.h. This module mirrors them for Python and is the only place
in analysis/ that spells a field name or the schema version. Keep it in step
with runs_schema.h.
"""

import re

SCHEMA_VERSION = 1  # runs::kSchemaVersion

# Field names of a row (runs::k*).
VERSION = "schema_version"
RUN_ID = "run_id"
CELL = "cell"
STRATEGY = "strategy"
PATTERN = "pattern"
CACHE = "cache"
REP = "rep"
STATUS = "status"
ERROR = "error"
STARTED_AT = "started_at"
WALL_S = "wall_s"
MODEL = "model"
MODEL_BYTES = "model_bytes"
PROCESSES = "processes"
MEMORY_LIMIT = "memory_limit_bytes"
EXIT_CODE = "exit_code"
TERM_SIGNAL = "term_signal"
TRACE = "trace"
METRICS = "metrics"
FLEET = "fleet"
WARNINGS = "warnings"
RAW = "raw"

STATUSES = ("ok", "failed", "oom_killed", "timeout")
CACHES = ("cold", "warm")

# Metric names (benchmarks/metrics.h).
READY_MS = "ready_ms"
FIRST_PASS_MS = "first_pass_ms"
TOTAL_MS = "total_ms"
GBPS = "gbps"
RSS_BYTES = "rss_bytes"
RSS_FILE_BYTES = "rss_file_bytes"
RSS_ANON_BYTES = "rss_anon_bytes"
PEAK_RSS_BYTES = "peak_rss_bytes"
PSS_BYTES = "pss_bytes"
MAJOR_FAULTS = "major_faults"
MINOR_FAULTS = "minor_faults"
READ_BYTES = "read_bytes"
RESIDENT_PCT = "resident_pct"
TASK_CLOCK_MS = "task_clock_ms"
BPF_USER_FAULTS = "bpf_user_faults"
BPF_FILEMAP_FAULTS = "bpf_filemap_faults"
BPF_FAULTAROUND_PAGES = "bpf_faultaround_pages"
BPF_RA_SYNC = "bpf_ra_sync"
BPF_RA_ASYNC = "bpf_ra_async"
BPF_RA_PAGES = "bpf_ra_pages"
BPF_PAGECACHE_ADD_PAGES = "bpf_pagecache_add_pages"
BPF_PAGECACHE_EVICT_PAGES = "bpf_pagecache_evict_pages"
BPF_BIO_BYTES = "bpf_bio_bytes"
BPF_FAULT_P50_US = "bpf_fault_p50_us"
BPF_FAULT_P99_US = "bpf_fault_p99_us"
BPF_BIO_P50_US = "bpf_bio_p50_us"
BPF_BIO_P99_US = "bpf_bio_p99_us"
BPF_DROPPED = "bpf_dropped"
FLEET_RSS_BYTES = "fleet_rss_bytes"
FLEET_PSS_BYTES = "fleet_pss_bytes"
FLEET_READY_MS = "fleet_ready_ms"
CGROUP_PEAK_BYTES = "cgroup_peak_bytes"
CGROUP_OOM_KILLS = "cgroup_oom_kills"

# A --processes N run reports the fleet's numbers instead (results/README.md).
FLEET_FALLBACK = {READY_MS: FLEET_READY_MS, RSS_BYTES: FLEET_RSS_BYTES,
                  PSS_BYTES: FLEET_PSS_BYTES}

# Metrics where a larger value is better; every other metric is "lower is better".
HIGHER_IS_BETTER = frozenset({GBPS})
# Timing metrics: the ones whose spread (coefficient of variation) is checked
# (first_pass_ms and total_ms only where the pattern touches the model).
TIMING_METRICS = frozenset({READY_MS, FIRST_PASS_MS, TOTAL_MS, FLEET_READY_MS})
NO_ACCESS_PATTERN = "none"  # ready only: first_pass_ms ~ 0, total_ms == ready_ms


def spread_matters(metric, pattern):
    """Whether a cell's spread in this metric is worth a warning."""
    if metric not in TIMING_METRICS:
        return False
    return pattern != NO_ACCESS_PATTERN or metric in (READY_MS, FLEET_READY_MS)

# The run folder's files (results/README.md).
RUNS_FILE = "runs.jsonl"
ENV_FILE = "env.json"
PLAN_FILE = "plan.json"
CALIBRATION_FILE = "calibration.json"

_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _nonempty(v):
    return isinstance(v, str) and v != ""


def _metric_map(v):
    return isinstance(v, dict) and all(_SNAKE.match(k) and _is_num(x) for k, x in v.items())


_FIELDS = [
    # (field, predicate, what it must be) -- the checks of runs::validate().
    (RUN_ID, _nonempty, "a non-empty string"),
    (CELL, _nonempty, "a non-empty string"),
    (STRATEGY, _nonempty, "a non-empty string"),
    (PATTERN, _nonempty, "a non-empty string"),
    (CACHE, lambda v: v in CACHES, '"cold" or "warm"'),
    (REP, lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    (STATUS, lambda v: v in STATUSES, "one of " + ", ".join(STATUSES)),
    (ERROR, lambda v: v is None or isinstance(v, str), "a string or null"),
    (STARTED_AT, _nonempty, "a non-empty string"),
    (WALL_S, _is_num, "a number"),
    (MODEL, _nonempty, "a non-empty string"),
    (MODEL_BYTES, lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    (PROCESSES, lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    (MEMORY_LIMIT, lambda v: v is None or (_is_int(v) and v >= 0),
     "a non-negative integer or null"),
    (EXIT_CODE, lambda v: v is None or _is_int(v), "an integer or null"),
    (TERM_SIGNAL, lambda v: v is None or _is_int(v), "an integer or null"),
    (TRACE, lambda v: isinstance(v, str), "a string"),
    (METRICS, _metric_map, "an object of snake_case metric names to numbers"),
    (FLEET, lambda v: isinstance(v, list) and all(_metric_map(e) for e in v),
     "an array of objects of snake_case metric names to numbers"),
    (WARNINGS, lambda v: isinstance(v, list) and all(isinstance(e, str) for e in v),
     "an array of strings"),
    (RAW, lambda v: isinstance(v, list) and all(isinstance(e, str) for e in v),
     "an array of strings"),
]


def version_problem(row):
    """A message when the row's schema version is not one this reader knows, else None."""
    if not isinstance(row, dict):
        return "row is not a JSON object"
    if VERSION not in row:
        return 'missing field "%s"' % VERSION
    v = row[VERSION]
    if not _is_int(v) or v != SCHEMA_VERSION:
        return ("unknown schema_version %r (this reader knows schema version %d; "
                "a newer faultline wrote it?)" % (v, SCHEMA_VERSION))
    return None


def validate(row):
    """Every problem with a row (the rules of runs::validate()), empty when valid."""
    problem = version_problem(row)
    if problem:
        return [problem]
    errors = []
    for field, ok, what in _FIELDS:
        if field not in row:
            errors.append('missing field "%s"' % field)
        elif not ok(row[field]):
            errors.append('field "%s" must be %s' % (field, what))
    if errors:
        return errors
    if row[CELL] != cell_name(row[STRATEGY], row[PATTERN], row[CACHE]):
        errors.append('field "cell" must be load/<strategy>/<pattern>/<cache>')
    ok = row[STATUS] == "ok"
    if ok and row[ERROR] is not None:
        errors.append("an ok row has error null")
    if not ok and not isinstance(row[ERROR], str):
        errors.append("a row that is not ok names its error")
    if ok:
        metrics = row[METRICS]
        if row[PROCESSES] == 1 and READY_MS not in metrics:
            errors.append("an ok row has metrics.ready_ms")
        if row[PROCESSES] > 1:
            if FLEET_PSS_BYTES not in metrics:
                errors.append("an ok fleet row has metrics.fleet_pss_bytes")
            if len(row[FLEET]) != row[PROCESSES]:
                errors.append("an ok fleet row has one fleet entry per process")
    return errors


def cell_name(strategy, pattern, cache):
    """load/<strategy>/<pattern>/<cache> (runs::Row::cell())."""
    return "load/%s/%s/%s" % (strategy, pattern, cache)
