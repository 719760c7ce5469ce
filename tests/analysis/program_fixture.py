"""A copy of the schema-2 fixture run with program cells (issue 10), built in a
temporary folder by the tests that need it (nothing committed):

- `cmd:llama.cpp:no-mmap` (pattern `program`, cold and warm; named like the
  preset, so the naming rule pairs it with `llama.cpp:no-mmap`) and its
  `--command-baseline` rows (pattern `baseline`, a 16 MiB model);
- `cmd:llama-node` (plan.json "fidelity" pairs it with `mmap:private,populate`);
- the preset `llama.cpp:no-mmap` (patterns none, cold and warm) and a replay of
  the recording under `read` (pattern `replay:/data/llama.replay`, cold).

Every cell: 3 untraced repetitions (x1.00, x1.01, x0.99 of the values below,
so the median is the value) and 1 traced one carrying the bpf_* counters.
Hand-checkable fidelity, cold, program vs preset (replay):
  ready_ms 1000 vs 950 (0.95, faithful);
  readahead windows 25+33=58 vs 1+32=33 (0.57, differs);
  bpf_ra_pages 92000 vs 67600 (0.73, differs), replay 90000 (0.98, faithful);
  the replay's total_ms 1010 against the program's ready_ms (1.01, faithful);
  bpf_bio_bytes measured for the program, not for the preset (its reason: BIO_OFF);
  rss_anon_bytes 300 MiB vs 0.
Baseline (cold): ready_ms 200, rss_anon_bytes 50 MiB, rss_file_bytes 10 MiB."""

import json
import os

import support

MIB = 1 << 20
GIB = 1 << 30
PRESET = "llama.cpp:no-mmap"
PROGRAM = "cmd:" + PRESET
NODE = "cmd:llama-node"
REPLAY = "replay:/data/llama.replay"
BIO_OFF = "tp_btf/block_io_start: not attached here"
MULT = [1.00, 1.01, 0.99]

# (strategy, pattern, cache) -> (untraced metrics, traced-only counters)
CELLS = {
    (PROGRAM, "program", "cold"): (
        dict(ready_ms=1000.0, rss_bytes=620 * MIB, rss_file_bytes=320 * MIB,
             rss_anon_bytes=300 * MIB, rss_model_bytes=310 * MIB, pss_bytes=600 * MIB,
             peak_rss_bytes=650 * MIB, major_faults=40, minor_faults=90000,
             read_bytes=1410 * MIB, cgroup_peak_bytes=1900 * MIB),
        dict(bpf_ra_sync=25, bpf_ra_async=33, bpf_ra_pages=92000,
             bpf_bio_bytes=1410 * MIB)),
    (PROGRAM, "program", "warm"): (
        dict(ready_ms=400.0, rss_bytes=620 * MIB, rss_file_bytes=320 * MIB,
             rss_anon_bytes=300 * MIB, rss_model_bytes=310 * MIB, pss_bytes=600 * MIB,
             peak_rss_bytes=650 * MIB, major_faults=0, minor_faults=90000, read_bytes=0),
        dict(bpf_ra_sync=0, bpf_ra_async=0, bpf_ra_pages=0, bpf_bio_bytes=0)),
    (PROGRAM, "baseline", "cold"): (
        dict(ready_ms=200.0, rss_bytes=60 * MIB, rss_file_bytes=10 * MIB,
             rss_anon_bytes=50 * MIB, rss_model_bytes=16 * MIB, pss_bytes=55 * MIB,
             peak_rss_bytes=62 * MIB, major_faults=30, minor_faults=12000,
             read_bytes=40 * MIB),
        dict(bpf_ra_sync=1, bpf_ra_async=2, bpf_ra_pages=4096, bpf_bio_bytes=16 * MIB)),
    (PROGRAM, "baseline", "warm"): (
        dict(ready_ms=150.0, rss_bytes=60 * MIB, rss_file_bytes=10 * MIB,
             rss_anon_bytes=50 * MIB, rss_model_bytes=16 * MIB, pss_bytes=55 * MIB,
             peak_rss_bytes=62 * MIB, major_faults=0, minor_faults=12000, read_bytes=0),
        dict(bpf_ra_sync=0, bpf_ra_async=0, bpf_ra_pages=0, bpf_bio_bytes=0)),
    (NODE, "program", "cold"): (
        dict(ready_ms=700.0, rss_bytes=1100 * MIB, rss_file_bytes=GIB,
             rss_anon_bytes=70 * MIB, rss_model_bytes=GIB, pss_bytes=1100 * MIB,
             peak_rss_bytes=1100 * MIB, major_faults=10, minor_faults=300,
             read_bytes=GIB),
        dict(bpf_ra_sync=128, bpf_ra_async=0, bpf_ra_pages=262144, bpf_bio_bytes=GIB)),
    (PRESET, "none", "cold"): (
        dict(ready_ms=950.0, total_ms=950.0, first_pass_ms=0.001, rss_bytes=GIB,
             rss_file_bytes=320 * MIB, rss_anon_bytes=0, pss_bytes=GIB,
             peak_rss_bytes=GIB, major_faults=40, minor_faults=90000, read_bytes=GIB),
        dict(bpf_ra_sync=1, bpf_ra_async=32, bpf_ra_pages=67600)),
    (PRESET, "none", "warm"): (
        dict(ready_ms=390.0, total_ms=390.0, first_pass_ms=0.001, rss_bytes=GIB,
             rss_file_bytes=320 * MIB, rss_anon_bytes=0, pss_bytes=GIB,
             peak_rss_bytes=GIB, major_faults=0, minor_faults=90000, read_bytes=0),
        dict(bpf_ra_sync=0, bpf_ra_async=0, bpf_ra_pages=0)),
    ("read", REPLAY, "cold"): (
        dict(ready_ms=10.0, total_ms=1010.0, first_pass_ms=1000.0, rss_bytes=GIB,
             rss_file_bytes=300 * MIB, rss_anon_bytes=GIB, pss_bytes=GIB,
             peak_rss_bytes=GIB, major_faults=0, minor_faults=262145,
             read_bytes=1400 * MIB, touched_bytes=GIB),
        dict(bpf_ra_sync=24, bpf_ra_async=34, bpf_ra_pages=90000,
             bpf_bio_bytes=1400 * MIB)),
}


