"""The headline table: per strategy, startup and first-pass latency, throughput,
memory, faults and I/O (medians with their min–max spread over the untraced
repetitions), a ratio against the read baseline, the best value of each column
marked, and a warning on any cell whose spread is too wide to trust. A value
that was not measured is "–" with its reason in a footnote, never 0. Rendered
as Markdown here, as HTML by analysis.html; every cell x metric goes to
results.csv (analysis.results_csv)."""

from dataclasses import dataclass

from analysis import schema, stats, storage_limit, units
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
    ratio: bool = True         # show the ratio to the baseline


TIME_COLUMNS = [
    Column("ready_cold", "ready cold (ms)", schema.READY_MS, "cold", "startup", "ms"),
    Column("ready_warm", "ready warm (ms)", schema.READY_MS, "warm", "startup", "ms"),
    Column("first_pass_cold", "first pass cold (ms)", schema.FIRST_PASS_MS, "cold",
           "headline", "ms"),
    Column("total_cold", "total cold (ms)", schema.TOTAL_MS, "cold", "headline", "ms"),
    Column("total_warm", "total warm (ms)", schema.TOTAL_MS, "warm", "headline", "ms"),
    Column("touched_gbps", "touched GB/s cold", schema.GBPS, "cold", "headline", "rate",
           higher_is_better=True),
    Column("storage_fraction", "throughput / storage limit", schema.READ_GBPS, "cold",
           "headline", "percent", higher_is_better=True, per_storage=True),
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
    Column("amplification", "read amplification", schema.READ_AMPLIFICATION, "cold",
           "headline", "times", ratio=False),
]
COLUMNS = TIME_COLUMNS + MEMORY_COLUMNS


BEST_TOLERANCE = 0.01  # medians within 1 % of the best are marked best too (ties)
LIMIT_BEATEN = "not shown: the storage limit is not a limit on this run (see Caveats)"


@dataclass
class Entry:
    summary: stats.Summary
    ratio: float = None  # median / the baseline's median; None without a baseline
    best: bool = False
    noisy: bool = False  # the cell's spread in a timing metric is over stats.CV_LIMIT
    note: str = None     # how the repetitions disagree (measured in some only)
    mark: int = None     # its footnote's number


@dataclass
class Gap:
    """No value, and why: shown as "–" with a footnote."""
    note: str
    mark: int = None


@dataclass
class HeadlineRow:
    label: str       # the run's label (host)
    strategy: str
    entries: dict    # column key -> Entry, Gap or None (no such cell)

    @property
    def program(self):
        """A program cell's row (cmd:NAME): shown beside the strategies, never best."""
        return schema.is_program(self.strategy)


@dataclass
class Headline:
    rows: list
    patterns: dict   # run label -> {"startup": pattern, "headline": pattern}
    notes: list      # what the reader must know (no baseline, no calibration...)
    footnotes: list = None  # [(mark, text)] for the Entry/Gap marks


def _entry(run_cells, strategy, column, judgement):
    pattern = (run_cells.startup_pattern if column.role == "startup"
               else run_cells.headline_pattern)
    cell = run_cells.row_cell(strategy, pattern, column.cache)
    if schema.is_program(strategy):
        pattern = schema.PROGRAM_PATTERN
    if cell is None:
        return None
    if not cell.ok_rows:
        return Gap("no repetition of this cell finished (see Repetitions that did not finish)")
    if column.per_storage:
        if not run_cells.run.storage_gbps:
            return None
        if judgement.wrong:
            return Gap(LIMIT_BEATEN)
    values = cell.values(column.metric)
    availability = cell.availability(column.metric)
    if not values:
        if schema.is_program(strategy) and not availability.reasons:
            return None  # a metric program cells do not have (no pass, no touched bytes)
        return Gap(availability.text() or "not measured here")
    if column.per_storage:
        values = [v / run_cells.run.storage_gbps for v in values]
    summary = stats.summarize(values)
    noisy = summary.noisy and schema.spread_matters(column.metric, pattern)
    return Entry(summary, noisy=noisy, note=availability.text())


def _mark_best(entries, column):
    present = [e for e in entries if isinstance(e, Entry)]
    if len(present) < 2:
        return
    pick = max if column.higher_is_better else min
    best = pick(e.summary.median for e in present)
    marks = [abs(e.summary.median - best) <= BEST_TOLERANCE * abs(best) for e in present]
    if all(marks):
        return  # every strategy ties: nothing stands out
    for e, mark in zip(present, marks):
        e.best = mark


