"""How values are printed: milliseconds, bytes (binary units), counts, ratios."""

import math

from analysis import schema


def ms(v):
    if v is None:
        return "–"
    a = abs(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    if a == 0:
        return "0"
    return "%.3g" % v


def size(v):
    if v is None:
        return "–"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(v) >= scale * 0.995:  # 1023.9 MiB prints as 1.00 GiB
            x = v / scale
            if abs(x) >= 10:
                return ("%.0f %s" if float(x).is_integer() else "%.1f %s") % (x, unit)
            return "%.2f %s" % (x, unit)
    return "%.0f B" % v


def count(v):
    if v is None:
        return "–"
    if float(v).is_integer():
        return "{:,}".format(int(v))
    return "{:,.1f}".format(v)


def percent(fraction):
    if fraction is None:
        return "–"
    return "%.0f %%" % (fraction * 100) if fraction * 100 >= 10 else "%.1f %%" % (fraction * 100)


def gbps(v):
    return "–" if v is None else "%.2f" % v


def ratio(r):
    if r is None or math.isnan(r):
        return "–"
    if r == 0:
        return "×0"
    if r >= 100:
        return "×%.0f" % r
    if r >= 0.01:
        return "×%.2f" % r
    return "×%.1e" % r


def times(r):
    """A factor such as a read amplification: '127.5×'."""
    if r is None or math.isnan(r):
        return "–"
    return ("%.0f×" if abs(r) >= 1000 else "%.1f×") % r


def us(v):
    """Microseconds: '53 µs', '1.2 µs'."""
    return "–" if v is None else "%s µs" % ms(v)


FORMATS = {"ms": ms, "bytes": size, "count": count, "percent": percent, "rate": gbps,
           "ratio": ratio, "times": times, "us": ms}  # µs: the same digits as ms


_KIND_OF_UNIT = {"ms": "ms", "us": "us", "bytes": "bytes", "GB/s": "rate", "percent": "count",
                 "ratio": "times"}


def metric_kind(metric):
    """How a metric's values are formatted, from its unit in results/schema.json."""
    info = schema.metric_info(metric)
    return _KIND_OF_UNIT.get(info["unit"], "count") if info else "count"


def fmt_metric(metric, v):
    return FORMATS[metric_kind(metric)](v)
