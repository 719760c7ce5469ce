"""Proactive reclaim on the run's host (env.json "damon_pageout": the DAMON
pageout schemes `faultline run` found running, harness/damon.h) and what the
traced repetitions saw of it: pages of the model evicted during a load
(bpf_pagecache_evict_pages). A cold load of a cell whose pages were evicted
reads them twice; a warm cell is not fully warm."""

from . import schema

EVICTED = schema.BPF_PAGECACHE_EVICT_PAGES  # noqa: F821 (from results/schema.json)


def schemes(env):
    """The running pageout schemes (list of sentences); None when the run
    predates the check or could not tell (then unknown(env) says why)."""
    found = env.get("damon_pageout") if isinstance(env, dict) else None
    if not isinstance(found, list):
        return None
    return [s for s in found if isinstance(s, str)]


def unknown(env):
    """Why the run could not tell ("unknown: ..." in env.json), else None."""
    found = env.get("damon_pageout") if isinstance(env, dict) else None
    return found if isinstance(found, str) else None


def host_fact(env):
    found = schemes(env)
    if found is None:
        return unknown(env) or "not checked (the run predates it)"
    if not found:
        return "none found (no DAMON pageout scheme running)"
    # The sentence up to its "stop it with ..." advice.
    return "DAMON: " + "; ".join(s.split("; stop it with")[0] for s in found)


def evictions(rc):
    """(cell name, most pages of the model evicted in one traced repetition)
    for every cell whose traced repetitions saw an eviction, most first; and
    how many cells measured it at all."""
    seen, measured = [], 0
    for cell in rc.ordered_cells():
        values = cell.values(EVICTED)
        if not values:
            continue
        measured += 1
        if max(values) > 0:
            seen.append((cell.name, max(values)))
    seen.sort(key=lambda c: -c[1])
    return seen, measured


def caveat(rc):
    """The report's caveat when proactive reclaim was on, with the evidence."""
    found = schemes(rc.run.env)
    if not found:
        return None
    text = ("%s: proactive reclaim was on (%s): it may evict pages of the model during a "
            "cell, so a cold load reads them twice and a warm cell is not fully warm"
            % (rc.run.label, "; ".join(s.split("; stop it with")[0] for s in found)))
    seen, measured = evictions(rc)
    if not measured:
        return text + "; no traced repetition measured evictions, so how much it did is unknown"
    if not seen:
        return text + ("; no traced repetition of the %d cells that measured it saw a page of "
                       "the model evicted during its load" % measured)
    name, most = seen[0]
    return text + ("; traced repetitions saw pages of the model evicted during the load in %d "
                   "of %d cells (most: %d pages in `%s`; a strategy that evicts on its own, "
                   "such as a reclaim preset, counts its own too)"
                   % (len(seen), measured, most, name))
