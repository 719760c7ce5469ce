"""Programs: the cells of real programs (`faultline run --command NAME=...`, strategy
cmd:NAME, pattern `program`), each metric raw and, where the run has its
`--command-baseline` (pattern `baseline`: the same program on a tiny model of
the same kind), minus the baseline's median: what is left is the model's cost,
without the runtime's own (Node, Python, the library). A metric the baseline did
not measure leaves the difference "–" with the reason, never the raw figure.

And the sentences the recommendation says about them: a program is never
recommended (it is not a strategy), but its load is set against the strategies:
"its cold load (ready 1000 ms) is 2.0× slower than `mmap:private,populate`"."""

from dataclasses import dataclass

from analysis import schema, stats, units
from analysis.cells import BASELINE, plan_command_names

METRICS = [schema.READY_MS, schema.RSS_BYTES, schema.RSS_FILE_BYTES, schema.RSS_ANON_BYTES,
           schema.RSS_MODEL_BYTES, schema.PSS_BYTES, schema.PEAK_RSS_BYTES,
           schema.CGROUP_PEAK_BYTES, schema.MAJOR_FAULTS, schema.MINOR_FAULTS,
           schema.READ_BYTES, schema.BPF_RA_PAGES, schema.BPF_BIO_BYTES]


@dataclass
class Section:
    """One program of one run: its command lines and a table (head, rows)."""
    label: str
    program: str
    lines: list
    head: list
    rows: list


def _median(cell, metric):
    if cell is None or not cell.ok_rows:
        return None
    values = cell.values(metric)
    return stats.summarize(values).median if values else None


def _raw(cell, metric):
    """'median (min–max)', or '–' / 'not measured: <reason>'."""
    if cell is None:
        return "–"
    if not cell.ok_rows:
        return "– (no repetition finished)"
    values = cell.values(metric)
    if not values:
        why = cell.availability(metric)
        return "not measured: " + why.reason_text() if why.reasons else "–"
    s = stats.summarize(values)
    f = lambda v: units.fmt_metric(metric, v)
    if s.n > 1 and f(s.min) != f(s.max):
        return "%s (%s–%s)" % (f(s.median), f(s.min), f(s.max))
    return f(s.median)


def baseline_difference(program_cell, baseline_cell, metric):
    """The program's median minus the baseline's, or None when either is missing."""
    a, b = _median(program_cell, metric), _median(baseline_cell, metric)
    return None if a is None or b is None else a - b


def _command(plan, name, key):
    for c in plan.get("commands") or []:
        if isinstance(c, dict) and c.get("name") == name:
            value = c.get(key)
            if key == "baseline":
                value = value.get("argv") if isinstance(value, dict) else None
            if isinstance(value, list) and all(isinstance(a, str) for a in value):
                return " ".join(value)
    return None


def _row_command(cell):
    """The argv a program row says ran (its optional `command` field), when plan.json
    has no "commands"."""
    for row in (cell.ok_rows + cell.failed_rows) if cell else []:
        argv = row.get("command")  # not a metric: the row field of program cells
        if isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv):
            return " ".join(argv)
    return None


def sections(rc):
    out = []
    for program in rc.programs:
        name = program[len(schema.PROGRAM_PREFIX):]
        caches = [c for c in schema.CACHES
                  if rc.get(program, schema.PROGRAM_PATTERN, c) is not None]
        failed = [c for c in caches if not rc.get(program, schema.PROGRAM_PATTERN, c).ok_rows]
        caches = [c for c in caches if c not in failed]
        base = {c: rc.get(program, schema.PROGRAM_BASELINE_PATTERN, c) for c in caches}
        with_base = [c for c in caches if base[c] is not None]
        lines = []
        argv = _command(rc.run.plan, name, "argv") or _row_command(
            rc.get(program, schema.PROGRAM_PATTERN, caches[0]) if caches else None)
        if argv:
            lines.append("command: `%s`" % argv)
        if with_base:
            lines.append("baseline (the same program on a tiny model, %s): `%s`; "
                         "“− baseline”: the program's median minus the baseline's, the "
                         "model's cost without the runtime's own"
                         % (units.size(base[with_base[0]].ok_rows[0][schema.MODEL_BYTES])
                            if base[with_base[0]].ok_rows else "?",
                            _command(rc.run.plan, name, "baseline") or "(argv not in plan.json)"))
        else:
            lines.append("no `--command-baseline` for it in this run: raw figures only (they "
                         "include the runtime's own cost)")
        if failed:
            lines.append("%s: no repetition finished (see Repetitions that did not finish)"
                         % ", ".join(failed))
        head = ["metric"]
        for c in caches:
            head.append(c)
            if c in with_base:
                head += ["%s baseline" % c, "%s − baseline" % c]
        rows = []
        for metric in METRICS:
            cells = [rc.get(program, schema.PROGRAM_PATTERN, c) for c in caches]
            if not any(cell and (cell.values(metric) or cell.availability(metric).reasons)
                       for cell in cells):
                continue
            row = [metric]
            for c, cell in zip(caches, cells):
                row.append(_raw(cell, metric))
                if c in with_base:
                    row.append(_raw(base[c], metric))
                    diff = baseline_difference(cell, base[c], metric)
                    row.append("–" if diff is None else units.fmt_metric(metric, diff))
            rows.append(row)
        out.append(Section(rc.run.label, program, lines, head, rows))
    return out


