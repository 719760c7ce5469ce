"""report.md: the Document as Markdown, for issues and pull requests."""

import os

from analysis import fidelity, stats, tables


def _table(head, rows):
    esc = lambda x: str(x).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    lines += ["| " + " | ".join(esc(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def render(doc, plots_rel="plots"):
    out = ["# " + doc.title, ""]
    labels = [label for label, _ in doc.host_rows]
    keys = [k for k, _ in doc.host_rows[0][1]]
    out += ["## Hosts", "", _table(["", *labels],
                                   [[k] + [dict(f)[k] for _, f in doc.host_rows]
                                    for k in keys]), ""]
    if doc.caveats:
        out += ["## Caveats", ""] + ["- ⚠ " + c for c in doc.caveats] + [""]
    out += ["## Headline: time", "", tables.markdown_table(doc.headline, tables.TIME_COLUMNS,
                                                          doc.multi), ""]
    out += ["## Headline: memory, faults and I/O", "",
            tables.markdown_table(doc.headline, tables.MEMORY_COLUMNS, doc.multi), ""]
    out += [tables.legend(doc.headline), ""]
    footnotes = tables.footnote_lines(doc.headline)
    if footnotes:
        out += ["- " + f for f in footnotes] + [""]
    if doc.provenance:
        out += ["### Where the numbers come from", ""] + ["- " + p for p in doc.provenance]
        out.append("")
    if doc.spread_warnings:
        out += ["### ⚠ Spread warnings (coefficient of variation over %d %%, or a first "
                "repetition over %g× the others)" % (stats.CV_LIMIT * 100,
                                                     tables.SLOW_FIRST_FACTOR), ""]
        out += ["- " + w.text() for w in doc.spread_warnings] + [""]
    if doc.programs:
        out += ["## Programs", ""]
        for sec in doc.programs:
            out += ["### %s`%s`" % (sec.label + ": " if doc.multi else "", sec.program), ""]
            out += ["- " + line for line in sec.lines] + [""]
            out += [_table(sec.head, sec.rows), ""] if sec.rows else []
    if doc.fidelity:
        out += ["## Fidelity", "", fidelity.ABOUT, ""]
        for t in doc.fidelity:
            out += ["### " + fidelity.title(t, doc.multi), "", fidelity.legend(t) + ".", ""]
            out += ["- ⚠ " + n for n in t.notes] + ([""] if t.notes else [])
            out += [_table(fidelity.HEAD, fidelity.rows(t)), ""]
    out += ["## What the kernel did", ""]
    for e in doc.explanations:
        out.append("- %s`%s`: %s" % (e.label + ": " if doc.multi else "", e.strategy, e.text))
    if doc.amplification:
        out += ["", "## Read amplification", ""] + ["- " + a for a in doc.amplification]
    out += ["", "## Recommendation", ""]
    for r in doc.recommendations:
        out.append("- %s**%s**: %s" % (r.label + ": " if doc.multi else "", r.goal.title,
                                       r.text()))
    for label, program, text in doc.program_lines:
        out.append("- %s**your program `%s`**: %s" % (label + ": " if doc.multi else "", program,
                                                    text))
    out.append("")
    if doc.plots:
        out += ["## Plots", ""]
        for p in doc.plots:
            out += ["### " + p.title, "", "![%s](%s/%s)" % (p.title, plots_rel,
                                                           os.path.basename(p.png)),
                    "", p.caption + " ([SVG](%s/%s))" % (plots_rel, os.path.basename(p.svg)),
                    ""]
    if doc.failures:
        out += ["## Repetitions that did not finish", "",
                _table(["host", "cell", "rep", "status", "error"],
                       [[l, "`%s`" % c, r, s, e] for l, c, r, s, e in doc.failures]), ""]
    if doc.notes:
        out += ["## Notes", ""] + ["- " + n for n in doc.notes] + [""]
    for label, lines, head, rows in doc.appendix:
        out += ["## Appendix: storage calibration%s" % (" (%s)" % label if doc.multi else ""),
                ""] + ["- " + l for l in lines] + [""]
        if rows:
            out += ["The sweep, fastest first within each phase:", "", _table(head, rows), ""]
    return "\n".join(out)
