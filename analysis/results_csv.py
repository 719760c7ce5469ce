"""results.csv and results.json: every cell x metric with its statistics, which
repetitions they come from (untraced, or traced), and for a metric some or all
repetitions did not measure, why (an empty median, never 0).

results.json holds the same records as results.csv, typed (numbers as numbers,
null where the CSV is empty, `noisy` a bool) plus `failed_statuses` (status ->
count of the cell's repetitions that did not finish ok). It is what `faultline
run`'s end-of-run table reads (harness/summary_table.cpp): one place computes
the medians and spreads."""

import csv
import json

from analysis import schema
from analysis.cells import BASELINE

CSV_FIELDS = ["host", "run_id", "strategy", "pattern", "cache", "metric", "n", "failed_reps",
              "median", "min", "max", "mean", "cv", "ci95_low", "ci95_high", "ratio_vs_read",
              "noisy", "repetitions", "not_measured"]
JSON_FORMAT = "faultline results summary 1"


def _not_measured_names(cell):
    return sorted({m for r in cell.ok_rows for m in r[schema.NOT_MEASURED]})


def _failed_statuses(cell):
    out = {}
    for r in cell.failed_rows:
        out[r[schema.STATUS]] = out.get(r[schema.STATUS], 0) + 1
    return out


def records(all_run_cells):
    """One dict per cell x metric (CSV_FIELDS + failed_statuses), None where not known."""
    for rc in all_run_cells:
        for cell in rc.ordered_cells():
            base = rc.get(BASELINE, cell.pattern, cell.cache)
            where = dict({f: None for f in CSV_FIELDS},
                         host=rc.run.label, run_id=rc.run.run_id, strategy=cell.strategy,
                         pattern=cell.pattern, cache=cell.cache, failed_reps=len(cell.failed_rows),
                         failed_statuses=_failed_statuses(cell))
            names = sorted(set(cell.metrics) | set(_not_measured_names(cell)))
            if not names:
                yield dict(where, metric="", n=0)
            for metric in names:
                s = cell.metrics.get(metric)
                availability = cell.availability(metric)
                row = dict(where, metric=metric, repetitions=availability.source,
                           not_measured=availability.text() or "", n=0)
                if s is None:
                    yield row
                    continue
                b = base.summary(metric) if base else None
                yield dict(
                    row, n=s.n, median=s.median, min=s.min, max=s.max, mean=s.mean, cv=s.cv,
                    ci95_low=s.ci_low, ci95_high=s.ci_high,
                    ratio_vs_read=s.median / b.median if b and b.median else None,
                    noisy=bool(s.noisy and schema.spread_matters(metric, cell.pattern)))


def _csv_value(v):
    if v is None or v is False:
        return ""
    if v is True:
        return "yes"
    return repr(v) if isinstance(v, float) else v


def write_csv(path, all_run_cells):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        for r in records(all_run_cells):
            w.writerow({k: _csv_value(r[k]) for k in CSV_FIELDS})


def write_json(path, all_run_cells, fidelity_tables=()):
    """results.json: "records" (every cell x metric), "programs" (each program cell's
    metrics raw and minus its baseline's median) and "fidelity" (analysis/fidelity.py)."""
    from analysis import fidelity, programs
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"format": JSON_FORMAT, "records": list(records(all_run_cells)),
                   "programs": [r for rc in all_run_cells for r in programs.records(rc)],
                   "fidelity": list(fidelity.records(fidelity_tables))}, f, allow_nan=False)
        f.write("\n")