def _row(template, run_id, key, rep, traced, metrics, counters):
    strategy, pattern, cache = key
    m = 1.05 if traced else MULT[rep - 1]
    values = {k: (v * m if k.endswith("_ms") else round(v * m)) for k, v in metrics.items()}
    not_measured = {}
    if traced:
        values.update(counters)
        if "bpf_bio_bytes" not in counters:
            not_measured["bpf_bio_bytes"] = BIO_OFF
    row = dict(template, run_id=run_id, strategy=strategy, pattern=pattern, cache=cache,
               cell="load/%s/%s/%s" % key, rep=rep, traced=traced, metrics=values,
               not_measured=not_measured, raw=[], warnings=[])
    if pattern == "baseline":
        row.update(model="/tmp/faultline-baseline-16M.gguf", model_bytes=16 * MIB)
    return row


def build(tmp, fidelity=None, cells=None, name=None):
    """The fixture with program rows in tmp; fidelity: plan.json's "fidelity" (None:
    the NODE pairing; False: no such key); cells: the CELLS keys to write (default all)."""
    run = support.copy_fixture(tmp.path, name)
    rows = support.read_rows(run)
    template = rows[0]
    for key in (cells if cells is not None else CELLS):
        metrics, counters = CELLS[key]
        for rep in (1, 2, 3, 4):
            rows.append(_row(template, template["run_id"], key, rep, rep == 4, metrics,
                             counters))
    support.write_rows(run, rows)
    plan = support.read_json(run, "plan.json")
    plan["strategies"].append(PRESET)
    plan["patterns"].append(REPLAY)
    plan["commands"] = [
        {"name": PRESET, "argv": ["node", "load.mjs", "--no-mmap", "/models/fixture-1G.gguf"],
         "ready": "^ready$", "baseline": {"argv": ["node", "load.mjs", "--no-mmap",
                                                   "/tmp/faultline-baseline-16M.gguf"],
                                          "model": "/tmp/faultline-baseline-16M.gguf"}},
        {"name": "llama-node", "argv": ["node", "load.mjs", "/models/fixture-1G.gguf"],
         "ready": None, "baseline": None}]
    if fidelity is None:
        plan["fidelity"] = {NODE: "mmap:private,populate"}
    elif fidelity is not False:
        plan["fidelity"] = fidelity
    support.write_json(run, "plan.json", plan)
    return run


def load(run_dir):
    from analysis import cells, load_runs
    return cells.RunCells(load_runs.load_run(run_dir))


def results_json(run_dir):
    with open(os.path.join(run_dir, "results.json"), encoding="utf-8") as f:
        return json.load(f)
