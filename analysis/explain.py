""""What the kernel did": one line per strategy from its trace counters (bpf_*),
read from the cold cell of the headline pattern (the model loaded and used once
from storage). The counters cover the whole cell process (results/README.md),
so a cold cell's eviction shows up in bpf_pagecache_evict_pages, not here."""

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


def _times(a, b):
    """'3.2× slower' / '2.0× faster' / 'as fast' for a against b (times)."""
    if not a or not b:
        return None
    r = a / b
    if 0.95 <= r <= 1.05:
        return "as fast as"
    return ("%.1f× slower than" % r) if r > 1 else ("%.1f× faster than" % (1 / r))


def explain_strategy(rc, strategy):
    pattern = rc.headline_pattern
    cell = rc.get(strategy, pattern, "cold")
    if cell is None or not cell.ok_rows:
        return "no successful cold `%s` cell to explain" % pattern
    if _m(cell, schema.BPF_USER_FAULTS) is None and _m(cell, schema.BPF_RA_PAGES) is None:
        return "not traced (no traced repetition of this cell)"
    pages = max(1, rc.run.model_bytes // PAGE)
    parts = []
    filemap = _m(cell, schema.BPF_FILEMAP_FAULTS) or 0
    around = _m(cell, schema.BPF_FAULTAROUND_PAGES) or 0
    ra_pages = _m(cell, schema.BPF_RA_PAGES)
    if ra_pages is None:  # a schema v1 run counted the pages readahead asked for
        ra_pages = _m(cell, schema.BPF_RA_REQUESTED_PAGES) or 0
    ra_sync = _m(cell, schema.BPF_RA_SYNC) or 0
    ra_async = _m(cell, schema.BPF_RA_ASYNC) or 0
    if ra_pages == 0 and ra_sync == 0 and ra_async == 0:
        parts.append("no readahead (bpf_ra_* = 0)")
    else:
        parts.append("readahead of %s pages (%s of the file) in %s sync + %s async windows"
                     % (units.count(ra_pages), units.percent(ra_pages / pages),
                        units.count(ra_sync), units.count(ra_async)))
    if filemap:
        per_page = filemap / pages
        if per_page >= 0.9:
            parts.append("one file fault per page (%s faults)" % units.count(filemap))
        else:
            parts.append("%s file faults, one per %s" % (units.count(filemap),
                                                        units.size(rc.run.model_bytes / filemap)))
    else:
        parts.append("no file page faults")
    if around:
        parts.append("fault-around windows spanned %s pages (it maps only pages already cached)"
                     % units.count(around))
    bio = _m(cell, schema.BPF_BIO_BYTES)
    if bio:
        p50 = _m(cell, schema.BPF_BIO_P50_US)
        parts.append("%s from the device%s" % (units.size(bio),
                     ", bio latency p50 %s µs" % units.ms(p50) if p50 else ""))
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
    return "; ".join(parts)


def explain(all_run_cells):
    out = []
    for rc in all_run_cells:
        for strategy in rc.strategies:
            out.append(Explanation(rc.run.label, strategy, explain_strategy(rc, strategy)))
    return out
