"""calibration.json, both layouts (results/README.md): the storage read limit
and the sweep that found it, the page-cache copy rate, and whether the host
caches the guest's disk.

Old layout: {"storage": {"gbps", "method"}, "pagecache": {"gbps", "method"}}.
New layout: "storage" also has "points" (the fio sweep: engine, direct, bs,
iodepth, numjobs, phase coarse|fine|remeasure, gbps, seconds), "best" (the
three re-measured points, with "gbps_runs") and "seconds"; a "host_cache"
object {"verdict": observed|not_observed|unknown, "virtual_machine",
"first_gbps", "again_gbps", "detail"}. A part that failed has "error" instead
of "gbps". Values of the wrong type are ignored, never guessed."""

import math
from dataclasses import dataclass, field

from analysis import units

GBPS = "gbps"  # not a metric: calibration.json's field (a point's or a part's rate)
OBSERVED, NOT_OBSERVED, UNKNOWN = "observed", "not_observed", "unknown"


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) \
        else None


def _text(v):
    return v if isinstance(v, str) and v else None


@dataclass(frozen=True)
class Point:
    engine: str
    direct: object   # True (O_DIRECT), False (buffered), None (not said)
    bs: object       # "1M" or bytes
    iodepth: object
    numjobs: object
    phase: str
    gbps: float
    seconds: float
    gbps_runs: tuple = ()

    @classmethod
    def parse(cls, d):
        if not isinstance(d, dict) or _num(d.get(GBPS)) is None:
            return None
        runs = d.get("gbps_runs")
        runs = tuple(x for x in runs if _num(x) is not None) if isinstance(runs, list) else ()
        direct = d.get("direct")
        return cls(engine=_text(d.get("engine")), direct=direct if isinstance(direct, bool)
                   else None, bs=d.get("bs"), iodepth=_num(d.get("iodepth")),
                   numjobs=_num(d.get("numjobs")), phase=_text(d.get("phase")) or "",
                   gbps=float(d[GBPS]), seconds=_num(d.get("seconds")), gbps_runs=runs)

    def describe(self):
        """fio O_DIRECT bs=1M qd=32 (libaio)."""
        words = ["fio", {True: "O_DIRECT", False: "buffered"}.get(self.direct, "")]
        if self.bs is not None:
            words.append("bs=%s" % _block(self.bs))
        if self.iodepth is not None:
            words.append("qd=%d" % self.iodepth)
        if self.numjobs and self.numjobs > 1:
            words.append("jobs=%d" % self.numjobs)
        if self.engine:
            words.append("(%s)" % self.engine)
        return " ".join(w for w in words if w)


