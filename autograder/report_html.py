"""The instructor's grade report: one self-contained page, ``OUT/report.html``.

``grades.csv`` says what each student got; this page says how the class did. Per assignment: the
submissions by status, the mean and median score and a histogram of scores; per graded function,
how many students got full, partial or zero points, and the most common failure messages,
normalised so that the same mistake made by different students (on different cases) counts once
per student. Then the slowest submissions and every rejected or failed one, with its reason.

The figures are matplotlib PNGs embedded as ``data:`` URIs with alt text, so the page is one file
that opens offline, without scripts. Student names, reasons and failure messages come from
submissions: every string is escaped.
"""
import base64
import io
import re
import statistics
from collections import Counter, defaultdict
from html import escape
from pathlib import Path

from . import nbmeta

TOP_FAILURES = 5
SLOWEST = 10
STATUSES = ("graded", "rejected", "error")
COLORS = {"full": "#1a9641", "partial": "#fdae61", "zero": "#d7191c"}

CSS = """body{font:15px/1.45 system-ui,sans-serif;max-width:70em;margin:1em auto;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;padding:.2em .5em;
text-align:left;vertical-align:top}td.n{text-align:right}img{max-width:100%}
.figs{display:flex;flex-wrap:wrap;gap:1em}code{white-space:pre-wrap}"""

_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def write_html(out: Path, results) -> Path:
    """Write ``out/report.html`` for ``results`` (``grade.Result``, checks filled); its path."""
    by_assignment = defaultdict(list)
    for r in results:
        by_assignment[r.assignment].append(r)
    body = [f"<h1>Grade report</h1><p>{len(results)} submissions, "
            f"{len({r.student for r in results})} students, {len(by_assignment)} assignment(s): "
            + ", ".join(f"<a href='#{_anchor(a)}'>{escape(a)}</a>" for a in by_assignment) + ".</p>"]
    body += [_assignment_section(a, rs) for a, rs in by_assignment.items()]
    body += [_slowest_section(results), _problems_section(results)]
    path = Path(out) / "report.html"
    path.write_text("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                    f"<title>Grade report</title><style>{CSS}</style></head><body>"
                    + "\n".join(body) + "</body></html>", encoding="utf-8")
    return path


def normalise(message: str) -> str:
    """The mistake a failure message names, without what varies between students and cases:
    the ``function(case label): `` prefix goes and every number becomes ``#``."""
    text = message.strip()
    name = re.match(r"\w+", text)
    if name:
        rest = _after_parentheses(text[name.end():])
        if rest.startswith(":"):
            text = rest[1:]
    return _NUMBER.sub("#", text.strip())


def _after_parentheses(text: str) -> str:
    """``text`` after its leading balanced ``(...)`` (labels hold parentheses), else unchanged."""
    depth = 0
    for i, ch in enumerate(text if text.startswith("(") else ""):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            return text[i + 1:]
    return text


def function_scores(results) -> dict[str, list[tuple[float, float]]]:
    """(score, max_score) of each graded function for each result, by function in cell order."""
    scores = {}
    for r in results:
        per = defaultdict(lambda: [0.0, 0.0])
        for c in r.checks:
            entry = per[nbmeta.graded_function(c["grade_id"])]
            entry[0] += float(c["score"])
            entry[1] += float(c["max_score"])
        for function, (score, maximum) in per.items():
            scores.setdefault(function, []).append((score, maximum))
    return scores


def _assignment_section(assignment: str, results) -> str:
    statuses = Counter(r.status for r in results)
    totals = [float(r.score) for r in results]
    maximum = max(float(r.max_score) for r in results)
    graded = [r for r in results if r.status == "graded"]
    per_function = function_scores(graded)
    summary = _table(["submissions", *STATUSES, "mean score", "median score", "max score"],
                     [[len(results), *(statuses.get(s, 0) for s in STATUSES),
                       f"{statistics.mean(totals):.2f}", f"{statistics.median(totals):g}",
                       f"{maximum:g}"]])
    figures = [_histogram(assignment, totals, maximum)]
    if per_function:
        figures.append(_function_bars(assignment, per_function))
    return (f"<section id='{_anchor(assignment)}'><h2>{escape(assignment)}</h2>{summary}"
            f"<div class='figs'>{''.join(figures)}</div>"
            f"<h3>Points per function ({len(graded)} graded submissions)</h3>"
            + _function_table(per_function, graded) + "</section>")