def _footnotes(rows, with_host):
    """Numbers every Entry/Gap note; identical notes of one column share a number."""
    keys, where = {}, {}
    for c in COLUMNS:
        for r in rows:
            e = r.entries[c.key]
            if e is None or not e.note:
                continue
            key = (c.key, e.note)
            if key not in keys:
                keys[key] = len(keys) + 1
                where[key] = []
            e.mark = keys[key]
            where[key].append(("%s: `%s`" % (r.label, r.strategy)) if with_host
                              else "`%s`" % r.strategy)
    titles = {c.key: c.title for c in COLUMNS}
    every = lambda k: "every strategy" if len(where[k]) == len(rows) else ", ".join(where[k])
    return [(n, "%s, %s: %s" % (titles[k[0]], every(k), k[1]))
            for k, n in sorted(keys.items(), key=lambda kv: kv[1])]


def build_headline(all_run_cells):
    rows, patterns, notes = [], {}, []
    for rc in all_run_cells:
        label = rc.run.label
        judgement = storage_limit.judge(rc)
        patterns[label] = {"startup": rc.startup_pattern, "headline": rc.headline_pattern}
        run_rows = []
        for strategy in rc.table_strategies:
            entries = {c.key: _entry(rc, strategy, c, judgement) for c in COLUMNS}
            run_rows.append(HeadlineRow(label, strategy, entries))
        base = next((r for r in run_rows if r.strategy == BASELINE), None)
        if base is None:
            notes.append("%s: no `%s` strategy in this run, so no ratios against it"
                         % (label, BASELINE))
        for c in COLUMNS:
            base_entry = base.entries[c.key] if base else None
            for r in run_rows:
                e = r.entries[c.key]
                if (c.ratio and isinstance(e, Entry) and isinstance(base_entry, Entry)
                        and base_entry.summary.median):
                    e.ratio = e.summary.median / base_entry.summary.median
            _mark_best([r.entries[c.key] for r in run_rows if not r.program], c)
        if rc.run.storage_gbps is None:
            notes.append("%s: no storage calibration (calibration.json), so no throughput "
                         "fraction" % label)
        rows.extend(run_rows)
    footnotes = _footnotes(rows, len(all_run_cells) > 1)
    return Headline(rows=rows, patterns=patterns, notes=notes, footnotes=footnotes)


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
                by_rep = cell.values_by_rep(metric)
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
    mark = " [%d]" % entry.mark if entry.mark else ""
    if isinstance(entry, Gap):
        return "–" + mark
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
    return text + mark


def row_label(row):
    return "`%s` (program)" % row.strategy if row.program else "`%s`" % row.strategy


PROGRAM_LEGEND = ("`cmd:NAME (program)` rows: a real program run as a cell (pattern "
                  "`program`): ready = exec to its ready line or exit, memory, faults and bytes "
                  "read of its whole process tree at ready; every column reads its one "
                  "`program` cell, its ratios are against `%s` in the same column, and it is "
                  "never marked best (a program is not a strategy; see Programs)" % BASELINE)


def _md_escape(text):
    return text.replace("|", "\\|")


def markdown_table(headline, columns, with_host):
    head = (["host"] if with_host else []) + ["strategy"] + [c.title for c in columns]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] * (len(head) - len(columns)) +
                            ["--:"] * len(columns)) + "|"]
    for r in headline.rows:
        cells = ([r.label] if with_host else []) + [row_label(r)]
        cells += [format_entry(c, r.entries[c.key]) for c in columns]
        lines.append("| " + " | ".join(_md_escape(x) for x in cells) + " |")
    return "\n".join(lines)


def legend(headline):
    pats = sorted({(p["startup"], p["headline"]) for p in headline.patterns.values()})
    parts = []
    for startup, head in pats:
        parts.append("ready: pattern `%s`; first pass, total, throughput, memory, faults and "
                     "bytes read: pattern `%s`, after the pass" % (startup, head))
    return ("Median (min–max) over the untraced repetitions (see Where the numbers come "
            "from); ×: ratio to the `%s` baseline's median; **bold**: best in its column; ⚠: "
            "coefficient of variation over %d %%; –: no value (the footnote says why; never "
            "0). touched GB/s: `gbps`, the bytes the pattern touched / total_ms; throughput / "
            "storage limit: `read_gbps` (bytes read from storage / total_ms) over the "
            "calibrated storage limit; read amplification: bytes read from storage / bytes "
            "touched. %s."
            % (BASELINE, stats.CV_LIMIT * 100, "; ".join(parts))
            + (" " + PROGRAM_LEGEND + "." if any(r.program for r in headline.rows) else ""))


def footnote_lines(headline):
    return ["[%d] %s" % (n, text) for n, text in (headline.footnotes or [])]
