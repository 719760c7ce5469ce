"""report.html: the Document as one self-contained page. Plots are embedded as
data: URIs, the CSS is inline, nothing points outside the file; tables scroll
sideways on a phone instead of overflowing."""

import base64
from html import escape

from analysis import fidelity, stats, tables, units

CSS = """
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de;
        --best: #e6f4ea; --warn: #fff4e5; --accent: #0969da; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--fg); margin: 0 auto; padding: 1rem; max-width: 1200px; background: #fff; }
h1 { font-size: 1.4rem; word-break: break-word; }
h2 { font-size: 1.2rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem;
     margin-top: 2rem; }
h3 { font-size: 1rem; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .9em; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; border: 1px solid var(--line);
          border-radius: 6px; margin: .5rem 0 1rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f6f8fa; text-align: left; white-space: nowrap; position: sticky; top: 0; }
tbody td:first-child { position: sticky; left: 0; background: #fff; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.best { background: var(--best); }
td.best .median { font-weight: 700; }
td.noisy { background: var(--warn); }
.range, .ratio { color: var(--muted); font-size: .8em; }
.warn { color: #b35900; }
sup.ref { color: var(--muted); }
.legend, .caption { color: var(--muted); font-size: .85rem; }
ul.lines li { margin: .3rem 0; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 520px), 1fr));
        gap: 1rem; }
@media (max-width: 600px) {
  body { font-size: 14px; padding: .5rem; }
  th, td { padding: .25rem .4rem; }
}
"""


def _img(path):
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    return "data:image/png;base64," + data


def _mark(entry):
    return '<sup class="ref">[%d]</sup>' % entry.mark if entry.mark else ""


def _entry_cell(column, entry):
    if entry is None:
        return '<td class="num">–</td>'
    if isinstance(entry, tables.Gap):
        return '<td class="num" title="%s">–%s</td>' % (escape(entry.note), _mark(entry))
    f = units.FORMATS[column.kind]
    s = entry.summary
    classes = ["num"] + (["best"] if entry.best else []) + (["noisy"] if entry.noisy else [])
    parts = ['<span class="median">%s</span>' % escape(f(s.median))]
    low, high = f(s.min), f(s.max)
    if s.n > 1 and low != high:
        parts.append('<br><span class="range">%s–%s</span>' % (escape(low), escape(high)))
    if entry.ratio is not None:
        parts.append(' <span class="ratio">%s</span>' % escape(units.ratio(entry.ratio)))
    if entry.noisy:
        parts.append(' <span class="warn" title="coefficient of variation %.0f %%">⚠</span>'
                     % (s.cv * 100))
    parts.append(_mark(entry))
    title = "; ".join(t for t in ("best in its column" if entry.best else "", entry.note or "")
                      if t)
    return '<td class="%s"%s>%s</td>' % (" ".join(classes),
                                         ' title="%s"' % escape(title) if title else "",
                                         "".join(parts))


def _headline_table(doc, columns):
    head = (["host"] if doc.multi else []) + ["strategy"] + [c.title for c in columns]
    rows = []
    for r in doc.headline.rows:
        cells = (["<td>%s</td>" % escape(r.label)] if doc.multi else [])
        cells.append("<td><code>%s</code>%s</td>" % (escape(r.strategy),
                                                      " (program)" if r.program else ""))
        cells += [_entry_cell(c, r.entries[c.key]) for c in columns]
        rows.append("<tr>%s</tr>" % "".join(cells))
    return ('<div class="scroll"><table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>'
            "</div>" % ("".join("<th>%s</th>" % escape(h) for h in head), "".join(rows)))


def _plain_table(head, rows):
    return ('<div class="scroll"><table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>'
            "</div>" % ("".join("<th>%s</th>" % escape(str(h)) for h in head),
                        "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % escape(str(c))
                                                        for c in r) for r in rows)))


def _fidelity_table(rows):
    """The fidelity rows, verdicts marked: faithful green, differs amber."""
    def cell(text):
        cls = ("best" if text == "faithful" else "noisy" if text.startswith("differs") else "")
        return '<td%s>%s</td>' % (' class="%s"' % cls if cls else "", escape(text))
    return ('<div class="scroll"><table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>'
            "</div>" % ("".join("<th>%s</th>" % escape(h) for h in fidelity.HEAD),
                        "".join("<tr>%s</tr>" % "".join(cell(c) for c in r)
                                for r in rows)))


def _code_spans(text):
    """Escapes text and turns `x` into <code>x</code>."""
    parts = escape(text).split("`")
    return "".join(("<code>%s</code>" % p) if i % 2 else p for i, p in enumerate(parts))


