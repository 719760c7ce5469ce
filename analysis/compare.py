"""faultline compare A B: run B against run A, cell by cell and metric by metric:
the ratio of medians B/A and a Mann-Whitney U test over the untraced
repetitions (as Google Benchmark's compare.py) to tell a change from noise;
a cell without untraced repetitions (a schema v1 run) falls back to its traced
ones, as the report does. Regressions are listed first, then improvements,
then what stayed within the noise, then what is not comparable: a metric
measured on one side only is never a change.

    /usr/bin/python3 -m analysis.compare A B [--changes-only] [--out FILE.md]
                                             [--fail-on-regression]
"""

import argparse
import sys
from dataclasses import dataclass

from analysis import cli

PROG = "faultline compare"
REGRESSED, IMPROVED, NOISE = "regressed", "improved", "within noise"
NOT_COMPARABLE = "not comparable"
ORDER = {REGRESSED: 0, IMPROVED: 1, NOISE: 2, NOT_COMPARABLE: 3}


@dataclass(frozen=True)
class Change:
    cell: str
    metric: str
    a: object        # stats.Summary (None when not measured in A)
    b: object
    ratio: float     # median(B) / median(A); None when A's median is 0 and B's is not
    p: float
    testable: bool
    verdict: str
    reason: str = ""  # NOT_COMPARABLE: 'not measured in B (<reason>)'


def compared_metrics():
    from analysis import schema
    return [schema.READY_MS, schema.FIRST_PASS_MS, schema.TOTAL_MS, schema.GBPS,
            schema.READ_GBPS, schema.READ_AMPLIFICATION, schema.TOUCH_P50_US,
            schema.TOUCH_P99_US, schema.RSS_BYTES, schema.RSS_FILE_BYTES, schema.RSS_ANON_BYTES,
            schema.PEAK_RSS_BYTES, schema.PSS_BYTES, schema.RSS_MODEL_BYTES, schema.MAJOR_FAULTS,
            schema.MINOR_FAULTS,
            schema.READ_BYTES, schema.TASK_CLOCK_MS, schema.FLEET_READY_MS,
            schema.FLEET_RSS_BYTES, schema.FLEET_PSS_BYTES]


def _applies(metric, pattern):
    """Pattern none measures the load only: its first pass, total and throughput
    repeat ready_ms or are ~0."""
    from analysis import schema
    return not (pattern == schema.NO_ACCESS_PATTERN and
                metric in (schema.FIRST_PASS_MS, schema.TOTAL_MS, schema.GBPS))


def compare_runs(run_a, run_b):
    """Every change between two runs, regressions first; and notes on unmatched cells."""
    from analysis import cells, schema, stats

    ca, cb = cells.RunCells(run_a), cells.RunCells(run_b)
    changes = []
    for cell_a in ca.ordered_cells():
        cell_b = cb.get(cell_a.strategy, cell_a.pattern, cell_a.cache)
        if cell_b is None:
            continue
        for metric in compared_metrics():
            if not _applies(metric, cell_a.pattern):
                continue
            va, vb = cell_a.values(metric), cell_b.values(metric)
            if not va and not vb:
                continue
            if not va or not vb:
                side, cell = ("A", cell_a) if not va else ("B", cell_b)
                why = cell.availability(metric)
                reason = "no repetition finished" if not cell.ok_rows else why.reason_text()
                changes.append(Change(cell_a.name, metric,
                                      stats.summarize(va) if va else None,
                                      stats.summarize(vb) if vb else None, None, 1.0, False,
                                      NOT_COMPARABLE, "not measured in %s (%s)" % (side, reason)))
                continue
            sa, sb = stats.summarize(va), stats.summarize(vb)
            if sa.median == 0:
                ratio = 1.0 if sb.median == 0 else None
            else:
                ratio = sb.median / sa.median
            test = stats.mann_whitney(va, vb)
            verdict = NOISE
            moved = ratio is None or abs(ratio - 1) >= stats.NOISE_FLOOR
            if test.p < stats.ALPHA and moved:
                up = sb.median > sa.median
                better = up if metric in schema.HIGHER_IS_BETTER else not up
                verdict = IMPROVED if better else REGRESSED
            changes.append(Change(cell_a.name, metric, sa, sb, ratio, test.p, test.testable,
                                  verdict))

    def size(c):
        return abs(c.ratio - 1) if c.ratio is not None else float("inf")
    changes.sort(key=lambda c: (ORDER[c.verdict], -size(c) if c.verdict != NOISE else 0))
    names_a = {c.name for c in ca.cells.values()}
    names_b = {c.name for c in cb.cells.values()}
    notes = []
    if names_a - names_b:
        notes.append("only in A: " + ", ".join(sorted(names_a - names_b)))
    if names_b - names_a:
        notes.append("only in B: " + ", ".join(sorted(names_b - names_a)))
    for name, rc in (("A", ca), ("B", cb)):
        fallback = rc.fallback_cells()
        if fallback:
            notes.append("%s: times from traced repetitions in %d cell%s (%s): they include "
                         "the tracer's overhead" % (
                             name, len(fallback), "" if len(fallback) == 1 else "s",
                             "the run predates schema 2" if rc.run.predates_schema_2
                             else "no untraced repetition finished"))
    untestable = [c for c in changes if not c.testable and c.verdict != NOT_COMPARABLE]
    if untestable:
        ns = sorted({(c.a.n, c.b.n) for c in untestable})
        notes.append("%d comparisons have too few repetitions for the test to ever reach "
                     "p < %.2f (n = %s); they show as within noise: run with more "
                     "repetitions (4 or more per side, 9+ is better)"
                     % (len(untestable), stats.ALPHA,
                        ", ".join("%d/%d" % n for n in ns)))
    return changes, notes


