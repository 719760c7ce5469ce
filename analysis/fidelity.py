"""Fidelity: how faithfully a preset (and a replay of the program's recording)
stands for a real program, measured. For every pair (cmd:NAME, PRESET) and
cache, per metric: the program's median, the preset's and the replay's, side
by side with the ratios preset/program and replay/program and a verdict
against TOLERANCE ("faithful" within ±10 %, else "differs: 1.41×").

Pairs come from plan.json "fidelity" ({"cmd:NAME": "PRESET"}, from `faultline
run --fidelity cmd:NAME=PRESET`; the value may also be {"preset": PRESET,
"pattern": PATTERN}), else from the naming rule: a program named exactly like a
strategy of the run (`cmd:llama.cpp:no-mmap` <-> `llama.cpp:no-mmap`). A pair
plan.json names that has no rows is a note, never a table.

Which cells: the program's `program` cell; the preset's cell of the pattern
plan.json pairs it with, else `none` (the load and nothing after it: a program
cell is measured at its ready line, before it uses the weights; llama.cpp's
loader reads, or maps and populates, the weights inside the load, which is what
the preset's `none` cell does too), else `forward`; the replay: the preset's
own cell of a `replay:` pattern, else the first strategy of the run (plan
order) that has one (named in the table). The program's ready_ms is set against
their total_ms (load + pass: a replay's accesses are its pass; = ready_ms for
pattern none). bpf_* come from traced repetitions,
everything else from untraced ones (cells.py). A metric one side did not
measure is "not measured (<reason>)", never 0, and gets no verdict."""

from dataclasses import dataclass

from analysis import schema, stats, units

TOLERANCE = 0.10
ABOUT = ("How faithfully each preset (and a replay of the program's recorded accesses) "
         "stands for the real program it claims to imitate, per metric: the program's "
         "median, the preset's and the replay's, their ratios to the program and a verdict: "
         "faithful within ±%d %%, else how far it differs. Pairs: plan.json's `fidelity` "
         "(`faultline run --fidelity cmd:NAME=PRESET`), else a program named like a "
         "strategy of the run. “not measured” is never 0." % (TOLERANCE * 100))
WINDOWS = "readahead windows (sync + async)"  # derived: bpf_ra_sync + bpf_ra_async per row

# (label, metrics summed per repetition)
METRICS = [
    (WINDOWS, (schema.BPF_RA_SYNC, schema.BPF_RA_ASYNC)),
    ("readahead pages read", (schema.BPF_RA_PAGES,)),
    ("readahead pages requested", (schema.BPF_RA_REQUESTED_PAGES,)),
    ("read from storage", (schema.READ_BYTES,)),
    ("block I/O bytes", (schema.BPF_BIO_BYTES,)),
    ("major faults", (schema.MAJOR_FAULTS,)),
    ("minor faults", (schema.MINOR_FAULTS,)),
    ("RSS file", (schema.RSS_FILE_BYTES,)),
    ("RSS anon", (schema.RSS_ANON_BYTES,)),
    ("ready (ms)", (schema.READY_MS,)),  # the preset's and replay's: total_ms (SIDE_METRIC)
]

# With a --command-baseline, these also appear as the program's median minus the
# baseline's (the runtime's own cost taken out), against the same preset and replay.
BASELINE_SUBTRACTED = (schema.READY_MS, schema.RSS_ANON_BYTES, schema.RSS_FILE_BYTES,
                       schema.MINOR_FAULTS)


@dataclass(frozen=True)
class Pair:
    program: str
    preset: str
    pattern: str   # the preset's pattern asked for by plan.json, or None
    source: str    # "plan.json fidelity" or "naming rule"


@dataclass
class Side:
    cell: object          # cells.Cell or None
    median: float = None
    n: int = 0
    why: str = ""         # not measured: the reason


@dataclass
class Line:
    label: str
    metrics: tuple
    program: Side
    preset: Side
    replay: Side


@dataclass
class Table:
    label: str            # the run
    pair: Pair
    cache: str
    preset_pattern: str
    replay: tuple         # (strategy, pattern) or None
    lines: list
    notes: list


def _values(cell, metrics):
    """Per-repetition sums of metrics over the rows that measured them all."""
    rows = cell.rows_for(metrics[0])
    return [sum(r[schema.METRICS][m] for m in metrics) for r in rows
            if all(m in r[schema.METRICS] for m in metrics)]


# What a preset's or a replay's cell is read for where the program's metric is another:
# a program is ready when its load is done; a strategy cell's load plus its pattern's pass
# is total_ms (= ready_ms for pattern none; a replay does the recorded accesses in its pass).
SIDE_METRIC = {schema.READY_MS: schema.TOTAL_MS}


