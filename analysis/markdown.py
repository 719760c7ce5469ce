"""report.md: the Document as Markdown, for issues and pull requests."""

import os

from analysis import stats, tables


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
    out += ["## Headline: time", "", tables.markdown_table(doc.headline, tables.TIME_COLUMNS,
                                                          doc.multi), ""]
    out += ["## Headline: memory, faults and I/O", "",
            tables.markdown_table(doc.headline, tables.MEMORY_COLUMNS, doc.multi), ""]
    out += [tables.legend(doc.headline), ""]
    if doc.spread_warnings:
        out += ["### ⚠ Spread warnings (coefficient of variation over %d %%, or a first "
                "repetition over %g× the others)" % (stats.CV_LIMIT * 100,
                                                     tables.SLOW_FIRST_FACTOR), ""]
        out += ["- " + w.text() for w in doc.spread_warnings] + [""]
    out += ["## What the kernel did", ""]
    for e in doc.explanations:
        out.append("- %s`%s`: %s" % (e.label + ": " if doc.multi else "", e.strategy, e.text))
    out += ["", "## Recommendation", ""]
    for r in doc.recommendations:
        out.append("- %s**%s**: %s" % (r.label + ": " if doc.multi else "", r.goal.title,
                                       r.text()))
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
    return "\n".join(out)
