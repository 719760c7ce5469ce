"""Writes the committed fixture run (tests/analysis/fixtures/): four strategies x
{none, forward} x {cold, warm} x 3 reps, plus one timed-out repetition, with
round numbers a reader can check by hand (see test_tables.py for the expected
headline). Timing metrics vary by x1.00, x1.01, x0.99 over reps 1-3 (so the
median is the base value, min/max are 0.99x/1.01x), except the deliberately
noisy cell load/mmap:private,populate/none/cold whose ready_ms is 400, 800, 500.

Regenerate: /usr/bin/python3 tests/analysis/make_fixture.py
"""

import json
import os
import shutil

RUN_ID = "20261128T100000Z-fixture-quick"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", RUN_ID)
GIB = 1 << 30
MIB = 1 << 20
PAGES = GIB // 4096
STRATEGIES = ["read", "mmap:private", "mmap:private,populate", "mmap:private,advise=random"]
PATTERNS = ["none", "forward"]
CACHES = ["cold", "warm"]
MULT = [1.00, 1.01, 0.99]
NOISY = ("mmap:private,populate", "none", "cold")
NOISY_MULT = [0.8, 1.6, 1.0]

# (strategy, pattern, cache) -> (ready_ms, first_pass_ms, gbps)
TIMES = {
    ("read", "none", "cold"): (1000, 0.001, 1.0),
    ("read", "none", "warm"): (400, 0.001, 2.5),
    ("read", "forward", "cold"): (1000, 20, 1.0),
    ("read", "forward", "warm"): (400, 20, 2.5),
    ("mmap:private", "none", "cold"): (0.01, 0.001, 100.0),
    ("mmap:private", "none", "warm"): (0.01, 0.001, 100.0),
    ("mmap:private", "forward", "cold"): (0.01, 1500, 0.7),
    ("mmap:private", "forward", "warm"): (0.01, 15, 70.0),
    ("mmap:private,populate", "none", "cold"): (500, 0.001, 2.1),
    ("mmap:private,populate", "none", "warm"): (2, 0.001, 500.0),
    ("mmap:private,populate", "forward", "cold"): (495, 15, 2.0),
    ("mmap:private,populate", "forward", "warm"): (2, 15, 60.0),
    ("mmap:private,advise=random", "none", "cold"): (0.012, 0.001, 90.0),
    ("mmap:private,advise=random", "none", "warm"): (0.012, 0.001, 90.0),
    ("mmap:private,advise=random", "forward", "cold"): (0.012, 20000, 0.05),
    ("mmap:private,advise=random", "forward", "warm"): (0.012, 100, 10.0),
}

# strategy -> (rss_file, rss_anon, major, minor) after the forward pass
MEMORY = {
    "read": (0, GIB + 4 * MIB, 0, 262145),
    "mmap:private": (GIB, 4 * MIB, 2048, 14000),
    "mmap:private,populate": (GIB, 4 * MIB, 4, 200),
    "mmap:private,advise=random": (GIB, 4 * MIB, 262144, 0),
}

# strategy -> trace counters of a cold forward cell
TRACE = {
    "read": dict(bpf_filemap_faults=0, bpf_faultaround_pages=0, bpf_ra_sync=1,
                 bpf_ra_async=128, bpf_ra_pages=264192, bpf_user_faults=769),
    "mmap:private": dict(bpf_filemap_faults=2048, bpf_faultaround_pages=245760,
                         bpf_ra_sync=2048, bpf_ra_async=0, bpf_ra_pages=262144,
                         bpf_user_faults=16048),
    "mmap:private,populate": dict(bpf_filemap_faults=0, bpf_faultaround_pages=0,
                                  bpf_ra_sync=128, bpf_ra_async=0, bpf_ra_pages=262144,
                                  bpf_user_faults=204),
    "mmap:private,advise=random": dict(bpf_filemap_faults=262144, bpf_faultaround_pages=0,
                                       bpf_ra_sync=0, bpf_ra_async=0, bpf_ra_pages=0,
                                       bpf_user_faults=262144),
}


def metrics_for(strategy, pattern, cache, rep):
    ready, first, gbps = TIMES[(strategy, pattern, cache)]
    m = MULT[rep - 1]
    ready_m = NOISY_MULT[rep - 1] if (strategy, pattern, cache) == NOISY else m
    file_b, anon_b, major, minor = MEMORY[strategy]
    if pattern == "none" and strategy != "read":
        file_b = GIB if strategy == "mmap:private,populate" else 0
        major, minor = (4, 200) if file_b else (0, 10)
    if cache == "warm":
        major = 0
    trace = dict(TRACE[strategy])
    if pattern == "none" and strategy in ("mmap:private", "mmap:private,advise=random"):
        trace = {k: 0 for k in trace}
    if cache == "warm":
        trace = {k: (v if k in ("bpf_user_faults", "bpf_filemap_faults",
                                "bpf_faultaround_pages") else 0) for k, v in trace.items()}
    cold_io = cache == "cold" and any(trace.values()) or (cache == "cold" and strategy == "read")
    out = {
        "ready_ms": ready * ready_m,
        "first_pass_ms": first * m,
        "total_ms": ready * ready_m + first * m,
        "gbps": gbps / m,
        "rss_bytes": file_b + anon_b,
        "rss_file_bytes": file_b,
        "rss_anon_bytes": anon_b,
        "peak_rss_bytes": file_b + anon_b,
        "pss_bytes": file_b + anon_b,
        "major_faults": major,
        "minor_faults": minor,
        "read_bytes": GIB if cold_io else 0,
        "resident_pct": 0.0 if cache == "cold" else 100.0,
        "task_clock_ms": (ready + first) * 0.5 * m,
        "bpf_pagecache_add_pages": PAGES if cold_io else 0,
        "bpf_pagecache_evict_pages": PAGES if cache == "cold" else 0,
        "bpf_bio_bytes": GIB if cold_io else 0,
        "bpf_dropped": 0,
    }
    out.update(trace)
    return out