def records(rc):
    """results.json "programs": one record per program x cache x metric."""
    for program in rc.programs:
        for cache in schema.CACHES:
            cell = rc.get(program, schema.PROGRAM_PATTERN, cache)
            if cell is None:
                continue
            base = rc.get(program, schema.PROGRAM_BASELINE_PATTERN, cache)
            for metric in METRICS:
                median = _median(cell, metric)
                if median is None:
                    continue
                yield {"host": rc.run.label, "run_id": rc.run.run_id, "program": program,
                       "cache": cache, "metric": metric, "median": median,
                       "baseline_median": _median(base, metric),
                       "minus_baseline": baseline_difference(cell, base, metric)}


def _times(a, b):
    r = a / b
    if abs(r - 1) < stats.NOISE_FLOOR:
        return "as fast as"
    f = lambda x: ("%.0f×" if x >= 100 else "%.2f×") % x
    return ("%s slower than" % f(r)) if r > 1 else ("%s faster than" % f(1 / r))


READ_MOST = 0.9  # "read the model": read_bytes of at least this share of it, cold


def _reads_model(rc, cell):
    read = _median(cell, schema.READ_BYTES)
    return read is not None and rc.run.model_bytes and read >= READ_MOST * rc.run.model_bytes


def comparisons(rc):
    """(label, program, text) per program with a cold cell: its load against the
    strategies' (ready_ms, the startup pattern): the fastest and `read`."""
    from analysis import fidelity
    out = []
    pattern = rc.startup_pattern
    paired = {}
    for pair in fidelity.pairs(rc)[0]:
        paired.setdefault(pair.program, []).append(pair.preset)
    for program in rc.programs:
        cell = rc.get(program, schema.PROGRAM_PATTERN, "cold")
        ready = _median(cell, schema.READY_MS)
        if ready is None:
            continue
        ranked = sorted((m, s) for s in rc.strategies
                        for m in [_median(rc.get(s, pattern, "cold"), schema.READY_MS)]
                        if m)
        if not ranked or not ready:
            continue
        # A program that read the model before its ready line is set against the
        # strategies that did too (a bare mmap is "ready" before any I/O).
        reads = _reads_model(rc, cell)
        like = [(m, s) for m, s in ranked if _reads_model(rc, rc.get(s, pattern, "cold"))]
        if reads and like:
            ranked, which = like, "the fastest strategy that, like it, read the model " \
                "before ready"
        else:
            which = "the fastest strategy to ready"
        best_ms, best = ranked[0]
        text = "its cold load (ready_ms %s ms) is %s `%s` (%s ms), %s (pattern `%s`)" % (
            units.ms(ready), _times(ready, best_ms), best, units.ms(best_ms), which, pattern)
        base_ms = _median(rc.get(BASELINE, pattern, "cold"), schema.READY_MS)
        if base_ms and best != BASELINE:
            text += "; %s `%s` (%s ms)" % (_times(ready, base_ms), BASELINE, units.ms(base_ms))
        for preset in paired.get(program, ()):
            m = _median(rc.get(preset, pattern, "cold"), schema.READY_MS)
            if m and preset not in (best, BASELINE):
                text += "; %s `%s` (%s ms), the preset paired with it" % (
                    _times(ready, m), preset, units.ms(m))
        forward = rc.headline_pattern
        if forward != pattern:
            done = sorted((m, s) for s in rc.strategies
                          for m in [_median(rc.get(s, forward, "cold"), schema.TOTAL_MS)] if m)
            if done:
                text += ("; %s `%s` (%s ms) to the end of its `%s` pass (every weight read "
                         "once: a fairer match for a loader that reads the model before it is "
                         "ready)" % (_times(ready, done[0][0]), done[0][1],
                                     units.ms(done[0][0]), forward))
        diff = baseline_difference(cell, rc.get(program, schema.PROGRAM_BASELINE_PATTERN,
                                                "cold"), schema.READY_MS)
        if diff is not None:
            text += "; %s ms without the runtime's own cost (its baseline)" % units.ms(diff)
            if diff > 0:
                text += ", %s `%s`" % (_times(diff, best_ms), best)
        out.append((rc.run.label, program, text + "; a program is never recommended: it "
                    "is not a strategy"))
    return out


def unknown_commands(rc):
    """Notes for plan.json commands that left no cell (they never ran, or every row is
    missing)."""
    return ["%s: plan.json names the command `%s`, but no `cmd:%s` cell is in runs.jsonl"
            % (rc.run.label, n, n) for n in plan_command_names(rc.run.plan)
            if schema.PROGRAM_PREFIX + n not in rc.programs]