def render(run_a, run_b, changes, notes, changes_only):
    from analysis import units

    counts = {v: sum(1 for c in changes if c.verdict == v) for v in ORDER}
    out = ["# faultline compare", "",
           "- A: `%s` (%s)" % (run_a.run_id, run_a.label or run_a.host),
           "- B: `%s` (%s)" % (run_b.run_id, run_b.label or run_b.host), "",
           "**%d regressed, %d improved, %d within noise, %d not comparable** (Mann-Whitney "
           "U over the untraced repetitions, two-sided, p < 0.05 and a change of at least "
           "2 %%; B/A is the ratio of medians; not comparable: measured on one side only)"
           % (counts[REGRESSED], counts[IMPROVED], counts[NOISE], counts[NOT_COMPARABLE]), ""]
    shown = [c for c in changes
             if not (changes_only and c.verdict in (NOISE, NOT_COMPARABLE))]
    if shown:
        out += ["| verdict | cell | metric | A median (min–max) | B median (min–max) | B/A | p "
                "| n A/B |", "|---|---|---|--:|--:|--:|--:|--:|"]
        for c in shown:
            f = lambda v: units.fmt_metric(c.metric, v)
            span = lambda s: "–" if s is None else f(s.median) if f(s.min) == f(s.max) else \
                "%s (%s–%s)" % (f(s.median), f(s.min), f(s.max))
            n = lambda s: s.n if s else 0
            if c.verdict == NOT_COMPARABLE:
                ratio, p = c.reason, "–"
            else:
                ratio = units.ratio(c.ratio) if c.ratio is not None else "new"
                p = "%.3g" % c.p
            out.append("| %s | `%s` | %s | %s | %s | %s | %s | %d/%d |" % (
                c.verdict, c.cell.replace("|", "\\|"), c.metric, span(c.a), span(c.b),
                ratio.replace("|", "\\|"), p, n(c.a), n(c.b)))
        out.append("")
    if notes:
        out += ["Notes:", ""] + ["- " + n for n in notes] + [""]
    return "\n".join(out)


def parse_args(argv):
    p = argparse.ArgumentParser(prog=PROG, description="B against A, per cell and metric, "
                                "with a Mann-Whitney U test over the repetitions")
    p.add_argument("a", metavar="A", help="the reference results folder")
    p.add_argument("b", metavar="B", help="the results folder compared with it")
    p.add_argument("--changes-only", action="store_true",
                   help="list only regressions and improvements")
    p.add_argument("--out", metavar="FILE", help="also write the comparison (Markdown) here")
    p.add_argument("--fail-on-regression", action="store_true",
                   help="exit with status 1 when anything regressed")
    return p.parse_args(argv)


def main(argv=None):
    from analysis import load_runs, output

    args = parse_args(argv)
    run_a, run_b = load_runs.load_run(args.a), load_runs.load_run(args.b)
    run_a.label, run_b.label = "A: " + run_a.host, "B: " + run_b.host
    changes, notes = compare_runs(run_a, run_b)
    text = render(run_a, run_b, changes, notes, args.changes_only)
    if args.out:
        output.write_text_atomically(args.out, text)
    sys.stdout.write(text)
    if args.fail_on_regression and any(c.verdict == REGRESSED for c in changes):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(PROG, main))