def timeline(strategy):
    """A small synthetic per-event timeline (faultline trace --json layout)."""
    events = []
    if strategy == "mmap:private":
        for i in range(64):  # one 2 MiB readahead window then fault-around, file order
            t = i * 23.4
            events.append({"t_ms": t, "tgid": 100, "kind": "ra_sync", "ino": 12,
                           "offset": i * 16 * MIB, "pages": 512})
            events.append({"t_ms": t + 0.2, "tgid": 100, "kind": "filemap_fault", "ino": 12,
                           "offset": i * 16 * MIB, "pages": 1})
            events.append({"t_ms": t + 0.3, "tgid": 100, "kind": "faultaround", "ino": 12,
                           "offset": i * 16 * MIB + 4096, "pages": 15})
    else:  # advise=random: one fault per page, no readahead
        for i in range(256):
            events.append({"t_ms": i * 78.1, "tgid": 100, "kind": "filemap_fault", "ino": 12,
                           "offset": i * 4 * MIB, "pages": 1, "value": 70000})
    return events


def rss(strategy, total_ms):
    samples = []
    for i in range(11):
        f = i / 10
        samples.append({"t_s": f * total_ms / 1000, "rss_bytes": int(f * GIB) + 4 * MIB,
                        "rss_anon_bytes": 4 * MIB, "rss_file_bytes": int(f * GIB)})
    return samples


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "raw"))
    write_json(os.path.join(OUT, "env.json"), {
        "env_version": 1, "host": "fixture",
        "kernel": {"release": "6.1.0-fixture", "machine": "x86_64", "version": "#1"},
        "distribution": "Debian GNU/Linux 12 (bookworm)",
        "cpu": {"model": "Fixture CPU", "count": 2},
        "memory": {"total_bytes": 8 * GIB, "swap_bytes": 0}, "numa_nodes": 1,
        "transparent_hugepage": {"enabled": "madvise", "defrag": "madvise",
                                 "shmem_enabled": "never"},
        "model": {"path": "/models/fixture-1G.gguf", "bytes": GIB,
                  "filesystem": {"type": "ext4", "mount_point": "/", "options": "rw,relatime",
                                 "source": "/dev/vda"},
                  "block_device": {"name": "vda", "model": "fixture disk", "rotational": False,
                                   "scheduler": "none", "read_ahead_kb": 128,
                                   "logical_block_size": 512}},
        "tracing": "available",
        "faultline": {"version": "0.1.0", "git_commit": "0" * 40},
    })
    write_json(os.path.join(OUT, "calibration.json"), {
        "storage": {"gbps": 2.0, "method": "fixture"},
        "pagecache": {"gbps": 4.0, "method": "fixture"},
    })
    cells = [(s, p, c) for s in STRATEGIES for p in PATTERNS for c in CACHES]
    write_json(os.path.join(OUT, "plan.json"), {
        "plan_version": 1, "preset": "quick", "model": "/models/fixture-1G.gguf",
        "model_bytes": GIB, "default_model_bytes": GIB, "strategies": STRATEGIES,
        "patterns": PATTERNS, "caches": CACHES, "skipped": [], "reps": 3,
        "memory_limit_bytes": None, "processes": 1, "drop_caches": False, "trace": True,
        "seed": 42, "cell_timeout_s": 1800.0, "cells": len(cells) * 3,
    })
    rows = []
    n = 0
    for rep in (1, 2, 3):
        for s, p, c in cells:
            n += 1
            stem = "%04d-%s-%s-%s-rep%d" % (n, s.replace(":", "_").replace(",", "_")
                                            .replace("=", "_"), p, c, rep)
            m = metrics_for(s, p, c, rep)
            raw = []
            if p == "forward" and c == "cold" and rep == 1 and s in (
                    "mmap:private", "mmap:private,advise=random"):
                raw.append("raw/%s.trace.json" % stem)
                write_json(os.path.join(OUT, raw[-1]), {
                    "metrics": {k: v for k, v in m.items() if k.startswith("bpf_")},
                    "timeline": timeline(s),
                    "rss": {"peak_bytes": m["peak_rss_bytes"],
                            "samples": rss(s, m["total_ms"])}})
            rows.append(row(s, p, c, rep, "ok", None, m, raw, n))
    n += 1
    rows.append(row("mmap:private,advise=random", "forward", "cold", 4, "timeout",
                    "timed out after 1800 s", {}, [], n))
    with open(os.path.join(OUT, "runs.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, sort_keys=True) + "\n")


def row(s, p, c, rep, status, error, metrics, raw, n):
    return {
        "schema_version": 1, "run_id": RUN_ID, "cell": "load/%s/%s/%s" % (s, p, c),
        "strategy": s, "pattern": p, "cache": c, "rep": rep, "status": status,
        "error": error, "started_at": "2026-11-28T10:%02d:%02dZ" % (n // 60, n % 60),
        "wall_s": 2.5, "model": "/models/fixture-1G.gguf", "model_bytes": GIB,
        "processes": 1, "memory_limit_bytes": None, "exit_code": 0 if status == "ok" else None,
        "term_signal": None if status == "ok" else 9, "trace": "on", "metrics": metrics,
        "fleet": [], "warnings": [], "raw": raw,
    }


if __name__ == "__main__":
    main()
