""""What the kernel did": one line per strategy from the tracer's counters
(bpf_*, traced repetitions) and the first-touch latency (touch_*, untraced),
read from the cold cell of the headline pattern (the model loaded and used
once from storage; a program's own `program` cell). A counter the tracer did not measure is never read as 0:
its sentence becomes "<what>: not measured here: <reason>". The counters cover
the whole cell process (results/README.md)."""

from dataclasses import dataclass

from analysis import schema, units
from analysis.cells import BASELINE

PAGE = 4096
REFERENCE = "mmap:private"  # the kernel's default mmap path, what "N× slower" is against


@dataclass(frozen=True)
class Explanation:
    label: str
    strategy: str
    text: str


def _m(cell, metric):
    s = cell.summary(metric) if cell else None
    return None if s is None else s.median


def _not_measured(cell, what, *metrics):
    """'<what>: not measured here: <reason>' for the first of metrics with a reason."""
    for metric in metrics:
        text = cell.availability(metric).text()
        if text:
            return "%s: %s" % (what, text)
    return "%s: not measured here" % what


def _times(a, b):
    """'3.2× slower' / '2.0× faster' / 'as fast' for a against b (times)."""
    if not a or not b:
        return None
    r = a / b
    if 0.95 <= r <= 1.05:
        return "as fast as"
    return ("%.1f× slower than" % r) if r > 1 else ("%.1f× faster than" % (1 / r))


def _windows(cell):
    sync, async_ = _m(cell, schema.BPF_RA_SYNC), _m(cell, schema.BPF_RA_ASYNC)
    if sync is None or async_ is None:
        return ""
    return " in %s sync + %s async windows" % (units.count(sync), units.count(async_))


def _readahead(cell, pages):
    """The readahead clause(s): what it read (v2), what it asked for, what went unused."""
    ra_metrics = (schema.BPF_RA_PAGES, schema.BPF_RA_REQUESTED_PAGES, schema.BPF_RA_SYNC,
                  schema.BPF_RA_ASYNC)
    read, asked = _m(cell, schema.BPF_RA_PAGES), _m(cell, schema.BPF_RA_REQUESTED_PAGES)
    sync, async_ = _m(cell, schema.BPF_RA_SYNC), _m(cell, schema.BPF_RA_ASYNC)
    if all(v is None for v in (read, asked, sync, async_)):
        return [_not_measured(cell, "readahead", *ra_metrics)]
    if sync == 0 and async_ == 0 and not read and not asked:
        return ["no readahead (0 readahead windows)"]
    unused = _m(cell, schema.BPF_RA_UNUSED_PAGES)
    if read is None and asked is None:
        out = ["readahead%s" % _windows(cell),
               _not_measured(cell, "the pages it read", schema.BPF_RA_PAGES)]
    elif read is not None:
        text = "readahead read %s pages (%s of the file)%s" % (
            units.count(read), units.percent(read / pages), _windows(cell))
        if asked is not None and asked != read:
            text += " (it asked for %s)" % units.count(asked)
        if unused is not None and read and unused <= read:
            text += (", %s of it never used (%s pages)" % (units.percent(unused / read),
                                                          units.count(unused))
                     if unused else ", every page of it used")
            unused = None
        out = [text]
    else:
        out = ["readahead asked for %s pages (%s of the file)%s" % (
            units.count(asked or 0), units.percent((asked or 0) / pages), _windows(cell))]
        why = cell.availability(schema.BPF_RA_PAGES).text()
        if why and cell.availability(schema.BPF_RA_PAGES).reasons:
            out.append("the pages it read: " + why)
    if unused is not None:
        out.append("%s pages added to the page cache were never read or mapped"
                   % units.count(unused) if unused else
                   "every page added to the page cache was used")
    return out


def _faults(cell, model_bytes, pages):
    filemap = _m(cell, schema.BPF_FILEMAP_FAULTS)
    if filemap is None:
        return [_not_measured(cell, "file page faults", schema.BPF_FILEMAP_FAULTS)]
    if not filemap:
        out = ["no file page faults"]
    elif filemap / pages >= 0.9:
        out = ["one file fault per page (%s faults)" % units.count(filemap)]
    else:
        out = ["%s file faults, one per %s" % (units.count(filemap),
                                              units.size(model_bytes / filemap))]
    around = _m(cell, schema.BPF_FAULTAROUND_PAGES)
    if around:
        out.append("fault-around windows spanned %s pages (it maps only pages already cached)"
                   % units.count(around))
    return out


