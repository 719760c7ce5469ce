"""Where the report's numbers come from: which repetitions (untraced for times,
memory, faults, bytes read and throughput; traced for the tracer's bpf_*),
the cells that had to fall back to traced repetitions for their times, and the
tracer's overhead where a cell has enough traced repetitions to tell."""

from analysis import units
from analysis.cells import OVERHEAD_MIN_TRACED

HEADLINE_WHAT = "times, memory, faults, bytes read and throughput"
PREDATES = "times from traced repetitions: this run predates schema 2"


def _per_cell(counts):
    lo, hi = min(counts), max(counts)
    return ("%d" % lo) if lo == hi else "%d–%d" % (lo, hi)


def repetition_counts(rc):
    """(untraced, traced) ok repetitions per cell, as 'n' or 'lo–hi'."""
    cells = list(rc.cells.values())
    return (_per_cell([len(c.untraced_rows) for c in cells]),
            _per_cell([len(c.traced_rows) for c in cells]))


def lines(rc):
    """What the report says about one run's repetitions."""
    label = rc.run.label
    untraced, traced = repetition_counts(rc)
    fallback = rc.fallback_cells()
    out = []
    if len(fallback) == len(rc.cells):
        out.append("%s: %s: the traced repetitions (%s per cell; the run has no untraced "
                   "repetition); kernel evidence (bpf_*): the same repetitions"
                   % (label, HEADLINE_WHAT, traced))
    else:
        out.append("%s: %s: the untraced repetitions (%s per cell, rows with traced false); "
                   "kernel evidence (bpf_*), the timeline and RSS samples: the traced "
                   "repetitions (%s per cell)" % (label, HEADLINE_WHAT, untraced, traced))
        if fallback:
            out.append("%s: %s in %d cell%s without an untraced repetition that finished: %s"
                       % (label, "times from traced repetitions", len(fallback),
                          "" if len(fallback) == 1 else "s",
                          ", ".join("`%s`" % c.name for c in fallback)))
    return out


def fallback_notes(rc):
    """The note a run whose times come from traced repetitions gets."""
    fallback = rc.fallback_cells()
    if not fallback:
        return []
    if rc.run.predates_schema_2:
        return ["%s: %s" % (rc.run.label, PREDATES)]
    return ["%s: times from traced repetitions in %d cell%s (no untraced repetition "
            "finished): the tracer's overhead is in those numbers"
            % (rc.run.label, len(fallback), "" if len(fallback) == 1 else "s")]


def overhead_lines(rc):
    """The tracer's overhead on total_ms, per cell with enough traced repetitions."""
    out = []
    for cell in rc.ordered_cells():
        o = cell.tracer_overhead()
        if o is None:
            continue
        fraction, t, u = o
        out.append("%s: tracer overhead on `%s`: %s%.1f %% total_ms (traced median %s ms "
                   "over %d repetitions, untraced %s ms over %d)"
                   % (rc.run.label, cell.name, "+" if fraction >= 0 else "−",
                      abs(fraction) * 100, units.ms(t.median), t.n, units.ms(u.median), u.n))
    if not out and not rc.fallback_cells():
        out.append("%s: no cell has %d traced repetitions (`--traced-reps %d`), so the "
                   "tracer's overhead is not shown" % (rc.run.label, OVERHEAD_MIN_TRACED,
                                                       OVERHEAD_MIN_TRACED))
    return out
