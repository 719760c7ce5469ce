"""Groups a run's rows into cells (strategy x pattern x cache) with the
statistics of every metric: the one place that decides which repetitions a
number comes from and whether it was measured at all.

- Times, memory, faults, bytes read, throughput (every metric but the
  tracer's): the cell's untraced ok repetitions. A cell without one (a schema
  v1 run, whose traced rows carried the times too; or every untraced
  repetition failed) falls back to its traced ok repetitions: `fallback`.
- The evidence metrics (schema.EVIDENCE_METRICS: the tracer's bpf_*, the first-touch
  timer's touch_*): the traced ok repetitions only.
- A metric absent from a row is not 0: Availability says in how many of the
  repetitions it was measured and why not (the rows' `not_measured`)."""

from dataclasses import dataclass, field

from analysis import schema, stats

BASELINE = "read"  # ratios are against this strategy (DESIGN.md: the read() baseline)
OVERHEAD_MIN_TRACED = 3  # traced repetitions a cell needs before its tracer overhead is shown
UNTRACED, TRACED = "untraced", "traced"


@dataclass(frozen=True)
class Availability:
    """Whether a metric was measured in the repetitions a cell reads it from."""
    metric: str
    source: str      # UNTRACED or TRACED: which repetitions
    total: int       # how many of those there are (ok)
    measured: int    # how many have the metric
    reasons: tuple   # ((reason, count), ...) from not_measured of the others
    silent: int      # how many lack it and give no reason
    predates: bool = False  # the rows were written before schema 2 (no not_measured)

    @property
    def complete(self):
        return self.total > 0 and self.measured == self.total

    @property
    def none(self):
        return self.measured == 0

    @property
    def partial(self):
        return 0 < self.measured < self.total

    def reason_text(self):
        parts = [r for r, _ in self.reasons]
        if self.silent:
            parts.append("not recorded: the run predates schema 2" if self.predates else
                         "no reason recorded")
        return "; ".join(parts) or "no %s repetition" % self.source

    def text(self):
        """'not measured here: <reason>', or how the repetitions disagree; None when
        measured in every repetition."""
        if self.complete:
            return None
        if self.total == 0:
            return "not measured here: no %s repetition of this cell finished" % self.source
        if self.none:
            if self.predates and not self.reasons:
                return "not recorded: the run predates schema 2"
            return "not measured here: " + self.reason_text()
        return ("measured in %d of %d %s repetitions; not measured in %d: %s"
                % (self.measured, self.total, self.source, self.total - self.measured,
                   self.reason_text()))


@dataclass
class Cell:
    strategy: str
    pattern: str
    cache: str
    ok_rows: list = field(default_factory=list)       # every ok repetition
    failed_rows: list = field(default_factory=list)
    untraced_rows: list = field(default_factory=list)  # ok, traced false
    traced_rows: list = field(default_factory=list)    # ok, traced true
    metrics: dict = field(default_factory=dict)  # metric name -> stats.Summary
    predates: bool = False  # its run was written before schema 2

    @property
    def name(self):
        return schema.cell_name(self.strategy, self.pattern, self.cache)

    @property
    def fallback(self):
        """True when the cell's times come from traced repetitions (no untraced ok one)."""
        return not self.untraced_rows and bool(self.traced_rows)

    def rows_for(self, metric):
        """The repetitions a metric is read from (see the module's docstring)."""
        if metric in schema.EVIDENCE_METRICS:
            return self.traced_rows
        return self.untraced_rows or self.traced_rows

    def source(self, metric):
        return TRACED if metric in schema.EVIDENCE_METRICS or self.fallback else UNTRACED

    def summary(self, metric):
        return self.metrics.get(metric)

    def _fleet_counterpart(self, metric, rows):
        fleet = schema.FLEET_FALLBACK.get(metric)
        if fleet and not any(metric in r[schema.METRICS] for r in rows):
            return fleet
        return None

    def values(self, metric):
        """The metric over its repetitions; a fleet run's fleet_* counterpart
        (schema.FLEET_FALLBACK) when the cell has no single-process value."""
        rows = self.rows_for(metric)
        name = self._fleet_counterpart(metric, rows) or metric
        return [r[schema.METRICS][name] for r in rows if name in r[schema.METRICS]]

    def values_by_rep(self, metric):
        rows = self.rows_for(metric)
        name = self._fleet_counterpart(metric, rows) or metric
        return sorted((r[schema.REP], r[schema.METRICS][name]) for r in rows
                      if name in r[schema.METRICS])

    def availability(self, metric):
        rows = self.rows_for(metric)
        name = self._fleet_counterpart(metric, rows) or metric
        measured = sum(1 for r in rows if name in r[schema.METRICS])
        reasons, silent = {}, 0
        for r in rows:
            if name in r[schema.METRICS]:
                continue
            why = r[schema.NOT_MEASURED].get(metric) or r[schema.NOT_MEASURED].get(name)
            if why:
                reasons[why] = reasons.get(why, 0) + 1
            else:
                silent += 1
        return Availability(metric, self.source(metric), len(rows), measured,
                            tuple(sorted(reasons.items(), key=lambda kv: -kv[1])), silent,
                            self.predates)

    def tracer_overhead(self):
        """(fraction, traced Summary, untraced Summary) of total_ms when the cell has
        OVERHEAD_MIN_TRACED traced and at least one untraced repetition; else None."""
        if len(self.traced_rows) < OVERHEAD_MIN_TRACED or not self.untraced_rows:
            return None
        traced = [r[schema.METRICS][schema.TOTAL_MS] for r in self.traced_rows
                  if schema.TOTAL_MS in r[schema.METRICS]]
        untraced = [r[schema.METRICS][schema.TOTAL_MS] for r in self.untraced_rows
                    if schema.TOTAL_MS in r[schema.METRICS]]
        if len(traced) < OVERHEAD_MIN_TRACED or not untraced:
            return None
        t, u = stats.summarize(traced), stats.summarize(untraced)
        if not u.median:
            return None
        return t.median / u.median - 1, t, u


