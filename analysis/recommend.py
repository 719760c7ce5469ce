"""The recommendation: on each host, the best strategy for startup latency, for
time to the end of the first forward pass, for RSS and under a memory limit,
each with its margin over the runner-up and whether that margin is beyond the
noise (Mann-Whitney U over the repetitions). Strategies whose medians are
within stats.NOISE_FLOOR of the best tie; among them the one fastest to the end
of the forward pass is named."""

from dataclasses import dataclass

from analysis import schema, stats, units


@dataclass(frozen=True)
class Goal:
    key: str
    title: str
    metric: str
    role: str  # "startup" or "headline" pattern, as in tables.Column


GOALS = [
    Goal("startup", "startup latency (ready_ms, cold)", schema.READY_MS, "startup"),
    Goal("first_forward", "time to the end of the first forward pass (total_ms, cold)",
         schema.TOTAL_MS, "headline"),
    Goal("rss", "RSS after the forward pass (rss_bytes, cold)", schema.RSS_BYTES, "headline"),
    Goal("memory_limit", "under a memory limit", schema.RSS_ANON_BYTES, "headline"),
]
MEMORY_LIMIT_HEURISTIC = ("least anonymous memory, which the kernel cannot reclaim without "
                          "swap (rss_anon_bytes, cold; no cell of this run had a memory limit)")


@dataclass(frozen=True)
class Candidate:
    strategy: str
    median: float
    values: tuple
    forward_ms: float  # median total_ms of the headline pattern, cold (the tie-break)


@dataclass(frozen=True)
class Recommendation:
    label: str
    goal: Goal
    best: Candidate
    runner_up: Candidate  # None when only one strategy qualifies
    tie: bool
    verdict: str
    basis: str = ""       # what "best" was judged on, when not the goal's metric alone

    def text(self):
        metric = self.goal.metric
        unit = " ms" if units.metric_kind(metric) == "ms" else ""
        f = lambda v: units.fmt_metric(metric, v) + unit
        b, r = self.best, self.runner_up
        basis = " [%s]" % self.basis if self.basis else ""
        if r is None:
            return "`%s` (%s), the only strategy that qualifies%s" % (b.strategy, f(b.median),
                                                                    basis)
        if self.tie:
            return ("`%s` (%s) ties with `%s` (%s); %s%s"
                    % (b.strategy, f(b.median), r.strategy, f(r.median), self.verdict, basis))
        margin = ("%.2f×" % (r.median / b.median)) if b.median else \
            "%s less" % f(r.median - b.median)
        return ("`%s` (%s) over `%s` (%s): margin %s, %s%s"
                % (b.strategy, f(b.median), r.strategy, f(r.median), margin, self.verdict,
                   basis))


def _verdict(best_values, runner_values):
    test = stats.mann_whitney(best_values, runner_values)
    if test.p < stats.ALPHA:
        return "beyond noise (Mann-Whitney p = %.3f)" % test.p
    if not test.testable:
        overlap = stats.ranges_overlap(best_values, runner_values)
        return ("too few repetitions for a test (n = %d and %d); ranges %s"
                % (len(best_values), len(runner_values),
                   "overlap" if overlap else "do not overlap"))
    return "within noise (Mann-Whitney p = %.2f)" % test.p


def _forward_ms(rc, strategy):
    cell = rc.get(strategy, rc.headline_pattern, "cold")
    s = cell.summary(schema.TOTAL_MS) if cell else None
    return s.median if s else float("inf")


def _candidates(rc, pattern, metric, strategies):
    out = []
    for strategy in strategies:
        cell = rc.get(strategy, pattern, "cold")
        values = cell.values(metric) if cell else []
        if values:
            out.append(Candidate(strategy, stats.summarize(values).median, tuple(values),
                                 _forward_ms(rc, strategy)))
    return out


def _unmeasured(rc, pattern, metric, strategies):
    """'not measured for `s` (<reason>)' for strategies that ran but lack the metric:
    left out of the choice, and said so."""
    out = []
    for strategy in strategies:
        cell = rc.get(strategy, pattern, "cold")
        if cell is not None and cell.ok_rows and not cell.values(metric):
            out.append("`%s` (%s)" % (strategy, cell.availability(metric).text()))
    return "%s not measured for %s" % (metric, ", ".join(out)) if out else ""


def _join(*parts):
    return "; ".join(p for p in parts if p)


def pick(label, goal, candidates, basis=""):
    """The best candidate (lowest median; ties broken by the forward pass) and its
    runner-up, with the verdict on the margin."""
    if not candidates:
        return None
    low = min(c.median for c in candidates)
    tied = [c for c in candidates if c.median - low <= stats.NOISE_FLOOR * abs(low)]
    tied.sort(key=lambda c: (c.forward_ms, c.median))
    best = tied[0]
    if len(tied) > 1:
        runner = tied[1]
        others = len(tied) - 2
        verdict = ("medians within %d %%%s; named as the fastest to the end of the forward "
                   "pass" % (stats.NOISE_FLOOR * 100,
                             " (and %d more)" % others if others else ""))
        return Recommendation(label, goal, best, runner, True, verdict, basis)
    rest = sorted((c for c in candidates if c is not best), key=lambda c: c.median)
    if not rest:
        return Recommendation(label, goal, best, None, False, "", basis)
    runner = rest[0]
    return Recommendation(label, goal, best, runner, False,
                          _verdict(best.values, runner.values), basis)


def _memory_limit(rc, goal):
    """With memory-limited cells: the fastest strategy that never failed under the
    limit; without: the heuristic of least anonymous memory."""
    pattern = rc.headline_pattern
    limited = [r for r in rc.run.rows if r[schema.MEMORY_LIMIT_BYTES] is not None]
    if not limited:
        return pick(rc.run.label, goal, _candidates(rc, pattern, schema.RSS_ANON_BYTES,
                                                    rc.strategies),
                    _join(MEMORY_LIMIT_HEURISTIC, _unmeasured(rc, pattern, schema.RSS_ANON_BYTES,
                                                              rc.strategies)))
    limit = max(r[schema.MEMORY_LIMIT_BYTES] for r in limited)
    survived, failed = [], []
    for strategy in rc.strategies:
        cell = rc.get(strategy, pattern, "cold")
        if cell is None:
            continue
        if cell.failed_rows or not cell.ok_rows:
            failed.append(strategy)
        else:
            survived.append(strategy)
    limited_goal = Goal(goal.key, goal.title, schema.TOTAL_MS, goal.role)
    basis = "fastest to the end of the `%s` pass among strategies that never failed under the " \
            "%s limit" % (pattern, units.size(limit))
    if failed:
        basis += "; failed: " + ", ".join("`%s`" % s for s in failed)
    return pick(rc.run.label, limited_goal,
                _candidates(rc, pattern, schema.TOTAL_MS, survived), basis)


def recommend(all_run_cells):
    out = []
    for rc in all_run_cells:
        for goal in GOALS:
            if goal.key == "memory_limit":
                r = _memory_limit(rc, goal)
            else:
                pattern = rc.startup_pattern if goal.role == "startup" else rc.headline_pattern
                r = pick(rc.run.label, goal, _candidates(rc, pattern, goal.metric,
                                                         rc.strategies),
                         _unmeasured(rc, pattern, goal.metric, rc.strategies))
            if r:
                out.append(r)
    return out
