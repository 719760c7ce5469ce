"""Whether the calibrated storage limit is a limit on this run.

The "throughput / storage limit" column divides read_gbps (bytes read from
storage / total_ms; cold cells only) by calibration.json's storage limit. A
cold cell whose median read_gbps is over LIMIT_TOLERANCE times that limit
proves the calibration did not find what the storage can do (pattern none is
left out: read_bytes counts readahead submitted, e.g. by MADV_WILLNEED, that
may still be in flight when its clock stops); then no cell is
shown against it and the report says why instead."""

from dataclasses import dataclass, field

from analysis import schema, units

LIMIT_TOLERANCE = 1.05


@dataclass(frozen=True)
class Beaten:
    strategy: str
    pattern: str
    fraction: float  # median read_gbps / limit


@dataclass
class Judgement:
    label: str             # the run's label
    limit: float           # GB/s, None when uncalibrated
    limit_label: str       # '1.39 GB/s, fio O_DIRECT bs=1M qd=32'
    beaten: list = field(default_factory=list)  # [Beaten], fastest first
    why: str = ""

    @property
    def wrong(self):
        return bool(self.beaten)

    def text(self):
        if not self.beaten:
            return None
        top = self.beaten[0]
        more = len(self.beaten) - 1
        return ("%s: the storage limit (%s) is beaten by `%s` at %s (cold `%s`%s): the "
                "calibration did not find the storage's real limit (%s), so no cell is shown "
                "against it"
                % (self.label, self.limit_label, top.strategy, _percent(top.fraction),
                   top.pattern, "; %d more cold cell%s over %.0f %%" % (
                       more, "" if more == 1 else "s", LIMIT_TOLERANCE * 100) if more else "",
                   self.why))


def _percent(fraction):
    """159 %; 105.3 % near the tolerance, where rounding would hide the excess."""
    return "%.1f %%" % (fraction * 100) if fraction < 1.1 else units.percent(fraction)


def _read_ahead_kb(env):
    dev = env.get("model", {}).get("block_device") if isinstance(env.get("model"), dict) \
        else None
    kb = dev.get("read_ahead_kb") if isinstance(dev, dict) else None
    return kb if isinstance(kb, int) and not isinstance(kb, bool) and kb > 0 else None


def _why(run, top):
    cal = run.calibration
    hc = cal.host_cache
    if hc is not None and hc.verdict == "observed":
        numbers = ""
        if hc.first_gbps is not None and hc.again_gbps is not None:
            numbers = ": the same bytes read again at %s GB/s after %s GB/s" % (
                units.gbps(hc.again_gbps), units.gbps(hc.first_gbps))
        return "the host caches this virtual disk%s" % numbers
    if "direct" not in top.strategy:
        kb = _read_ahead_kb(run.env)
        if kb:
            window = "%d MiB" % (kb // 1024) if kb % 1024 == 0 else "%d KiB" % kb
            return "buffered readahead in %s windows is faster here" % window
        return "buffered reads with readahead are faster here"
    return "an O_DIRECT load beat the sweep's best point: the sweep missed a faster setting"


def judge(rc):
    """The Judgement of one run's storage limit against its cold cells."""
    run = rc.run
    j = Judgement(run.label, run.storage_gbps, run.calibration.limit_label())
    if not run.storage_gbps:
        return j
    for cell in rc.ordered_cells():
        if cell.cache != "cold" or cell.pattern == schema.NO_ACCESS_PATTERN:
            continue  # pattern none: readahead it started (WILLNEED) may still be in flight
        s = cell.summary(schema.READ_GBPS)
        if s is not None and s.median > LIMIT_TOLERANCE * run.storage_gbps:
            j.beaten.append(Beaten(cell.strategy, cell.pattern, s.median / run.storage_gbps))
    j.beaten.sort(key=lambda b: -b.fraction)
    if j.beaten:
        j.why = _why(run, j.beaten[0])
    return j
