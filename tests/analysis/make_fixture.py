"""Writes the committed schema-2 fixture run (tests/analysis/fixtures/
20261128T100000Z-fixture-quick): four strategies x {none, forward, random:2048}
x {cold, warm}, each cell 3 untraced repetitions (reps 1-3) then 1 traced one
(rep 4; load/mmap:private/forward/cold has 3 traced, reps 4-6, so its tracer
overhead shows), plus one timed-out untraced repetition of
load/mmap:private,advise=random/forward/cold (rep 4, its traced rep is 5).

Round numbers a reader can check by hand (test_tables.py has the expected
headline): untraced timing metrics vary by x1.00, x1.01, x0.99 over reps 1-3
(so the median is the base value), except the deliberately noisy cell
load/mmap:private,populate/none/cold whose ready_ms is 400, 800, 500; traced
repetitions are 5 % slower (x1.05; 1.05, 1.06, 1.04 for the three). gbps,
read_gbps and read_amplification follow from touched_bytes, read_bytes and
total_ms as results/schema.json defines them. bpf_* are in traced rows only.

Not measured, with reasons: bpf_fault_p50_us/p99 in every traced row (no
fentry/kprobe, as on the development VM); gbps, read_amplification and
touch_* of pattern none (nothing touched); pss_bytes of
load/mmap:private,populate/forward/cold rep 2 only (the rows disagree).

The schema-1 compatibility fixture (20261127T100000Z-fixture-v1) is the run
this script wrote before schema 2, kept as it was (run id renamed) with the
old calibration.json layout; nothing regenerates it.

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
RANDOM = "random:2048"
PATTERNS = ["none", "forward", RANDOM]
CACHES = ["cold", "warm"]
MULT = [1.00, 1.01, 0.99]
TRACED_MULT = [1.05, 1.06, 1.04]
NOISY = ("mmap:private,populate", "none", "cold")
NOISY_MULT = [0.8, 1.6, 1.0]
THREE_TRACED = ("mmap:private", "forward", "cold")
TIMED_OUT = ("mmap:private,advise=random", "forward", "cold")
PARTIAL = ("mmap:private,populate", "forward", "cold", 2)  # pss_bytes not measured
NO_FAULT_LATENCY = "fentry/fexit attach refused (EPERM) and no kprobes on this kernel"
NOTHING_TOUCHED = "does not apply: pattern none touches nothing"
TOUCH_OFF = "touch timing off (faultline-bench --touch-latency: evidence repetitions only)"
NO_PSS = "smaps_rollup: cannot read (Permission denied)"

# (strategy, pattern, cache) -> (ready_ms, first_pass_ms)
TIMES = {
    ("read", "none", "cold"): (1000, 0.001), ("read", "none", "warm"): (400, 0.001),
    ("read", "forward", "cold"): (1000, 20), ("read", "forward", "warm"): (400, 20),
    ("read", RANDOM, "cold"): (1000, 5), ("read", RANDOM, "warm"): (400, 5),
    ("mmap:private", "none", "cold"): (0.01, 0.001),
    ("mmap:private", "none", "warm"): (0.01, 0.001),
    ("mmap:private", "forward", "cold"): (0.01, 1500),
    ("mmap:private", "forward", "warm"): (0.01, 15),
    ("mmap:private", RANDOM, "cold"): (0.01, 1400),
    ("mmap:private", RANDOM, "warm"): (0.01, 2),
    ("mmap:private,populate", "none", "cold"): (500, 0.001),
    ("mmap:private,populate", "none", "warm"): (2, 0.001),
    ("mmap:private,populate", "forward", "cold"): (495, 15),
    ("mmap:private,populate", "forward", "warm"): (2, 15),
    ("mmap:private,populate", RANDOM, "cold"): (495, 5),
    ("mmap:private,populate", RANDOM, "warm"): (2, 2),
    ("mmap:private,advise=random", "none", "cold"): (0.012, 0.001),
    ("mmap:private,advise=random", "none", "warm"): (0.012, 0.001),
    ("mmap:private,advise=random", "forward", "cold"): (0.012, 20000),
    ("mmap:private,advise=random", "forward", "warm"): (0.012, 100),
    ("mmap:private,advise=random", RANDOM, "cold"): (0.012, 150),
    ("mmap:private,advise=random", RANDOM, "warm"): (0.012, 3),
}

# strategy -> (rss_file, rss_anon, major, minor) after the forward pass
MEMORY = {
    "read": (0, GIB + 4 * MIB, 0, 262145),
    "mmap:private": (GIB, 4 * MIB, 2048, 14000),
    "mmap:private,populate": (GIB, 4 * MIB, 4, 200),
    "mmap:private,advise=random": (GIB, 4 * MIB, 262144, 0),
}
RANDOM_MEMORY = {
    "read": MEMORY["read"], "mmap:private,populate": MEMORY["mmap:private,populate"],
    "mmap:private": (128 * MIB, 4 * MIB, 2048, 30000),
    "mmap:private,advise=random": (8 * MIB, 4 * MIB, 2048, 0),
}
# bytes read from storage, cold (warm reads nothing)
READ_BYTES = {
    ("read", "none"): GIB, ("mmap:private", "none"): 0,
    ("mmap:private,populate", "none"): GIB, ("mmap:private,advise=random", "none"): 0,
    ("read", RANDOM): GIB, ("mmap:private", RANDOM): 1020 * MIB,
    ("mmap:private,populate", RANDOM): GIB, ("mmap:private,advise=random", RANDOM): 8 * MIB,
}
TOUCHED = {"none": 0, "forward": GIB, RANDOM: 2048 * 4096}
# strategy -> (touch_p50_us, touch_p99_us) cold, forward / random:2048
TOUCH = {
    "read": ((0.02, 0.1), (0.02, 0.1)), "mmap:private": ((0.9, 1800), (600, 2400)),
    "mmap:private,populate": ((0.05, 0.3), (0.05, 0.3)),
    "mmap:private,advise=random": ((70, 210), (70, 230)),
}

# strategy -> trace counters of a cold forward cell
TRACE = {
    "read": dict(bpf_filemap_faults=0, bpf_faultaround_pages=0, bpf_ra_sync=1,
                 bpf_ra_async=128, bpf_ra_requested_pages=264192, bpf_ra_pages=262144,
                 bpf_ra_unused_pages=0, bpf_user_faults=769, bpf_bio_requests=1024,
                 bpf_bio_p50_us=3600, bpf_bio_p99_us=8300),
    "mmap:private": dict(bpf_filemap_faults=2048, bpf_faultaround_pages=245760,
                         bpf_ra_sync=2048, bpf_ra_async=0, bpf_ra_requested_pages=267264,
                         bpf_ra_pages=262144, bpf_ra_unused_pages=5505, bpf_user_faults=16048,
                         bpf_bio_requests=2048, bpf_bio_p50_us=6200, bpf_bio_p99_us=12000),
    "mmap:private,populate": dict(bpf_filemap_faults=0, bpf_faultaround_pages=0,
                                  bpf_ra_sync=128, bpf_ra_async=0,
                                  bpf_ra_requested_pages=262144, bpf_ra_pages=262144,
                                  bpf_ra_unused_pages=0, bpf_user_faults=204,
                                  bpf_bio_requests=1024, bpf_bio_p50_us=6100,
                                  bpf_bio_p99_us=12000),
    "mmap:private,advise=random": dict(bpf_filemap_faults=262144, bpf_faultaround_pages=0,
                                       bpf_ra_sync=0, bpf_ra_async=0,
                                       bpf_ra_requested_pages=0, bpf_ra_pages=0,
                                       bpf_ra_unused_pages=0, bpf_user_faults=262144,
                                       bpf_bio_requests=262144, bpf_bio_p50_us=53,
                                       bpf_bio_p99_us=190),
}
RANDOM_TRACE = {
    "mmap:private": dict(bpf_filemap_faults=2048, bpf_faultaround_pages=30720,
                         bpf_ra_sync=2048, bpf_ra_async=0, bpf_ra_requested_pages=262144,
                         bpf_ra_pages=261120, bpf_ra_unused_pages=259072, bpf_user_faults=4096,
                         bpf_bio_requests=2048, bpf_bio_p50_us=580, bpf_bio_p99_us=2300),
    "mmap:private,advise=random": dict(bpf_filemap_faults=2048, bpf_faultaround_pages=0,
                                       bpf_ra_sync=0, bpf_ra_async=0,
                                       bpf_ra_requested_pages=0, bpf_ra_pages=0,
                                       bpf_ra_unused_pages=0, bpf_user_faults=2048,
                                       bpf_bio_requests=2048, bpf_bio_p50_us=53,
                                       bpf_bio_p99_us=180),
}
UNTRACED_PROBES = ["clock:monotonic", "/proc/self/status", "clear_refs:VmHWM",
                   "/proc/self/smaps_rollup", "getrusage", "/proc/self/io", "cachestat",
                   "perf:task-clock", "touch_timer"]
TRACED_PROBES = UNTRACED_PROBES + [
    "tp_btf/page_fault_user", "tp_btf/mm_filemap_fault", "tp_btf/mm_filemap_map_pages",
    "tp_btf/page_cache_sync_ra", "tp_btf/page_cache_async_ra",
    "tp_btf/mm_filemap_add_to_page_cache", "tp_btf/mm_filemap_delete_from_page_cache",
    "tp_btf/block_io_start", "tp_btf/block_rq_issue", "tp_btf/block_rq_complete"]


def trace_for(strategy, pattern, cache):
    trace = dict(RANDOM_TRACE.get(strategy, TRACE[strategy]) if pattern == RANDOM
                 else TRACE[strategy])
    if pattern == "none" and strategy in ("mmap:private", "mmap:private,advise=random"):
        trace = {k: 0 for k in trace}
    if cache == "warm":
        trace = {k: (v if k in ("bpf_user_faults", "bpf_filemap_faults",
                                "bpf_faultaround_pages") else 0) for k, v in trace.items()}
    read = read_bytes(strategy, pattern, cache)
    trace.update(bpf_pagecache_add_pages=read // 4096,
                 bpf_pagecache_evict_pages=PAGES if cache == "cold" else 0,
                 bpf_bio_bytes=read, bpf_dropped=0)
    return trace


def read_bytes(strategy, pattern, cache):
    if cache == "warm":
        return 0
    return GIB if pattern == "forward" else READ_BYTES[(strategy, pattern)]


def metrics_for(strategy, pattern, cache, mult, ready_mult, traced):
    """(metrics, not_measured) of one repetition."""
    ready, first = TIMES[(strategy, pattern, cache)]
    file_b, anon_b, major, minor = (RANDOM_MEMORY if pattern == RANDOM else MEMORY)[strategy]
    if pattern == "none" and strategy != "read":
        file_b = GIB if strategy == "mmap:private,populate" else 0
        major, minor = (4, 200) if file_b else (0, 10)
    if cache == "warm":
        major = 0
    total = ready * ready_mult + first * mult
    touched = TOUCHED[pattern]
    read = read_bytes(strategy, pattern, cache)
    out = {
        "ready_ms": ready * ready_mult, "first_pass_ms": first * mult, "total_ms": total,
        "touched_bytes": touched, "read_gbps": read / total / 1e6,
        "rss_bytes": file_b + anon_b, "rss_file_bytes": file_b, "rss_anon_bytes": anon_b,
        "peak_rss_bytes": file_b + anon_b, "pss_bytes": file_b + anon_b,
        "major_faults": major, "minor_faults": minor, "read_bytes": read,
        "resident_pct": 0.0 if cache == "cold" else 100.0,
        "task_clock_ms": (ready + first) * 0.5 * mult,
    }
    missing = {}
    if pattern == "none":
        for m in ("gbps", "read_amplification", "touch_p50_us", "touch_p99_us"):
            missing[m] = NOTHING_TOUCHED
    else:
        out.update(gbps=touched / total / 1e6, read_amplification=read / touched)
        if not traced:  # the first-touch timer runs in the evidence repetitions only
            missing["touch_p50_us"] = missing["touch_p99_us"] = TOUCH_OFF
        else:
            p50, p99 = TOUCH[strategy][pattern == RANDOM]
            if cache == "warm":
                p50, p99 = min(p50, 0.2), min(p99, 1.0)
            touch_mult = mult / TRACED_MULT[0]  # the first traced repetition gives the base value
            out.update(touch_p50_us=p50 * touch_mult, touch_p99_us=p99 * touch_mult)
    if traced:
        out.update(trace_for(strategy, pattern, cache))
        missing["bpf_fault_p50_us"] = missing["bpf_fault_p99_us"] = NO_FAULT_LATENCY
    return out, missing


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


def rss(total_ms):
    return [{"t_s": i / 10 * total_ms / 1000, "rss_bytes": int(i / 10 * GIB) + 4 * MIB,
             "rss_anon_bytes": 4 * MIB, "rss_file_bytes": int(i / 10 * GIB)}
            for i in range(11)]


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")


def point(phase, bs, iodepth, gbps, runs=None):
    p = {"engine": "libaio", "direct": True, "bs": bs, "iodepth": iodepth, "numjobs": 1,
         "phase": phase, "gbps": gbps, "seconds": 1.5}
    if runs:
        p["gbps_runs"] = runs
    return p


def calibration():
    coarse = [point("coarse", bs, qd, g) for bs, qd, g in (
        ("128K", 1, 0.41), ("128K", 32, 1.62), ("1M", 1, 0.95), ("1M", 32, 2.12),
        ("4M", 8, 2.05), ("4M", 32, 2.16))]
    fine = [point("fine", bs, qd, g) for bs, qd, g in (
        ("1M", 16, 2.09), ("1M", 64, 2.17), ("2M", 32, 2.18), ("4M", 64, 2.15))]
    best = [point("remeasure", "2M", 32, 2.2, [2.19, 2.2, 2.22]),
            point("remeasure", "1M", 64, 2.2, [2.18, 2.2, 2.21]),
            point("remeasure", "4M", 32, 2.19, [2.17, 2.19, 2.2])]
    return {
        "storage": {"gbps": 2.2, "method": "fio sweep on the model's file (O_DIRECT, libaio): "
                    "coarse, fine around the best, best three re-measured; the limit is the "
                    "median of those three", "points": coarse + fine + best, "best": best,
                    "seconds": 31.5},
        "pagecache": {"gbps": 4.0, "method": "faultline-bench load/read/none/warm"},
        "host_cache": {"verdict": "not_observed", "virtual_machine": True, "first_gbps": 2.1,
                       "again_gbps": 2.15, "detail": "the first 256 MiB read twice with "
                       "O_DIRECT, the guest's cache dropped in between"},
        "storage_gbps": 2.2, "pagecache_gbps": 4.0,
    }


def env():
    return {
        "env_version": 1, "host": "fixture",
        "kernel": {"release": "6.18.0-fixture", "machine": "x86_64", "version": "#1"},
        "distribution": "Debian GNU/Linux 12 (bookworm)",
        "cpu": {"model": "Fixture CPU", "count": 2},
        "memory": {"total_bytes": 8 * GIB, "swap_bytes": 0}, "numa_nodes": 1,
        "transparent_hugepage": {"enabled": "madvise", "defrag": "madvise",
                                 "shmem_enabled": "never"},
        "model": {"path": "/models/fixture-1G.gguf", "bytes": GIB,
                  "filesystem": {"type": "ext4", "mount_point": "/", "options": "rw,relatime",
                                 "source": "/dev/vda"},
                  "block_device": {"name": "vda", "model": "fixture disk", "rotational": False,
                                   "scheduler": "none", "read_ahead_kb": 8192,
                                   "logical_block_size": 512}},
        "tracing": "available",
        "faultline": {"version": "0.2.0", "git_commit": "0" * 40},
    }


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "raw"))
    write_json(os.path.join(OUT, "env.json"), env())
    write_json(os.path.join(OUT, "calibration.json"), calibration())
    cells = [(s, p, c) for s in STRATEGIES for p in PATTERNS for c in CACHES]
    write_json(os.path.join(OUT, "plan.json"), {
        "plan_version": 1, "preset": "quick", "model": "/models/fixture-1G.gguf",
        "model_bytes": GIB, "default_model_bytes": GIB, "strategies": STRATEGIES,
        "patterns": PATTERNS, "caches": CACHES, "skipped": [], "reps": 3, "traced_reps": 1,
        "memory_limit_bytes": None, "processes": 1, "drop_caches": False, "trace": True,
        "seed": 42, "cell_timeout_s": 1800.0, "cells": len(cells) * 4 + 2,
    })
    rows, n = [], 0
    for rep in (1, 2, 3):
        for cell in cells:
            n += 1
            ready_mult = NOISY_MULT[rep - 1] if cell == NOISY else MULT[rep - 1]
            m, missing = metrics_for(*cell, MULT[rep - 1], ready_mult, traced=False)
            if cell + (rep,) == PARTIAL:
                missing["pss_bytes"] = NO_PSS
                del m["pss_bytes"]
            rows.append(row(*cell, rep, False, "ok", None, m, missing, [], n))
    n += 1
    rows.append(row(*TIMED_OUT, 4, False, "timeout", "timed out after 1800 s", {}, {}, [], n))
    for cell in cells:
        first = 5 if cell == TIMED_OUT else 4
        for i in range(3 if cell == THREE_TRACED else 1):
            n += 1
            rep = first + i
            m, missing = metrics_for(*cell, TRACED_MULT[i], TRACED_MULT[i], traced=True)
            raw = []
            s, p, c = cell
            if p == "forward" and c == "cold" and i == 0 and s in (
                    "mmap:private", "mmap:private,advise=random"):
                raw.append("raw/%s.trace.json" % stem(n, cell, rep))
                write_json(os.path.join(OUT, raw[-1]), {
                    "metrics": {k: v for k, v in m.items() if k.startswith("bpf_")},
                    "timeline": timeline(s),
                    "rss": {"peak_bytes": m["peak_rss_bytes"], "samples": rss(m["total_ms"])}})
            rows.append(row(*cell, rep, True, "ok", None, m, missing, raw, n))
    with open(os.path.join(OUT, "runs.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, sort_keys=True) + "\n")


def stem(n, cell, rep):
    s, p, c = cell
    safe = lambda x: x.replace(":", "_").replace(",", "_").replace("=", "_")
    return "%04d-%s-%s-%s-rep%d" % (n, safe(s), safe(p), c, rep)


def row(s, p, c, rep, traced, status, error, metrics, not_measured, raw, n):
    ok = status == "ok"
    return {
        "schema_version": 2, "run_id": RUN_ID, "cell": "load/%s/%s/%s" % (s, p, c),
        "strategy": s, "pattern": p, "cache": c, "rep": rep, "traced": traced,
        "status": status, "error": error,
        "started_at": "2026-11-28T1%d:%02d:%02dZ" % (n // 3600, n // 60 % 60, n % 60),
        "wall_s": 2.5, "model": "/models/fixture-1G.gguf", "model_bytes": GIB,
        "processes": 1, "memory_limit_bytes": None, "exit_code": 0 if ok else None,
        "term_signal": None if ok else 9, "metrics": metrics, "not_measured": not_measured,
        "probes": (TRACED_PROBES if traced else UNTRACED_PROBES) if ok else [],
        "fleet": [], "warnings": [], "raw": raw,
    }


if __name__ == "__main__":
    main()