def _function_table(per_function, graded) -> str:
    failures = defaultdict(Counter)
    for r in graded:
        seen = defaultdict(set)
        for grade_id, message in r.failures.items():
            seen[nbmeta.graded_function(grade_id)].add(normalise(message))
        for function, messages in seen.items():
            failures[function].update(messages)  # once per student and mistake
    rows = []
    for function, pairs in per_function.items():
        full, partial, zero = _bands(pairs)
        top = "".join(f"<li>{n} &times; <code>{escape(msg)}</code></li>"
                      for msg, n in failures[function].most_common(TOP_FAILURES))
        rows.append([escape(function), full, partial, zero,
                     f"{statistics.mean(s for s, _ in pairs):.2f} / {pairs[0][1]:g}",
                     f"<ul>{top}</ul>" if top else "none"])
    return _table(["function", "full", "partial", "zero", "mean points",
                   f"most common failures (students, top {TOP_FAILURES})"], rows, raw=True)


def _bands(pairs) -> tuple[int, int, int]:
    full = sum(s >= m > 0 for s, m in pairs)
    zero = sum(s <= 0 for s, _ in pairs)
    return full, len(pairs) - full - zero, zero


def _slowest_section(results) -> str:
    slow = sorted(results, key=lambda r: -float(r.seconds))[:SLOWEST]
    return ("<section id='slowest'><h2>Slowest submissions</h2>"
            + _table(["student", "assignment", "seconds", "status"],
                     [[r.student, r.assignment, f"{float(r.seconds):.2f}", r.status] for r in slow])
            + "</section>")


def _problems_section(results) -> str:
    bad = [r for r in results if r.status != "graded"]
    rows = [[r.student, r.assignment, r.status, r.reason] for r in bad]
    return ("<section id='problems'><h2>Rejected and failed submissions</h2>"
            + (_table(["student", "assignment", "status", "reason"], rows) if bad else "<p>None.</p>")
            + "</section>")


def _table(header, rows, raw=False) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then the caller escaped them)."""
    def cell(v):
        if isinstance(v, (int, float)):
            return f"<td class='n'>{v}</td>"
        return f"<td>{v if raw else escape(str(v))}</td>"
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _histogram(assignment, totals, maximum) -> str:
    import numpy as np

    fig, ax = _figure(4.2, 2.6)
    edges = (np.arange(0, maximum + 2) - 0.5 if maximum <= 40
             else np.linspace(0, maximum, 21))
    counts, _, _ = ax.hist(totals, bins=edges, color="#2b83ba", edgecolor="white")
    ax.set(xlabel="total score", ylabel="submissions", title=f"{assignment}: total scores")
    ax.yaxis.get_major_locator().set_params(integer=True)
    alt = (f"Histogram of the total scores of {len(totals)} submissions to {assignment} "
           f"(0 to {maximum:g} points); the most frequent score band holds {int(max(counts))}.")
    return _img(fig, alt)


def _function_bars(assignment, per_function) -> str:
    names = list(per_function)
    bands = [[b / len(per_function[f]) for b in _bands(per_function[f])] for f in names]
    fig, ax = _figure(5.2, 0.5 + 0.32 * len(names))
    left = [0.0] * len(names)
    for i, label in enumerate(("full", "partial", "zero")):
        widths = [b[i] for b in bands]
        ax.barh(names, widths, left=left, color=COLORS[label], label=label)
        left = [l + w for l, w in zip(left, widths)]
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="fraction of graded submissions", title=f"{assignment}: per function")
    ax.legend(ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.12), frameon=False, fontsize=8)
    alt = f"Stacked bars, per function of {assignment}, of the fraction of graded submissions " \
          "with full, partial and zero points: " + "; ".join(
              f"{f} {b[0]:.0%} full, {b[1]:.0%} partial, {b[2]:.0%} zero" for f, b in zip(names, bands))
    return _img(fig, alt)


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)  # the Agg backend, without touching pyplot's global state
    return fig, fig.add_subplot()


def _img(fig, alt) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img src='data:image/png;base64,{data}' alt='{escape(alt)}'>"


def _anchor(name: str) -> str:
    return "a-" + re.sub(r"[^\w-]", "_", name)
