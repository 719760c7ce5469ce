"""Groups a run's rows into cells (strategy x pattern x cache) with the
statistics of every metric over their ok repetitions."""

from dataclasses import dataclass, field

from analysis import schema, stats

BASELINE = "read"  # ratios are against this strategy (DESIGN.md: the read() baseline)


@dataclass
class Cell:
    strategy: str
    pattern: str
    cache: str
    ok_rows: list = field(default_factory=list)
    failed_rows: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)  # metric name -> stats.Summary

    @property
    def name(self):
        return schema.cell_name(self.strategy, self.pattern, self.cache)

    def summary(self, metric):
        return self.metrics.get(metric)

    def values(self, metric):
        """The metric over the ok repetitions; a fleet run's fleet_* counterpart
        (schema.FLEET_FALLBACK) when the cell has no single-process value."""
        out = [r[schema.METRICS][metric] for r in self.ok_rows if metric in r[schema.METRICS]]
        fleet = schema.FLEET_FALLBACK.get(metric)
        if not out and fleet:
            out = [r[schema.METRICS][fleet] for r in self.ok_rows if fleet in r[schema.METRICS]]
        return out


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
            cell = self.cells.setdefault(key, Cell(*key))
            (cell.ok_rows if row[schema.STATUS] == "ok" else cell.failed_rows).append(row)
        for cell in self.cells.values():
            names = sorted({m for r in cell.ok_rows for m in r[schema.METRICS]})
            cell.metrics = {m: stats.summarize(cell.values(m)) for m in names}
        seen_strategies = list(dict.fromkeys(k[0] for k in self.cells))
        seen_patterns = list(dict.fromkeys(k[1] for k in self.cells))
        plan_strategies = [s for s in run.plan.get("strategies", []) if isinstance(s, str)]
        plan_patterns = [p for p in run.plan.get("patterns", []) if isinstance(p, str)]
        self.strategies = _ordered(seen_strategies, [BASELINE] + plan_strategies)
        self.patterns = _ordered(seen_patterns, plan_patterns)

    def get(self, strategy, pattern, cache):
        return self.cells.get((strategy, pattern, cache))

    @property
    def headline_pattern(self):
        """The pattern the headline reports work for: forward, else the first that
        touches the model, else none."""
        if "forward" in self.patterns:
            return "forward"
        touching = [p for p in self.patterns if p != "none"]
        return touching[0] if touching else self.patterns[0]

    @property
    def startup_pattern(self):
        """The pattern startup latency is read from: none (ready only) when measured."""
        return "none" if "none" in self.patterns else self.headline_pattern

    def ordered_cells(self):
        order = {s: i for i, s in enumerate(self.strategies)}
        porder = {p: i for i, p in enumerate(self.patterns)}
        return sorted(self.cells.values(),
                      key=lambda c: (order[c.strategy], porder[c.pattern], c.cache))
