"""The headline table: per strategy, startup and first-pass latency, memory,
faults and I/O (medians with their min–max spread over repetitions), a ratio
against the read baseline, the best value of each column marked, and a warning
on any cell whose spread is too wide to trust. Rendered as Markdown here, as
HTML by analysis.html, and every cell x metric as results.csv."""

import csv
from dataclasses import dataclass

from analysis import schema, stats, units
from analysis.cells import BASELINE


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    metric: str
    cache: str
    role: str          # "startup": the ready-only pattern; "headline": the forward pattern
    kind: str          # units.FORMATS key
    higher_is_better: bool = False
    per_storage: bool = False  # value divided by the run's calibrated storage limit


TIME_COLUMNS = [
    Column("ready_cold", "ready cold (ms)", schema.READY_MS, "cold", "startup", "ms"),
    Column("ready_warm", "ready warm (ms)", schema.READY_MS, "warm", "startup", "ms"),
    Column("first_pass_cold", "first pass cold (ms)", schema.FIRST_PASS_MS, "cold",
           "headline", "ms"),
    Column("total_cold", "total cold (ms)", schema.TOTAL_MS, "cold", "headline", "ms"),
    Column("total_warm", "total warm (ms)", schema.TOTAL_MS, "warm", "headline", "ms"),
    Column("storage_fraction", "throughput / storage limit", schema.GBPS, "cold", "headline",
           "percent", higher_is_better=True, per_storage=True),
]
MEMORY_COLUMNS = [
    Column("rss_file", "RSS file", schema.RSS_FILE_BYTES, "cold", "headline", "bytes"),
    Column("rss_anon", "RSS anon", schema.RSS_ANON_BYTES, "cold", "headline", "bytes"),
    Column("peak_rss", "peak RSS", schema.PEAK_RSS_BYTES, "cold", "headline", "bytes"),
    Column("pss", "PSS", schema.PSS_BYTES, "cold", "headline", "bytes"),
    Column(schema.MAJOR_FAULTS, "major faults", schema.MAJOR_FAULTS, "cold", "headline", "count"),
    Column(schema.MINOR_FAULTS, "minor faults", schema.MINOR_FAULTS, "cold", "headline", "count"),
    Column(schema.READ_BYTES, "read from storage", schema.READ_BYTES, "cold", "headline",
           "bytes"),
]
COLUMNS = TIME_COLUMNS + MEMORY_COLUMNS


BEST_TOLERANCE = 0.01  # medians within 1 % of the best are marked best too (ties)


@dataclass
class Entry:
    summary: stats.Summary
    ratio: float = None  # median / the baseline's median; None without a baseline
    best: bool = False
    noisy: bool = False  # the cell's spread in a timing metric is over stats.CV_LIMIT


@dataclass
class HeadlineRow:
    label: str       # the run's label (host)
    strategy: str
    entries: dict    # column key -> Entry or None


@dataclass
class Headline:
    rows: list
    patterns: dict   # run label -> {"startup": pattern, "headline": pattern}
    notes: list      # what the reader must know (no baseline, no calibration...)


def _entry(run_cells, strategy, column):
    pattern = (run_cells.startup_pattern if column.role == "startup"
               else run_cells.headline_pattern)
    cell = run_cells.get(strategy, pattern, column.cache)
    if cell is None:
        return None
    values = cell.values(column.metric)
    if not values:
        return None
    if column.per_storage:
        limit = run_cells.run.storage_gbps
        if not limit:
            return None
        values = [v / limit for v in values]
    summary = stats.summarize(values)
    noisy = summary.noisy and schema.spread_matters(column.metric, pattern)
    return Entry(summary, noisy=noisy)


def _mark_best(entries, column):
    present = [e for e in entries if e is not None]
    if len(present) < 2:
        return
    pick = max if column.higher_is_better else min
    best = pick(e.summary.median for e in present)
    marks = [abs(e.summary.median - best) <= BEST_TOLERANCE * abs(best) for e in present]
    if all(marks):
        return  # every strategy ties: nothing stands out
    for e, mark in zip(present, marks):
        e.best = mark


def build_headline(all_run_cells):
    rows, patterns, notes = [], {}, []
    for rc in all_run_cells:
        label = rc.run.label
        patterns[label] = {"startup": rc.startup_pattern, "headline": rc.headline_pattern}
        run_rows = []
        for strategy in rc.strategies:
            entries = {c.key: _entry(rc, strategy, c) for c in COLUMNS}
            run_rows.append(HeadlineRow(label, strategy, entries))
        base = next((r for r in run_rows if r.strategy == BASELINE), None)
        if base is None:
            notes.append("%s: no `%s` strategy in this run, so no ratios against it"
                         % (label, BASELINE))
        for c in COLUMNS:
            base_entry = base.entries[c.key] if base else None
            for r in run_rows:
                e = r.entries[c.key]
                if e is not None and base_entry is not None and base_entry.summary.median:
                    e.ratio = e.summary.median / base_entry.summary.median
            _mark_best([r.entries[c.key] for r in run_rows], c)
        if rc.run.storage_gbps is None:
            notes.append("%s: no storage calibration (calibration.json), so no throughput "
                         "fraction" % label)
        rows.extend(run_rows)
    return Headline(rows=rows, patterns=patterns, notes=notes)


