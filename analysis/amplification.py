"""Read amplification: for every access pattern that touches only a fraction of
the model (first-layer, random:N, moe:k/n, a replay), how many times what it
touched each strategy read from storage, cold (read_amplification =
read_bytes / touched_bytes, untraced repetitions)."""

from analysis import schema, units

CITATION = "the read amplification Crotty, Leis and Pavlo measured for mmap (CIDR 2022)"
CITE_FROM = 2.0  # an mmap strategy reading at least this many times what it touched
PART = 0.9  # "touches part of the model": under this share of it (forward skips only the
#             file's header and metadata, so it touches a little less than all of it)


def partial_patterns(rc):
    """Patterns whose cold cells touched less than PART of the model."""
    out = []
    for pattern in rc.patterns:
        if pattern == schema.NO_ACCESS_PATTERN:
            continue
        touched = [c.summary(schema.TOUCHED_BYTES) for c in rc.cells.values()
                   if c.pattern == pattern and c.cache == "cold"]
        touched = [s.median for s in touched if s is not None]
        if touched and max(touched) < PART * rc.run.model_bytes:
            out.append((pattern, max(touched)))
    return out


def sentences(rc):
    """One sentence per partial pattern, strategies in plan order."""
    out = []
    for pattern, touched in partial_patterns(rc):
        measured, missing = [], []
        for strategy in rc.strategies:
            cell = rc.get(strategy, pattern, "cold")
            if cell is None or not cell.ok_rows:
                continue
            s = cell.summary(schema.READ_AMPLIFICATION)
            if s is None:
                missing.append("`%s` (%s)" % (strategy, cell.availability(
                    schema.READ_AMPLIFICATION).text()))
            else:
                measured.append((strategy, s.median))
        if not measured and not missing:
            continue
        text = "cold `%s` (it touches %s of %s)" % (pattern, units.size(touched),
                                                     units.size(rc.run.model_bytes))
        if measured:
            text = "cold `%s` reads %s (it touches %s of %s)" % (
                pattern, _listing(measured), units.size(touched), units.size(rc.run.model_bytes))
            mmap = [v for s, v in measured if s.startswith("mmap")]
            if mmap and max(mmap) >= CITE_FROM:
                text += ": " + CITATION
        if missing:
            text += "; read amplification not measured under %s" % ", ".join(missing)
        out.append(text)
    return out


def _listing(measured):
    """'127.5× what it touches under `a`, 1.0× under `b` and 128.0× under `c`'."""
    parts = ["%s under `%s`" % (units.times(v), s) for s, v in measured]
    parts[0] = parts[0].replace(" under", " what it touches under", 1)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
