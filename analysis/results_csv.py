"""results.csv: every cell x metric with its statistics, which repetitions they
come from (untraced, or traced), and for a metric some or all repetitions did
not measure, why (an empty median, never 0)."""

import csv

from analysis import schema
from analysis.cells import BASELINE

CSV_FIELDS = ["host", "run_id", "strategy", "pattern", "cache", "metric", "n", "failed_reps",
              "median", "min", "max", "mean", "cv", "ci95_low", "ci95_high", "ratio_vs_read",
              "noisy", "repetitions", "not_measured"]


def _not_measured_names(cell):
    return sorted({m for r in cell.ok_rows for m in r[schema.NOT_MEASURED]})


def write_csv(path, all_run_cells):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        for rc in all_run_cells:
            for cell in rc.ordered_cells():
                base = rc.get(BASELINE, cell.pattern, cell.cache)
                where = {"host": rc.run.label, "run_id": rc.run.run_id,
                         "strategy": cell.strategy, "pattern": cell.pattern,
                         "cache": cell.cache, "failed_reps": len(cell.failed_rows)}
                names = sorted(set(cell.metrics) | set(_not_measured_names(cell)))
                if not names:
                    w.writerow(dict(where, metric="", n=0))
                for metric in names:
                    s = cell.metrics.get(metric)
                    availability = cell.availability(metric)
                    row = dict(where, metric=metric, repetitions=availability.source,
                               not_measured=availability.text() or "")
                    if s is None:
                        w.writerow(dict(row, n=0))
                        continue
                    b = base.summary(metric) if base else None
                    w.writerow(dict(
                        row, n=s.n, median=repr(s.median), min=repr(s.min), max=repr(s.max),
                        mean=repr(s.mean), cv="" if s.cv is None else repr(s.cv),
                        ci95_low="" if s.ci_low is None else repr(s.ci_low),
                        ci95_high="" if s.ci_high is None else repr(s.ci_high),
                        ratio_vs_read=repr(s.median / b.median) if b and b.median else "",
                        noisy="yes" if (s.noisy and schema.spread_matters(metric, cell.pattern))
                        else ""))