@dataclass(frozen=True)
class SpreadWarning:
    label: str
    cell: str
    metric: str
    summary: stats.Summary

    def text(self):
        s = self.summary
        return ("%s: %s %s: CV %.0f %% over %d reps (%s–%s) — spread too wide to trust"
                % (self.label, self.cell, self.metric, s.cv * 100, s.n,
                   units.fmt_metric(self.metric, s.min), units.fmt_metric(self.metric, s.max)))


@dataclass(frozen=True)
class SlowFirstWarning:
    label: str
    cell: str
    metric: str
    first: float
    rest_median: float

    def text(self):
        return ("%s: %s %s: repetition 1 took %s, %.1f× the median of the others (%s) — "
                "a first-run effect (caches, a cold device)?"
                % (self.label, self.cell, self.metric, units.fmt_metric(self.metric, self.first),
                   self.first / self.rest_median,
                   units.fmt_metric(self.metric, self.rest_median)))


SLOW_FIRST_FACTOR = 2.0  # hyperfine's "first run much slower than the rest"


def spread_warnings(all_run_cells):
    """Every cell x timing metric whose coefficient of variation is over
    stats.CV_LIMIT, and every one whose first repetition is much slower than the rest."""
    out = []
    for rc in all_run_cells:
        for cell in rc.ordered_cells():
            for metric in sorted(cell.metrics):
                s = cell.metrics[metric]
                if not schema.spread_matters(metric, cell.pattern):
                    continue
                if s.noisy:
                    out.append(SpreadWarning(rc.run.label, cell.name, metric, s))
                by_rep = sorted((r[schema.REP], r[schema.METRICS][metric])
                                for r in cell.ok_rows if metric in r[schema.METRICS])
                if len(by_rep) >= 3 and by_rep[0][0] == 1:
                    rest = stats.summarize(v for _, v in by_rep[1:]).median
                    if rest > 0 and by_rep[0][1] > SLOW_FIRST_FACTOR * rest:
                        out.append(SlowFirstWarning(rc.run.label, cell.name, metric,
                                                    by_rep[0][1], rest))
    return out


# --- Markdown ---

def format_entry(column, entry, markdown=True):
    if entry is None:
        return "–"
    f = units.FORMATS[column.kind]
    s = entry.summary
    median = f(s.median)
    if entry.best and markdown:
        median = "**%s**" % median
    text = median
    low, high = f(s.min), f(s.max)
    if s.n > 1 and low != high:
        text += " (%s–%s)" % (low, high)
    if entry.ratio is not None:
        text += " " + units.ratio(entry.ratio)
    if entry.noisy:
        text += " ⚠"
    return text


def _md_escape(text):
    return text.replace("|", "\\|")


def markdown_table(headline, columns, with_host):
    head = (["host"] if with_host else []) + ["strategy"] + [c.title for c in columns]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] * (len(head) - len(columns)) +
                            ["--:"] * len(columns)) + "|"]
    for r in headline.rows:
        cells = ([r.label] if with_host else []) + ["`%s`" % r.strategy]
        cells += [format_entry(c, r.entries[c.key]) for c in columns]
        lines.append("| " + " | ".join(_md_escape(x) for x in cells) + " |")
    return "\n".join(lines)


def legend(headline):
    pats = sorted({(p["startup"], p["headline"]) for p in headline.patterns.values()})
    parts = []
    for startup, head in pats:
        parts.append("ready: pattern `%s`; first pass, total, throughput, memory, faults and "
                     "bytes read: pattern `%s`, after the pass" % (startup, head))
    return ("Median (min–max) over repetitions; ×: ratio to the `%s` baseline's median; "
            "**bold**: best in its column; ⚠: coefficient of variation over %d %%. %s."
            % (BASELINE, stats.CV_LIMIT * 100, "; ".join(parts)))


# --- CSV: every cell x metric ---

CSV_FIELDS = ["host", "run_id", "strategy", "pattern", "cache", "metric", "n", "failed_reps",
              "median", "min", "max", "mean", "cv", "ci95_low", "ci95_high", "ratio_vs_read",
              "noisy"]


def write_csv(path, all_run_cells):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        for rc in all_run_cells:
            for cell in rc.ordered_cells():
                base = rc.get(BASELINE, cell.pattern, cell.cache)
                if not cell.metrics:
                    w.writerow({"host": rc.run.label, "run_id": rc.run.run_id,
                                "strategy": cell.strategy, "pattern": cell.pattern,
                                "cache": cell.cache, "metric": "", "n": 0,
                                "failed_reps": len(cell.failed_rows)})
                for metric, s in sorted(cell.metrics.items()):
                    b = base.summary(metric) if base else None
                    w.writerow({
                        "host": rc.run.label, "run_id": rc.run.run_id,
                        "strategy": cell.strategy, "pattern": cell.pattern,
                        "cache": cell.cache, "metric": metric, "n": s.n,
                        "failed_reps": len(cell.failed_rows), "median": repr(s.median),
                        "min": repr(s.min), "max": repr(s.max), "mean": repr(s.mean),
                        "cv": "" if s.cv is None else repr(s.cv),
                        "ci95_low": "" if s.ci_low is None else repr(s.ci_low),
                        "ci95_high": "" if s.ci_high is None else repr(s.ci_high),
                        "ratio_vs_read": repr(s.median / b.median) if b and b.median else "",
                        "noisy": "yes" if (s.noisy and schema.spread_matters(metric, cell.pattern))
                        else "",
                    })
