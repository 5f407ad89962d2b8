"""Render the course glossary (English | 한국어 | Meaning) from book/glossary.yml.

The course grew out of Korean study notes, so every key term is given in both
languages. The terms live in one data file, one key per chapter page, so that a
chapter's "Glossary" section and the book-wide glossary page show the same words
and cannot drift apart:

    ```{course-glossary} sequential_data
    ```

shows one chapter's terms as a table. With no argument the directive shows every
chapter, one table each, under a rubric that links to the chapter: a rubric, not a
section, so that heading levels stay valid wherever the directive is used. Every
page that uses the directive depends on the yml file, so editing it rebuilds them.
"""
from pathlib import Path

import yaml
from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

GLOSSARY = Path(__file__).resolve().parent.parent / "glossary.yml"
COLUMNS = (("English", "en", 25), ("한국어", "ko", 20), ("Meaning", "definition", 55))


def _load():
    with GLOSSARY.open(encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{GLOSSARY} must map chapter keys to lists of terms")
    for chapter, terms in data.items():
        for term in terms or []:
            missing = [key for _, key, _ in COLUMNS if not term.get(key)]
            if missing:
                raise ValueError(f"{chapter!r} has a term without {missing}")
    return data


def _row(cells):
    row = nodes.row()
    for text in cells:
        row += nodes.entry("", nodes.paragraph(text=str(text)))
    return row


def _table(terms):
    table = nodes.table(classes=["course-glossary"])
    group = nodes.tgroup(cols=len(COLUMNS))
    table += group
    for _, _, width in COLUMNS:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    head += _row(name for name, _, _ in COLUMNS)
    group += head
    body = nodes.tbody()
    for term in terms:
        body += _row(term[key] for _, key, _ in COLUMNS)
    group += body
    return table


class CourseGlossary(SphinxDirective):
    """``course-glossary [chapter]``: one chapter's terms, or all chapters' terms."""

    optional_arguments = 1
    has_content = False

    def run(self):
        self.env.note_dependency(str(GLOSSARY))
        try:
            data = _load()
        except (OSError, ValueError, yaml.YAMLError) as err:
            raise self.error(f"course-glossary: cannot read {GLOSSARY}: {err}") from err

        if self.arguments:
            chapter = self.arguments[0]
            if chapter not in data:
                raise self.error(
                    f"course-glossary: no chapter {chapter!r} in {GLOSSARY.name}; "
                    f"known: {', '.join(data)}"
                )
            return [_table(data[chapter])]

        # Chapter keys are page names next to glossary.yml, e.g. book/sequential_data.
        folder = GLOSSARY.parent.relative_to(Path(self.env.srcdir).resolve()).as_posix()
        out = []
        for chapter, terms in data.items():
            target = f"/{folder}/{chapter}" if folder != "." else f"/{chapter}"
            link = addnodes.pending_xref(
                "", nodes.inline(text=chapter),
                refdomain="std", reftype="doc", reftarget=target,
                refexplicit=False, refwarn=True, refdoc=self.env.docname,
            )
            out += [nodes.rubric("", "", link), _table(terms or [])]
        return out


def setup(app):
    app.add_directive("course-glossary", CourseGlossary)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