def _other(cell, metrics):
    """A preset's or replay's Side: SIDE_METRIC's stand-in when the cell has it."""
    if cell is not None and len(metrics) == 1 and metrics[0] in SIDE_METRIC:
        side = _side(cell, (SIDE_METRIC[metrics[0]],))
        if side.median is not None:
            return side
    return _side(cell, metrics)


def _side(cell, metrics):
    if cell is None:
        return Side(None, why="no such cell in this run")
    if not cell.ok_rows:
        return Side(cell, why="no repetition of this cell finished")
    values = _values(cell, metrics)
    if values:
        return Side(cell, stats.summarize(values).median, len(values))
    for m in metrics:
        text = cell.availability(m).text()
        if text:
            return Side(cell, why=text.replace("not measured here: ", ""))
    return Side(cell, why="no reason recorded")


def ratio(side, program):
    """side / program, None when either is missing or the program's is 0 (and the side's
    is not: 0/0 is 1)."""
    if side.median is None or program.median is None:
        return None
    if program.median == 0:
        return 1.0 if side.median == 0 else None
    if program.median < 0:
        return None  # a program's figure minus its baseline's below 0: no ratio to it
    return side.median / program.median


def times(r):
    """'1.41×', '0.0012×'."""
    return ("%.2f×" if 0.1 <= r < 100 else "%.3g×") % r


def verdict(side, program, line_metric=None):
    if side.cell is None and side.why == "no such cell in this run":
        return "–"
    if program.median is None:
        return "not measured (program: %s)" % program.why
    if side.median is None:
        return "not measured (%s)" % side.why
    r = ratio(side, program)
    if r is None:
        return "differs: the program's is %s" % (
            "0" if program.median == 0 else "below 0 (%s)" % units.fmt_metric(
                line_metric, program.median) if line_metric else "below 0")
    if abs(r - 1) <= TOLERANCE + 1e-12:
        return "faithful"
    return "differs: " + times(r)


def _plan_pairs(rc, notes):
    fid = rc.run.plan.get("fidelity")
    if fid is None:
        return {}
    where = "%s: plan.json \"fidelity\"" % rc.run.label
    if not isinstance(fid, dict):
        notes.append("%s is not an object of \"cmd:NAME\": \"PRESET\": ignored" % where)
        return {}
    out = {}
    for program, value in fid.items():
        preset, pattern = value, None
        if isinstance(value, dict):
            preset, pattern = value.get("preset"), value.get("pattern")
        if not isinstance(preset, str) or not preset or not (
                pattern is None or isinstance(pattern, str)):
            notes.append("%s: `%s` must name a preset (a strategy spec), not %r: no fidelity "
                         "table for it" % (where, program, value))
            continue
        if program not in rc.programs:
            notes.append("%s names `%s`, but no such program cell is in this run (no "
                         "`--command %s=...` rows): no fidelity table for it"
                         % (where, program, program[len(schema.PROGRAM_PREFIX):]
                            if schema.is_program(program) else program))
            continue
        if preset not in rc.strategies:
            notes.append("%s pairs `%s` with `%s`, but this run has no `%s` rows: no fidelity "
                         "table for it" % (where, program, preset, preset))
            continue
        out[program] = Pair(program, preset, pattern, "plan.json fidelity")
    return out


def pairs(rc):
    """(pairs, notes): plan.json's, then the naming rule's for the other programs."""
    notes = []
    explicit = _plan_pairs(rc, notes)
    out = []
    for program in rc.programs:
        if program in explicit:
            out.append(explicit[program])
        elif program not in (rc.run.plan.get("fidelity") or {}):
            name = program[len(schema.PROGRAM_PREFIX):]
            if name in rc.strategies:
                out.append(Pair(program, name, None, "naming rule"))
    return out, notes


def _preset_pattern(rc, pair, cache, notes):
    if pair.pattern:
        if rc.get(pair.preset, pair.pattern, cache) is None:
            notes.append("no `%s` cell of pattern `%s` (%s), the pattern plan.json pairs: "
                         "none compared" % (pair.preset, pair.pattern, cache))
        return pair.pattern
    for p in (schema.NO_ACCESS_PATTERN, "forward"):
        if rc.get(pair.preset, p, cache) is not None:
            return p
    return schema.NO_ACCESS_PATTERN


def _replay(rc, pair, cache):
    replays = [p for p in rc.patterns if schema.is_replay(p)]
    for strategy in [pair.preset] + [s for s in rc.strategies if s != pair.preset]:
        for p in replays:
            if rc.get(strategy, p, cache) is not None:
                return strategy, p
    return None


