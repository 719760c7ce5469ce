"""Everything a report says, computed once from loaded runs; report.md and
report.html are two renderings of one Document."""

from dataclasses import dataclass, field

from analysis import (amplification, calibration, cells, explain, fidelity, programs,
                      provenance, reclaim, recommend, schema, storage_limit, tables, units)


@dataclass
class Document:
    run_cells: list
    headline: tables.Headline
    spread_warnings: list
    explanations: list
    recommendations: list
    host_rows: list           # [(label, [(key, value)...])]
    failures: list            # [(label, cell, rep, status, error)]
    caveats: list = field(default_factory=list)      # read before the numbers
    provenance: list = field(default_factory=list)   # which repetitions, tracer overhead
    amplification: list = field(default_factory=list)
    appendix: list = field(default_factory=list)     # [(label, lines, head, rows)]
    plots: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    programs: list = field(default_factory=list)     # programs.Section
    program_lines: list = field(default_factory=list)  # [(label, program, text)]
    fidelity: list = field(default_factory=list)     # fidelity.Table

    @property
    def multi(self):
        return len(self.run_cells) > 1

    @property
    def title(self):
        return "faultline report: " + ", ".join(rc.run.run_id for rc in self.run_cells)


def _get(d, path, default="unknown"):
    for key in path.split("."):
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return default if d is None else d


def host_facts(rc):
    run = rc.run
    env, plan = run.env, run.plan
    dev = _get(env, "model.block_device", {})
    device = "unknown"
    if isinstance(dev, dict) and dev:
        rot = dev.get("rotational")
        device = "%s (%s, %s, read_ahead_kb %s)" % (
            dev.get("name", "?"), dev.get("model", "?"),
            "rotational" if rot is True else "non-rotational" if rot is False else "rotational?",
            dev.get("read_ahead_kb", "?"))
    fs = _get(env, "model.filesystem", {})
    fs_text = ("%s on %s" % (fs.get("type", "?"), fs.get("mount_point", "?"))
               if isinstance(fs, dict) and fs else "unknown")
    mem = _get(env, "memory.total_bytes", None)
    untraced, traced = provenance.repetition_counts(rc)
    judgement = storage_limit.judge(rc)
    limit = "%.2f GB/s" % run.storage_gbps if run.storage_gbps else "unknown"
    if judgement.wrong:
        limit += " (beaten: not a limit on this run, see Caveats)"
    return [
        ("run", run.run_id),
        ("preset", _get(plan, "preset")),
        ("kernel", _get(env, "kernel.release")),
        ("distribution", _get(env, "distribution")),
        ("CPU", "%s × %s" % (_get(env, "cpu.count"), _get(env, "cpu.model"))),
        ("llama.cpp repacks (copy=repack)", _get(env, "cpu.llama_cpp_repack")),
        ("memory", units.size(mem) if isinstance(mem, (int, float)) else "unknown"),
        ("NUMA nodes", _get(env, "numa_nodes")),
        ("THP", _get(env, "transparent_hugepage.enabled")),
        ("proactive reclaim", reclaim.host_fact(env)),
        ("filesystem", fs_text),
        ("block device", device),
        ("storage limit", limit),
        ("page-cache copy", "%.2f GB/s" % run.pagecache_gbps if run.pagecache_gbps
         else "unknown"),
        ("model", "%s (%s)" % (_get(plan, "model", run.rows[0][schema.MODEL]),
                               units.size(run.model_bytes))),
        ("repetitions", "%s untraced + %s traced per cell" % (untraced, traced)),
        ("rows", "%d ok, %d not ok" % (len(run.ok_rows), len(run.failed_rows))),
        ("faultline", "%s (%s)" % (_get(env, "faultline.version"),
                                   str(_get(env, "faultline.git_commit"))[:12])),
    ]


def build(runs):
    run_cells = [cells.RunCells(r) for r in runs]
    headline = tables.build_headline(run_cells)
    failures = [(rc.run.label, r[schema.CELL], r[schema.REP], r[schema.STATUS], r[schema.ERROR])
                for rc in run_cells for r in rc.run.failed_rows]
    notes = list(headline.notes)
    caveats, sources, amplified, appendix = [], [], [], []
    sections, program_lines, fidelity_tables = [], [], []
    for rc in run_cells:
        sections += programs.sections(rc)
        program_lines += programs.comparisons(rc)
        notes += programs.unknown_commands(rc)
        found, fidelity_notes = fidelity.tables(rc)
        fidelity_tables += found
        notes += fidelity_notes
        skipped = rc.run.plan.get("skipped")
        if isinstance(skipped, list):
            notes += ["%s: skipped %s" % (rc.run.label, s) for s in skipped if isinstance(s, str)]
        limit = storage_limit.judge(rc).text()
        if limit:
            caveats.append(limit)
        cal = rc.run.calibration
        if cal.host_cache and cal.host_cache.caveat():
            caveats.append("%s: %s" % (rc.run.label, cal.host_cache.caveat()))
        caveats += provenance.fallback_notes(rc)
        reclaimed = reclaim.caveat(rc)
        if reclaimed:
            caveats.append(reclaimed)
        sources += provenance.lines(rc) + provenance.overhead_lines(rc)
        amplified += [("%s: " % rc.run.label if len(run_cells) > 1 else "") + t
                      for t in amplification.sentences(rc)]
        sweep = calibration.appendix(cal)
        if sweep:
            appendix.append((rc.run.label,) + sweep)
    return Document(
        caveats=caveats, provenance=sources, amplification=amplified, appendix=appendix,
        run_cells=run_cells, headline=headline,
        spread_warnings=tables.spread_warnings(run_cells),
        explanations=explain.explain(run_cells),
        recommendations=recommend.recommend(run_cells),
        host_rows=[(rc.run.label, host_facts(rc)) for rc in run_cells],
        failures=failures, notes=notes, programs=sections, program_lines=program_lines,
        fidelity=fidelity_tables)