def _block_io(cell):
    bio = _m(cell, schema.BPF_BIO_BYTES)
    if bio is None:
        why = cell.availability(schema.BPF_BIO_BYTES)
        return [_not_measured(cell, "block I/O", schema.BPF_BIO_BYTES)] if why.reasons else []
    if not bio:
        return ["no block I/O read the model"]
    text = "%s from the device" % units.size(bio)
    requests = _m(cell, schema.BPF_BIO_REQUESTS)
    if requests:
        text += " in %s block requests (%s each on average)" % (units.count(requests),
                                                                units.size(bio / requests))
    p50 = _m(cell, schema.BPF_BIO_P50_US)
    if p50:
        text += ", bio latency p50 %s" % units.us(p50)
    return [text]


def _latency(cell):
    """First touch as the program saw it (touch_*), and the kernel's fault latency."""
    touch50, touch99 = _m(cell, schema.TOUCH_P50_US), _m(cell, schema.TOUCH_P99_US)
    fault50 = _m(cell, schema.BPF_FAULT_P50_US)
    out = []
    if touch50 is not None:
        text = "first touch p50 %s" % units.us(touch50)
        if touch99 is not None:
            text += ", p99 %s" % units.us(touch99)
        if fault50 is None:
            why = cell.availability(schema.BPF_FAULT_P50_US)
            if why.reasons:
                text += " (kernel fault latency %s)" % why.text()
        out.append(text)
    if fault50 is not None:
        fault99 = _m(cell, schema.BPF_FAULT_P99_US)
        out.append("handle_mm_fault p50 %s%s" % (units.us(fault50), ", p99 %s" % units.us(
            fault99) if fault99 is not None else ""))
    return out


EVIDENCE = (schema.BPF_RA_PAGES, schema.BPF_RA_REQUESTED_PAGES, schema.BPF_RA_SYNC,
            schema.BPF_RA_ASYNC, schema.BPF_RA_UNUSED_PAGES, schema.BPF_FILEMAP_FAULTS,
            schema.BPF_FAULTAROUND_PAGES, schema.BPF_BIO_BYTES, schema.BPF_BIO_REQUESTS,
            schema.TOUCH_P50_US)


def _disagreements(cell):
    out = []
    for metric in EVIDENCE:
        a = cell.availability(metric)
        if a.partial:
            out.append("⚠ %s %s" % (metric, a.text()))
    return out


def _not_traced(cell):
    reasons = sorted({r[schema.NOT_MEASURED][m] for r in cell.ok_rows
                      for m in schema.TRACE_METRICS if m in r[schema.NOT_MEASURED]})
    return "not traced (no traced repetition of this cell%s)" % (
        ": " + "; ".join(reasons) if reasons else "")


def explain_strategy(rc, strategy):
    pattern = schema.PROGRAM_PATTERN if schema.is_program(strategy) else rc.headline_pattern
    cell = rc.get(strategy, pattern, "cold")
    if cell is None or not cell.ok_rows:
        return "no successful cold `%s` cell to explain" % pattern
    if not cell.traced_rows:
        return _not_traced(cell)
    pages = max(1, rc.run.model_bytes // PAGE)
    parts = _readahead(cell, pages) + _faults(cell, rc.run.model_bytes, pages)
    parts += _block_io(cell) + _latency(cell)
    ready, first = _m(cell, schema.READY_MS), _m(cell, schema.FIRST_PASS_MS)
    if ready and first is not None and ready > 10 * max(first, 1e-9) and ready > 1:
        parts.append("the I/O is paid inside ready_ms (%s ms ready, %s ms pass)"
                     % (units.ms(ready), units.ms(first)))
    elif first and ready is not None and first > 10 * max(ready, 1e-9) and first > 1:
        parts.append("ready at once, the I/O is paid by the first pass (%s ms)"
                     % units.ms(first))
    reference = REFERENCE if REFERENCE in rc.strategies else BASELINE
    if strategy != reference:
        ref_cell = rc.get(reference, pattern, "cold")
        cmp = _times(_m(cell, schema.TOTAL_MS), _m(ref_cell, schema.TOTAL_MS))
        if cmp:
            parts.append("%s `%s` to the end of the `%s` pass" % (cmp, reference, pattern))
    dropped = _m(cell, schema.BPF_DROPPED)
    if dropped:
        parts.append("⚠ %s trace events dropped: counts are lower bounds" % units.count(dropped))
    parts += _disagreements(cell)
    return "; ".join(parts)


def explain(all_run_cells):
    out = []
    for rc in all_run_cells:
        for strategy in rc.table_strategies:  # programs too: their own `program` cell
            out.append(Explanation(rc.run.label, strategy, explain_strategy(rc, strategy)))
    return out