def tables(rc):
    """(Table list, notes) of one run."""
    found, notes = pairs(rc)
    out = []
    for pair in found:
        for cache in schema.CACHES:
            program_cell = rc.get(pair.program, schema.PROGRAM_PATTERN, cache)
            if program_cell is None:
                continue
            if not program_cell.ok_rows:
                notes.append("%s: `%s` (%s): no repetition finished, so no fidelity table "
                             "against `%s` (see Repetitions that did not finish)"
                             % (rc.run.label, pair.program, cache, pair.preset))
                continue
            table_notes = []
            pattern = _preset_pattern(rc, pair, cache, table_notes)
            preset_cell = rc.get(pair.preset, pattern, cache)
            replay = _replay(rc, pair, cache)
            replay_cell = rc.get(*replay, cache) if replay else None
            lines = []
            for label, metrics in METRICS:
                program = _side(program_cell, metrics)
                lines.append(Line(label, metrics, program, _other(preset_cell, metrics),
                                  _other(replay_cell, metrics) if replay else
                                  Side(None, why="no such cell in this run")))
            base_cell = rc.get(pair.program, schema.PROGRAM_BASELINE_PATTERN, cache)
            for label, metrics in METRICS if base_cell else []:
                if metrics[0] not in BASELINE_SUBTRACTED:
                    continue
                raw, base = _side(program_cell, metrics), _side(base_cell, metrics)
                program = (Side(program_cell, raw.median - base.median, raw.n)
                           if raw.median is not None and base.median is not None else
                           Side(program_cell, why=raw.why or "baseline: " + base.why))
                lines.append(Line(label + " − baseline", metrics, program,
                                  _other(preset_cell, metrics),
                                  _other(replay_cell, metrics) if replay else
                                  Side(None, why="no such cell in this run")))
            out.append(Table(rc.run.label, pair, cache, pattern, replay, lines, table_notes))
    return out, notes


def _fmt(line, side):
    if side.median is None:
        return "–" if side.why == "no such cell in this run" else "not measured (%s)" % side.why
    return units.fmt_metric(line.metrics[0], side.median)


def title(t, multi=False):
    return "%s`%s` vs preset `%s` (%s)" % (t.label + ": " if multi else "", t.pair.program,
                                          t.pair.preset, t.cache)


def legend(t):
    replay = ("replay: `%s` with pattern `%s`%s" % (
        t.replay[0], t.replay[1], "" if t.replay[0] == t.pair.preset else
        " (no replay cell of the preset: another strategy's)") if t.replay
        else "replay: no `replay:` cell in this run")
    return ("program: pattern `program`; preset: pattern `%s`; %s; paired by %s. Medians "
            "(bpf_* over the traced repetitions, the rest over the untraced ones); ready: the "
            "program's ready_ms against the preset's and the replay's total_ms (their load "
            "and their pattern's pass: a replay does the recorded accesses in its pass); "
            "ratio = side / program; faithful: within ±%d %% of the program"
            % (t.preset_pattern, replay, t.pair.source, TOLERANCE * 100))


HEAD = ["metric", "program", "preset", "preset/program", "preset verdict", "replay",
        "replay/program", "replay verdict"]


def rows(t):
    out = []
    for line in t.lines:
        out.append([line.label, _fmt(line, line.program), _fmt(line, line.preset),
                    units.ratio(ratio(line.preset, line.program)),
                    verdict(line.preset, line.program, line.metrics[0]),
                    _fmt(line, line.replay),
                    units.ratio(ratio(line.replay, line.program)),
                    verdict(line.replay, line.program, line.metrics[0])])
    return out


def _side_record(side):
    return {"median": side.median, "n": side.n,
            "not_measured": None if side.median is not None or side.cell is None else side.why}


def records(tables_):
    """results.json "fidelity": one record per table x metric."""
    for t in tables_:
        for line in t.lines:
            yield {"host": t.label, "program": t.pair.program, "preset": t.pair.preset,
                   "paired_by": t.pair.source, "cache": t.cache,
                   "program_pattern": schema.PROGRAM_PATTERN, "preset_pattern": t.preset_pattern,
                   "replay_strategy": t.replay[0] if t.replay else None,
                   "replay_pattern": t.replay[1] if t.replay else None,
                   "metric": line.label, "metrics": list(line.metrics),
                   "tolerance": TOLERANCE,
                   "values": {"program": _side_record(line.program),
                              "preset": _side_record(line.preset),
                              "replay": _side_record(line.replay)},
                   "preset_ratio": ratio(line.preset, line.program),
                   "replay_ratio": ratio(line.replay, line.program),
                   "preset_verdict": verdict(line.preset, line.program, line.metrics[0]),
                   "replay_verdict": verdict(line.replay, line.program, line.metrics[0])}
