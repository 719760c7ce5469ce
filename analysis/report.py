"""faultline report: report.md, report.html, plots/, results.csv and results.json from one or
more results folders (several hosts: one table, host as a column).

    /usr/bin/python3 -m analysis.report DIR [DIR...] [--out OUTDIR] [--quiet]

With one DIR the report is written into it; with several, --out names the
folder (default: report-<first run id>+N next to the first DIR)."""

import argparse
import os
import sys

from analysis import cli

PROG = "faultline report"
FILES = ("report.md", "report.html", "results.csv", "results.json", "plots")
MAX_PRINTED_WARNINGS = 8


def parse_args(argv):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("dirs", nargs="+", metavar="DIR", help="results folder(s) of faultline run")
    p.add_argument("--out", metavar="OUTDIR",
                   help="where to write the report (default: the run folder itself)")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    return p.parse_args(argv)


def default_outdir(dirs, runs):
    if len(dirs) == 1:
        return dirs[0]
    parent = os.path.dirname(os.path.normpath(dirs[0])) or "."
    return os.path.join(parent, "report-%s+%d" % (runs[0].run_id, len(runs) - 1))


def write_report(runs, outdir):
    """Writes every report file into outdir at once; returns their paths."""
    from analysis import document, html, markdown, output, plots, results_csv

    doc = document.build(runs)
    with output.Staging(outdir) as tmp:
        doc.plots, plot_notes = plots.make_plots(doc.run_cells, os.path.join(tmp, "plots"))
        doc.notes.extend(plot_notes)
        with open(os.path.join(tmp, "report.md"), "w", encoding="utf-8") as f:
            f.write(markdown.render(doc))
        with open(os.path.join(tmp, "report.html"), "w", encoding="utf-8") as f:
            f.write(html.render(doc))
        results_csv.write_csv(os.path.join(tmp, "results.csv"), doc.run_cells)
        results_csv.write_json(os.path.join(tmp, "results.json"), doc.run_cells, doc.fidelity)
    return [os.path.join(outdir, name) for name in FILES], doc


def main(argv=None):
    from analysis import load_runs

    args = parse_args(argv)
    runs = load_runs.load_runs(args.dirs)
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        raise cli.UsageError("the same run is named twice: %s" % ", ".join(ids))
    outdir = args.out or default_outdir(args.dirs, runs)
    paths, doc = write_report(runs, outdir)
    if not args.quiet:
        print("%s: %d run%s, %d rows -> %s" % (PROG, len(runs), "" if len(runs) == 1 else "s",
                                               sum(len(r.rows) for r in runs), outdir))
        for p in paths:
            print("  " + p)
        shown = doc.spread_warnings[:MAX_PRINTED_WARNINGS]
        for w in shown:
            print("  ⚠ " + w.text())
        if len(doc.spread_warnings) > len(shown):
            print("  ⚠ ... and %d more spread warnings in report.md"
                  % (len(doc.spread_warnings) - len(shown)))
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(PROG, main))
