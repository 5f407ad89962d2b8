"""Keep the conceptual exercises' solutions out of every file of the student site.

sphinx-exercise's ``hide_solutions`` removes the solutions from the rendered pages only. The
site also publishes each page's source: ``_sources/<page>.md`` (the "download source" button)
and, for an executed MyST page, ``_sources/<page>.ipynb`` (the "download notebook" button, and
what the Binder and Colab buttons open, see launch_notebooks.py). Both still hold every
``{solution}`` block word for word. When solutions are hidden, this removes them from every
``.md``, ``.txt`` and ``.ipynb`` under the output folder once the build is done: a
``{solution}`` directive (backtick or colon fence) and everything between ``{solution-start}``
and ``{solution-end}`` (sphinx-exercise's gated form, which may span notebook cells).
"""
import json
import re
from pathlib import Path

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{solution\}.*?^(?P=indent)(?P=fence)[ \t]*$\n?",
                   re.M | re.S)
GATED = re.compile(r"^[ \t]*(`{3,}|:{3,})\{solution-start\}.*?^[ \t]*(`{3,}|:{3,})\{solution-end\}.*?^[ \t]*\2[ \t]*$\n?",
                   re.M | re.S)
START, END = "{solution-start}", "{solution-end}"


def strip_text(text: str) -> str:
    """The text without its solution blocks."""
    return GATED.sub("", FENCE.sub("", text))


def strip_notebook(nb: dict) -> dict:
    """The notebook without solution blocks, gated spans across cells included."""
    kept, inside = [], False
    for cell in nb.get("cells", []):
        source = "".join(cell.get("source", []))
        if inside:
            if END in source:  # the cell that closes the span: keep what follows its fence
                inside = False
                rest = re.split(r"^[ \t]*(`{3,}|:{3,})\{solution-end\}.*?^[ \t]*\1[ \t]*$\n?",
                                source, maxsplit=1, flags=re.M | re.S)
                if rest[-1].strip():
                    cell["source"] = rest[-1]
                    kept.append(cell)
            continue
        source = strip_text(source)
        if START in source and END not in source:
            inside = True
            source = source.split(START)[0].rsplit("\n", 1)[0]
        cell["source"] = source
        if source.strip() or cell.get("cell_type") != "markdown":
            kept.append(cell)
    nb["cells"] = kept
    return nb


def strip_tree(root: Path) -> list[Path]:
    changed = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in (".md", ".txt", ".ipynb"):
            continue
        text = path.read_text(encoding="utf-8")
        if "{solution" not in text:
            continue
        if path.suffix == ".ipynb":
            new = json.dumps(strip_notebook(json.loads(text)), indent=1, ensure_ascii=False) + "\n"
        else:
            new = strip_text(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def _finished(app, exception):
    if exception is None and app.builder.format == "html" and app.config.hide_solutions:
        changed = strip_tree(Path(app.outdir))
        LOGGER.info("strip_solutions: solutions removed from %d published source(s)", len(changed))


def setup(app):
    app.connect("build-finished", _finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
