"""The report's plots (matplotlib, Agg backend), each written as PNG and SVG:
startup latency, RSS split, faults and readahead, RSS over time, and a fault
heatmap (file offset against time) per strategy with a trace timeline."""

import os
import re
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from analysis import load_runs, schema  # noqa: E402

GIB = float(1 << 30)
MIB = float(1 << 20)
COLD, WARM = "#1f77b4", "#ff7f0e"
FAULT_KINDS = ("filemap_fault", "major_fault", "faultaround")
READAHEAD_KINDS = ("ra_sync", "ra_async", "ra_order", "ra_unbounded")

plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "svg.hashsalt": "faultline",
                     "figure.dpi": 100})


@dataclass(frozen=True)
class Plot:
    name: str     # file stem in plots/
    title: str
    caption: str
    png: str      # path of the PNG
    svg: str


def slug(text):
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "run"


def _save(fig, outdir, name):
    png = os.path.join(outdir, name + ".png")
    svg = os.path.join(outdir, name + ".svg")
    fig.savefig(png, dpi=110, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(svg, bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return png, svg


def _labels(strategies):
    """Axis labels: a program (cmd:NAME) says so."""
    return [s + " (program)" if schema.is_program(s) else s for s in strategies]


def _height(n):
    return 1.4 + 0.42 * n


def _gap_notes(rc, strategies, pattern, cache, metrics, what, with_reason_only=False):
    """'<what> plot: <metric> not measured for `s`: <reason>' for every strategy whose
    cell lacks a metric the plot draws (its bar is left out, never drawn as 0)."""
    notes = {}
    for metric in metrics:
        for s in strategies:
            cell = rc.row_cell(s, pattern, cache)
            if cell is None or not cell.ok_rows or cell.summary(metric) is not None:
                continue
            availability = cell.availability(metric)
            if with_reason_only and not availability.reasons:
                continue
            text = availability.text() or "not measured here"
            notes.setdefault((metric, text), []).append("`%s`" % s)
    return ["%s: %s plot (%s, %s): %s left out for %s: %s"
            % (rc.run.label, what, pattern, cache, metric, ", ".join(who), text)
            for (metric, text), who in notes.items()]


def _medians(rc, strategies, pattern, cache, metric):
    med, low, high = [], [], []
    for s in strategies:
        cell = rc.row_cell(s, pattern, cache)
        summary = cell.summary(metric) if cell else None
        if summary is None:
            med.append(np.nan), low.append(0), high.append(0)
        else:
            med.append(summary.median)
            low.append(summary.median - summary.min)
            high.append(summary.max - summary.median)
    return np.array(med), np.array([low, high])


def startup_plot(rc, outdir, prefix):
    strategies = rc.table_strategies  # programs too: their `program` cell
    pattern = rc.startup_pattern
    y = np.arange(len(strategies))
    fig, ax = plt.subplots(figsize=(8, _height(len(strategies))))
    any_bar = False
    for offset, cache, color in ((-0.2, "cold", COLD), (0.2, "warm", WARM)):
        med, err = _medians(rc, strategies, pattern, cache, schema.READY_MS)
        if np.all(np.isnan(med)):
            continue
        any_bar = True
        have = ~np.isnan(med)
        ax.barh((y + offset)[have], med[have], height=0.38, xerr=err[:, have], color=color,
                label=cache, error_kw={"elinewidth": 1, "capsize": 2})
    if not any_bar:
        plt.close(fig)
        return None, []
    ax.set_yticks(y, _labels(strategies))
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ready_ms (log scale): open → usable pointer; bars: median, whiskers: min–max")
    ax.set_title("Startup latency per strategy (%s, pattern %s)" % (rc.run.label, pattern))
    ax.legend(loc="best")
    ax.grid(axis="x", which="both", alpha=0.3)
    png, svg = _save(fig, outdir, prefix + "startup")
    notes = []
    for cache in ("cold", "warm"):
        notes += _gap_notes(rc, strategies, pattern, cache, [schema.READY_MS], "startup")
    return Plot(prefix + "startup", "Startup latency", "ready_ms cold and warm, median with "
                "min–max over the untraced repetitions, log scale.", png, svg), notes


def rss_plot(rc, outdir, prefix):
    strategies = rc.table_strategies  # programs too: their `program` cell
    pattern = rc.headline_pattern
    anon, _ = _medians(rc, strategies, pattern, "cold", schema.RSS_ANON_BYTES)
    file_, _ = _medians(rc, strategies, pattern, "cold", schema.RSS_FILE_BYTES)
    have = ~np.isnan(anon) & ~np.isnan(file_)  # a stack needs both parts
    if not np.any(have):
        return None, []
    anon, file_ = anon / GIB, file_ / GIB
    y = np.arange(len(strategies))
    fig, ax = plt.subplots(figsize=(8, _height(len(strategies))))
    ax.barh(y[have], anon[have], color="#d62728", label="anonymous")
    ax.barh(y[have], file_[have], left=anon[have], color="#2ca02c",
            label="file-backed (page cache)")
    ax.set_yticks(y, _labels(strategies))
    ax.invert_yaxis()
    ax.set_xlabel("GiB (median)")
    ax.set_title("RSS after the %s pass, cold (%s)" % (pattern, rc.run.label))
    ax.legend(loc="best")
    ax.grid(axis="x", alpha=0.3)
    png, svg = _save(fig, outdir, prefix + "rss")
    notes = _gap_notes(rc, strategies, pattern, "cold",
                       [schema.RSS_ANON_BYTES, schema.RSS_FILE_BYTES], "RSS")
    return Plot(prefix + "rss", "RSS after load", "RSS split into anonymous and file-backed "
                "memory after the %s pass, cold cache." % pattern, png, svg), notes


def faults_plot(rc, outdir, prefix):
    strategies = rc.table_strategies  # programs too: their `program` cell
    pattern = rc.headline_pattern
    panels = [
        ("page faults", [(schema.MAJOR_FAULTS, "major"), (schema.MINOR_FAULTS, "minor"),
                         (schema.BPF_FILEMAP_FAULTS, "file faults (trace)")]),
        ("pages", [(schema.BPF_RA_PAGES, "readahead read (pages)"),
                   (schema.BPF_RA_REQUESTED_PAGES, "readahead asked for (pages)"),
                   (schema.BPF_RA_UNUSED_PAGES, "added, never used (pages)"),
                   (schema.BPF_FAULTAROUND_PAGES, "fault-around pages")]),
    ]
    data, drawn = [], []
    for title, series in panels:
        rows = []
        for metric, label in series:
            med, _ = _medians(rc, strategies, pattern, "cold", metric)
            if not np.all(np.isnan(med)):
                rows.append((label, med))
                drawn.append(metric)
        if rows:
            data.append((title, rows))
    if not data:
        return None, []
    y = np.arange(len(strategies))
    fig, axes = plt.subplots(1, len(data), figsize=(10, _height(len(strategies))),
                             sharey=True, squeeze=False)
    for ax, (title, rows) in zip(axes[0], data):
        h = 0.8 / len(rows)
        for i, (label, values) in enumerate(rows):
            have = ~np.isnan(values)  # not measured: no bar (never a bar of 0)
            ax.barh((y - 0.4 + h * (i + 0.5))[have], values[have], height=h, label=label)
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlabel(title + " (median, symlog)")
        ax.legend(loc="lower right", fontsize=7)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(y, _labels(strategies))
    axes[0][0].invert_yaxis()
    fig.suptitle("Faults and readahead, %s pass, cold (%s)" % (pattern, rc.run.label))
    png, svg = _save(fig, outdir, prefix + "faults")
    notes = _gap_notes(rc, strategies, pattern, "cold", drawn, "faults and readahead")
    undrawn = [m for _, series in panels for m, _ in series if m not in drawn]
    notes += _gap_notes(rc, strategies, pattern, "cold", undrawn, "faults and readahead",
                        with_reason_only=True)
    return Plot(prefix + "faults", "Page faults and readahead", "Faults counted by the "
                "process (major, minor; untraced repetitions) and by the tracer (file faults; "
                "traced), readahead and fault-around pages (traced), cold cache.", png,
                svg), notes


def _first_with(rc, strategy, pattern, getter):
    cell = rc.row_cell(strategy, pattern, "cold")
    if cell is None:
        return None
    for row in sorted(cell.ok_rows, key=lambda r: (not r[schema.TRACED], r[schema.REP])):
        data = getter(rc.run, row)
        if data:
            return data
    return None


def rss_time_plot(rc, outdir, prefix):
    pattern = rc.headline_pattern
    series = []
    for s in rc.table_strategies:
        samples = _first_with(rc, s, pattern, load_runs.rss_samples)
        if samples:
            series.append((s, samples))
    if not series:
        return None, []
    fig, ax = plt.subplots(figsize=(8, 4))
    for strategy, samples in series:
        t = [x["t_s"] for x in samples]
        rss = [x["rss_bytes"] / GIB for x in samples]  # not a metric: an RSS sample field
        ax.plot(t, rss, label=strategy, lw=1.5)
    ax.set_xlabel("time since the load began (s)")
    ax.set_ylabel("RSS (GiB)")
    ax.set_title("RSS over time, %s pass, cold (%s)" % (pattern, rc.run.label))
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    png, svg = _save(fig, outdir, prefix + "rss-over-time")
    return Plot(prefix + "rss-over-time", "RSS over time", "Sampled RSS of the first "
                "traced repetition with samples, per strategy.", png, svg), []


def heatmap_plot(rc, strategy, events, outdir, prefix):
    faults = [e for e in events if e["kind"] in FAULT_KINDS and "offset" in e]
    ra = [e for e in events if e["kind"] in READAHEAD_KINDS and "offset" in e]
    if not faults and not ra:
        return None
    fig, ax = plt.subplots(figsize=(8, 4))
    if faults:
        t = np.array([e["t_ms"] for e in faults], dtype=float)
        off = np.array([e["offset"] for e in faults], dtype=float) / MIB
        w = np.array([max(1, e.get("pages", 1)) for e in faults], dtype=float)
        hist, xe, ye = np.histogram2d(t, off, bins=(120, 80), weights=w)
        mesh = ax.pcolormesh(xe, ye, hist.T, norm=LogNorm(vmin=1, vmax=max(1, hist.max())),
                             cmap="viridis", rasterized=True)
        fig.colorbar(mesh, ax=ax, label="pages faulted in (faults + fault-around)")
    if ra:
        ax.scatter([e["t_ms"] for e in ra], [e["offset"] / MIB for e in ra], s=6,
                   marker="|", color="#d62728", label="readahead window start")
        ax.legend(loc="upper left", fontsize=7)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("file offset (MiB)")
    ax.set_title("Fault heatmap: %s, %s pass, cold (%s)"
                 % (strategy, schema.PROGRAM_PATTERN if schema.is_program(strategy)
                    else rc.headline_pattern, rc.run.label))
    name = prefix + "heatmap-" + slug(strategy)
    png, svg = _save(fig, outdir, name)
    return Plot(name, "Fault heatmap: %s" % strategy, "File offset against time of the "
                "trace timeline's faults (colour: pages) and readahead windows (red).",
                png, svg)


def make_plots(all_run_cells, outdir):
    """Every plot the data allows; returns (plots, notes on the ones skipped)."""
    os.makedirs(outdir, exist_ok=True)
    plots, notes = [], []
    multi = len(all_run_cells) > 1
    for rc in all_run_cells:
        prefix = slug(rc.run.label) + "-" if multi else ""
        label = rc.run.label
        for make, what in ((startup_plot, "startup latency"), (rss_plot, "RSS after load"),
                           (faults_plot, "faults and readahead"),
                           (rss_time_plot, "RSS over time")):
            p, gaps = make(rc, outdir, prefix)
            notes += gaps
            if p:
                plots.append(p)
            else:
                notes.append("%s: no %s plot: the run has no data for it%s" % (
                    label, what, " (no RSS samples in raw/*.trace.json or raw/*.rss.json)"
                    if make is rss_time_plot else ""))
        heatmaps = 0
        for strategy in rc.table_strategies:
            events = _first_with(rc, strategy, rc.headline_pattern, load_runs.timeline_events)
            if events:
                p = heatmap_plot(rc, strategy, events, outdir, prefix)
                if p:
                    plots.append(p)
                    heatmaps += 1
        if not heatmaps:
            notes.append("%s: no fault heatmap: no trace timeline recorded in raw/ (the "
                         "tracer's per-event timeline was off)" % label)
    return plots, notes