def _block(bs):
    if isinstance(bs, int) and not isinstance(bs, bool) and bs > 0:
        for suffix, scale in (("M", 1 << 20), ("K", 1 << 10)):
            if bs % scale == 0:
                return "%d%s" % (bs // scale, suffix)
    return str(bs)


@dataclass(frozen=True)
class HostCache:
    verdict: str            # observed, not_observed, unknown
    virtual_machine: object  # True, False or None (unknown)
    first_gbps: float
    again_gbps: float
    detail: str

    @property
    def caveat_applies(self):
        return self.verdict == OBSERVED or (self.verdict == UNKNOWN and
                                            self.virtual_machine is True)

    def caveat(self):
        """What "cold" means here, or None when the host is not known to cache."""
        if not self.caveat_applies:
            return None
        numbers = ""
        if self.first_gbps is not None and self.again_gbps is not None:
            numbers = ("; the model's first read from the disk ran at %s GB/s, the same bytes "
                       "again (dropped from the guest's cache) at %s GB/s"
                       % (units.gbps(self.first_gbps), units.gbps(self.again_gbps)))
        detail = "; %s" % self.detail if self.detail else ""
        if self.verdict == OBSERVED:
            head = "the host caches this virtual disk"
        else:
            head = ("this is a virtual machine and whether its host caches the disk is "
                    "unknown")
        return ("“cold” means cold in the guest only: %s, so a cold cell may be served from "
                "the host's memory%s%s" % (head, numbers, detail))


@dataclass
class Calibration:
    storage_gbps: float = None
    storage_method: str = None
    storage_error: str = None
    points: list = field(default_factory=list)   # [Point] of the sweep
    best: list = field(default_factory=list)     # [Point], the re-measured best three
    seconds: float = None
    pagecache_gbps: float = None
    pagecache_method: str = None
    pagecache_error: str = None
    host_cache: HostCache = None

    @property
    def best_point(self):
        """The re-measured point with the highest median (else the sweep's fastest)."""
        pool = self.best or self.points
        if not pool:
            return None
        return max(pool, key=lambda p: _median(p.gbps_runs) if p.gbps_runs else p.gbps)

    def limit_label(self):
        """'1.39 GB/s, fio O_DIRECT bs=1M qd=32': the limit and how it was measured."""
        if self.storage_gbps is None:
            return None
        best = self.best_point
        how = best.describe() if best else self.storage_method
        return "%s GB/s%s" % (units.gbps(self.storage_gbps), ", " + how if how else "")


def _median(values):
    v = sorted(values)
    n = len(v)
    return (v[n // 2] + v[(n - 1) // 2]) / 2 if n else None


def _part(calibration, name):
    entry = calibration.get(name)
    if not isinstance(entry, dict):
        return None, None, None, entry
    gbps = _num(entry.get(GBPS))
    return (gbps if gbps and gbps > 0 else None, _text(entry.get("method")),
            _text(entry.get("error")), entry)


def parse(calibration):
    """A Calibration from calibration.json's object (None or junk: an empty one)."""
    cal = Calibration()
    if not isinstance(calibration, dict):
        return cal
    cal.storage_gbps, cal.storage_method, cal.storage_error, storage = _part(calibration,
                                                                             "storage")
    cal.pagecache_gbps, cal.pagecache_method, cal.pagecache_error, _ = _part(calibration,
                                                                             "pagecache")
    if cal.storage_gbps is None and cal.storage_error is None:
        flat = _num(calibration.get("storage_gbps"))  # not a metric: the flat copy's key
        cal.storage_gbps = flat if flat and flat > 0 else None
    if cal.pagecache_gbps is None and cal.pagecache_error is None:
        flat = _num(calibration.get("pagecache_gbps"))  # not a metric: the flat copy's key
        cal.pagecache_gbps = flat if flat and flat > 0 else None
    if isinstance(storage, dict):
        for key, out in (("points", cal.points), ("best", cal.best)):
            items = storage.get(key)
            if isinstance(items, list):
                out.extend(p for p in (Point.parse(x) for x in items) if p)
        cal.seconds = _num(storage.get("seconds"))
    hc = calibration.get("host_cache")
    if isinstance(hc, dict):
        verdict = hc.get("verdict")
        vm = hc.get("virtual_machine")
        cal.host_cache = HostCache(
            verdict=verdict if verdict in (OBSERVED, NOT_OBSERVED, UNKNOWN) else UNKNOWN,
            virtual_machine=vm if isinstance(vm, bool) else None,
            first_gbps=_num(hc.get("first_gbps")), again_gbps=_num(hc.get("again_gbps")),
            detail=_text(hc.get("detail")))
    return cal


PHASES = ("coarse", "fine", "remeasure")


def appendix(cal):
    """The calibration sweep for the report's appendix: (lines, table head, table rows);
    None when calibration.json had no storage part at all."""
    if cal.storage_gbps is None and cal.storage_error is None and not cal.points:
        return None
    lines = []
    if cal.storage_gbps is not None:
        lines.append("storage limit: %s (the median of the three re-measured best points)"
                     % cal.limit_label() if cal.best else "storage limit: %s"
                     % cal.limit_label())
    if cal.storage_error:
        lines.append("storage calibration failed: %s" % cal.storage_error)
    if cal.storage_method and cal.best_point:
        lines.append("method: %s" % cal.storage_method)
    best = cal.best_point
    if best:
        lines.append("best point: %s at %s GB/s" % (best.describe(), units.gbps(
            _median(best.gbps_runs) if best.gbps_runs else best.gbps)))
    for p in cal.best:
        lines.append("re-measured: %s: %s GB/s (runs: %s)" % (
            p.describe(), units.gbps(_median(p.gbps_runs) if p.gbps_runs else p.gbps),
            ", ".join(units.gbps(x) for x in p.gbps_runs) or "–"))
    if cal.seconds is not None:
        lines.append("the sweep took %.0f s" % cal.seconds)
    if cal.pagecache_gbps is not None:
        lines.append("page-cache copy rate: %s GB/s%s" % (
            units.gbps(cal.pagecache_gbps),
            " (%s)" % cal.pagecache_method if cal.pagecache_method else ""))
    hc = cal.host_cache
    if hc:
        lines.append("host cache: %s%s%s%s" % (
            hc.verdict.replace("_", " "),
            {True: " (virtual machine)", False: " (not a virtual machine)"}.get(
                hc.virtual_machine, ""),
            "; first read %s GB/s, again %s GB/s" % (units.gbps(hc.first_gbps),
                                                     units.gbps(hc.again_gbps))
            if hc.first_gbps is not None and hc.again_gbps is not None else "",
            "; " + hc.detail if hc.detail else ""))
    order = {p: i for i, p in enumerate(PHASES)}
    rows = [[p.phase or "?", p.engine or "?", {True: "yes", False: "no"}.get(p.direct, "?"),
             _block(p.bs) if p.bs is not None else "?",
             "%d" % p.iodepth if p.iodepth is not None else "?",
             "%d" % p.numjobs if p.numjobs is not None else "?", units.gbps(p.gbps),
             "%.1f" % p.seconds if p.seconds is not None else "–"]
            for p in sorted(cal.points, key=lambda p: (order.get(p.phase, 9), -p.gbps))]
    head = ["phase", "engine", "O_DIRECT", "bs", "iodepth", "jobs", "GB/s", "s"]
    return lines, head, rows