def render(doc):
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>%s</title>" % escape(doc.title), "<style>%s</style>" % CSS, "</head><body>",
           "<h1>%s</h1>" % escape(doc.title)]
    labels = [label for label, _ in doc.host_rows]
    keys = [k for k, _ in doc.host_rows[0][1]]
    out += ["<h2>Hosts</h2>",
            _plain_table([""] + labels, [[k] + [dict(f)[k] for _, f in doc.host_rows]
                                         for k in keys])]
    if doc.caveats:
        out.append('<h2>Caveats</h2><ul class="lines">%s</ul>' % "".join(
            '<li class="warn">⚠ %s</li>' % _code_spans(c) for c in doc.caveats))
    out += ["<h2>Headline: time</h2>", _headline_table(doc, tables.TIME_COLUMNS),
            "<h2>Headline: memory, faults and I/O</h2>",
            _headline_table(doc, tables.MEMORY_COLUMNS),
            '<p class="legend">%s</p>' % _code_spans(tables.legend(doc.headline)
                                                     .replace("**bold**", "green"))]
    footnotes = tables.footnote_lines(doc.headline)
    if footnotes:
        out.append('<ul class="legend">%s</ul>' % "".join("<li>%s</li>" % _code_spans(f)
                                                          for f in footnotes))
    if doc.provenance:
        out.append('<h3>Where the numbers come from</h3><ul class="lines">%s</ul>' % "".join(
            "<li>%s</li>" % _code_spans(p) for p in doc.provenance))
    if doc.spread_warnings:
        out.append("<h3>⚠ Spread warnings (coefficient of variation over %d %%, or a first "
                   "repetition over %g× the others)</h3>"
                   % (stats.CV_LIMIT * 100, tables.SLOW_FIRST_FACTOR))
        out.append('<ul class="lines">%s</ul>' % "".join(
            "<li>%s</li>" % escape(w.text()) for w in doc.spread_warnings))
    if doc.programs:
        out.append("<h2>Programs</h2>")
        for sec in doc.programs:
            out.append("<h3>%s<code>%s</code></h3>" % (escape(sec.label) + ": " if doc.multi
                                                     else "", escape(sec.program)))
            out.append('<ul class="lines">%s</ul>' % "".join(
                "<li>%s</li>" % _code_spans(line) for line in sec.lines))
            if sec.rows:
                out.append(_plain_table(sec.head, sec.rows))
    if doc.fidelity:
        out.append('<h2>Fidelity</h2><p class="legend">%s</p>' % _code_spans(fidelity.ABOUT))
        for t in doc.fidelity:
            out.append("<h3>%s</h3>" % _code_spans(fidelity.title(t, doc.multi)))
            out.append('<p class="legend">%s.</p>' % _code_spans(fidelity.legend(t)))
            if t.notes:
                out.append('<ul class="lines">%s</ul>' % "".join(
                    '<li class="warn">⚠ %s</li>' % _code_spans(n) for n in t.notes))
            out.append(_fidelity_table(fidelity.rows(t)))
    out.append("<h2>What the kernel did</h2>")
    out.append('<ul class="lines">%s</ul>' % "".join(
        "<li>%s<code>%s</code>: %s</li>" % (escape(e.label) + ": " if doc.multi else "",
                                            escape(e.strategy), _code_spans(e.text))
        for e in doc.explanations))
    if doc.amplification:
        out.append('<h2>Read amplification</h2><ul class="lines">%s</ul>' % "".join(
            "<li>%s</li>" % _code_spans(a) for a in doc.amplification))
    out.append("<h2>Recommendation</h2>")
    out.append('<ul class="lines">%s</ul>' % "".join(
        "<li>%s<strong>%s</strong>: %s</li>" % (escape(r.label) + ": " if doc.multi else "",
                                                escape(r.goal.title), _code_spans(r.text()))
        for r in doc.recommendations) + "".join(
        "<li>%s<strong>your program <code>%s</code></strong>: %s</li>"
        % (escape(label) + ": " if doc.multi else "", escape(program), _code_spans(text))
        for label, program, text in doc.program_lines))
    if doc.plots:
        out.append('<h2>Plots</h2><div class="grid">')
        for p in doc.plots:
            out.append('<figure><img src="%s" alt="%s"><figcaption class="caption">'
                       "<strong>%s</strong>. %s</figcaption></figure>"
                       % (_img(p.png), escape(p.title), escape(p.title), escape(p.caption)))
        out.append("</div>")
    if doc.failures:
        out += ["<h2>Repetitions that did not finish</h2>",
                _plain_table(["host", "cell", "rep", "status", "error"], doc.failures)]
    if doc.notes:
        out.append("<h2>Notes</h2><ul>%s</ul>"
                   % "".join("<li>%s</li>" % _code_spans(n) for n in doc.notes))
    for label, lines, head, rows in doc.appendix:
        out.append("<h2>Appendix: storage calibration%s</h2>"
                   % (" (%s)" % escape(label) if doc.multi else ""))
        out.append('<ul class="lines">%s</ul>' % "".join("<li>%s</li>" % _code_spans(l)
                                                         for l in lines))
        if rows:
            out += ['<p class="caption">The sweep, fastest first within each phase:</p>',
                    _plain_table(head, rows)]
    out.append("</body></html>")
    return "\n".join(out)