def plan_command_names(plan):
    """The NAMEs of plan.json "commands" ([{"name", "argv", ...}]), in order; what is not
    an object with a string name is left out."""
    commands = plan.get("commands")
    if not isinstance(commands, list):
        return []
    return [c["name"] for c in commands if isinstance(c, dict) and isinstance(c.get("name"), str)]


def _ordered(seen, preferred):
    out = [x for x in dict.fromkeys(preferred) if x in seen]
    return out + [x for x in seen if x not in out]


class RunCells:
    """The cells of one run, in plan order, with its strategies and patterns."""

    def __init__(self, run):
        self.run = run
        self.cells = {}
        for row in run.rows:
            key = (row[schema.STRATEGY], row[schema.PATTERN], row[schema.CACHE])
            cell = self.cells.setdefault(key, Cell(*key, predates=run.predates_schema_2))
            if row[schema.STATUS] != "ok":
                cell.failed_rows.append(row)
                continue
            cell.ok_rows.append(row)
            (cell.traced_rows if row[schema.TRACED] else cell.untraced_rows).append(row)
        for cell in self.cells.values():
            names = sorted({m for r in cell.ok_rows for m in r[schema.METRICS]})
            summaries = {m: stats.summarize(cell.values(m)) for m in names}
            cell.metrics = {m: s for m, s in summaries.items() if s is not None}
        seen_strategies = list(dict.fromkeys(k[0] for k in self.cells))
        seen_patterns = list(dict.fromkeys(k[1] for k in self.cells
                                           if not schema.is_program(k[0])))
        plan_strategies = [s for s in run.plan.get("strategies", []) if isinstance(s, str)]
        plan_patterns = [p for p in run.plan.get("patterns", []) if isinstance(p, str)]
        # Strategies are what faultline can recommend; programs (cmd:NAME) are measured
        # beside them but never compete with them (a program is not a strategy).
        self.strategies = _ordered([s for s in seen_strategies if not schema.is_program(s)],
                                   [BASELINE] + plan_strategies)
        self.programs = _ordered([s for s in seen_strategies if schema.is_program(s)],
                                 [schema.PROGRAM_PREFIX + n for n in plan_command_names(run.plan)])
        self.patterns = _ordered(seen_patterns, plan_patterns)

    def get(self, strategy, pattern, cache):
        return self.cells.get((strategy, pattern, cache))

    def row_cell(self, strategy, pattern, cache):
        """The cell a table or plot row shows for `pattern`: a program's own `program`
        cell whatever the pattern (a program has one way to load: its own)."""
        if schema.is_program(strategy):
            return self.get(strategy, schema.PROGRAM_PATTERN, cache)
        return self.get(strategy, pattern, cache)

    @property
    def table_strategies(self):
        """The rows of the headline and the plots: the strategies, then the programs."""
        return self.strategies + self.programs

    @property
    def headline_pattern(self):
        """The pattern the headline reports work for: forward, else the first that
        touches the model, else none."""
        if "forward" in self.patterns:
            return "forward"
        touching = [p for p in self.patterns if p != schema.NO_ACCESS_PATTERN]
        if touching:
            return touching[0]
        return self.patterns[0] if self.patterns else schema.NO_ACCESS_PATTERN

    @property
    def startup_pattern(self):
        """The pattern startup latency is read from: none (ready only) when measured."""
        return (schema.NO_ACCESS_PATTERN if schema.NO_ACCESS_PATTERN in self.patterns
                else self.headline_pattern)

    def ordered_cells(self):
        order = {s: i for i, s in enumerate(self.table_strategies)}
        porder = {p: i for i, p in enumerate(self.patterns + list(schema.PROGRAM_PATTERNS))}
        porder.update({p: len(porder) + i for i, p in enumerate(
            dict.fromkeys(k[1] for k in self.cells if k[1] not in porder))})
        return sorted(self.cells.values(),
                      key=lambda c: (order[c.strategy], porder[c.pattern], c.cache))

    def fallback_cells(self):
        return [c for c in self.ordered_cells() if c.fallback]
