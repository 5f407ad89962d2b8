"""Nothing a student sees holds solution code, hidden tests or the conceptual exercises'
solutions: the released notebooks, the built book (HTML with its attributes, the page sources
and notebooks it publishes for download and launch, its search index) and the feedback of
graded submissions. Every file is read as what it is: JSON strings decoded, HTML reduced to its
text and attribute values. test_instructor.py shows the detector finding every secret in the
instructor edition, so it can fire.
"""
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from autograder import build, nbmeta, reference

from conftest import ASSIGNMENTS, ROOT

MARKERS = ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "autograder.checks", "from autograder"]
MIN_CHARS = 16  # shorter lines (`return X, y`) are too generic to call a leak


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _blocks(source: str, begin: str, end: str) -> list[str]:
    return re.findall(rf"{begin}\n(.*?)\n[ \t]*{end}", source, flags=re.S)


def _lines(block: str) -> set[str]:
    return {_squeeze(l) for l in block.splitlines()
            if len(_squeeze(l)) >= MIN_CHARS and not l.lstrip().startswith(":")}


def provided() -> set[tuple[str, str]]:
    """The reference functions a later notebook is given (``# provided:``, as the contract has
    bptt given rnn's forward pass): published with that notebook on purpose."""
    given = set()
    for assignment in ASSIGNMENTS:
        for cell in reference._read(assignment).cells:
            given |= set(reference.provided_names(cell.source) or [])
    return given


def code_secrets() -> set[str]:
    """Every line of every reference solution and hidden test, whitespace removed, except the
    functions a later notebook is given."""
    given, lines = provided(), set()
    for assignment in ASSIGNMENTS:
        for cell in build.source_notebook(assignment).cells:
            if nbmeta.is_solution(cell) and (assignment, nbmeta.grade_id(cell)) in given:
                continue
            for block in (_blocks(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
                          + _blocks(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")):
                lines |= _lines(block)
    # a line that the provided code holds too is published with it (the same idiom elsewhere)
    return lines - _lines(reference.provided_source(sorted(given))) if given else lines


SOLUTION_BLOCK = re.compile(r"^(`{3,}|:{3,})\{solution\}[^\n]*\n(.*?)^\1[ \t]*$", re.M | re.S)
GATED_BLOCK = re.compile(r"\{solution-start\}[^\n]*\n(.*?)\{solution-end\}", re.S)


def conceptual_secrets() -> set[str]:
    """Every line of every conceptual exercise's solution in the book's pages."""
    lines = set()
    for page in sorted((ROOT / "book").rglob("*.md")):
        text = page.read_text()
        for block in ([b for _, b in SOLUTION_BLOCK.findall(text)]
                      + [b for b in GATED_BLOCK.findall(text)]):
            lines |= _lines(block)
    return lines


CODE_SECRETS, CONCEPTUAL_SECRETS = code_secrets(), conceptual_secrets()
SECRETS = CODE_SECRETS | CONCEPTUAL_SECRETS


class _Text(HTMLParser):
    """An HTML page's text, as a reader sees it, and every attribute value (alt, title,
    content, data-*...), each on a line of its own after the text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.attributes = [], []

    def handle_starttag(self, tag, attrs):
        self.attributes += [value for _, value in attrs if value]

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def html_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    parser.close()
    return "".join(parser.text) + "\n" + "\n".join(parser.attributes)


def json_strings(value) -> list[str]:
    """Every string in a JSON document, keys included, decoded."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *json_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in json_strings(v)]
    return []


def readable(path: Path) -> str:
    """What a reader of ``path`` gets: decoded JSON strings (notebooks, the search index and
    other JavaScript that wraps JSON), the text and attributes of HTML, else the raw text."""
    text = path.read_text(errors="replace")
    if path.suffix in (".ipynb", ".json", ".js"):
        body = text
        if path.suffix == ".js" and "(" in text:  # Search.setIndex({...})
            body = text[text.index("(") + 1:text.rindex(")")] if ")" in text else text
        try:
            return "\n".join(json_strings(json.loads(body)))
        except ValueError:
            return text
    if path.suffix == ".html":
        return html_text(text)
    return text


def leaks(text: str) -> list[str]:
    """The markers and secret lines found in ``text`` (read as HTML: text and attributes)."""
    plain = html_text(text) if "<" in text else text
    found = [m for m in MARKERS if m in plain or m in text]
    squeezed, raw = _squeeze(html.unescape(plain)), _squeeze(text)
    return found + sorted(s for s in SECRETS if s in squeezed or s in raw)


def scan(root: Path, suffixes=(".html", ".ipynb", ".md", ".txt", ".js", ".json", ".py")) -> dict:
    found = {}
    for p in root.rglob("*"):
        if p.is_file() and p.suffix in suffixes and "_static" not in p.parts:
            text = readable(p)
            hits = [m for m in MARKERS if m in text]
            squeezed = _squeeze(text)
            hits += sorted(s for s in SECRETS if s in squeezed)
            if hits:
                found[str(p)] = hits
    return found


def test_the_detector_finds_a_planted_leak(tmp_path):
    assert CODE_SECRETS and len(CONCEPTUAL_SECRETS) >= 8, "no solution lines collected"
    one = max(SECRETS, key=len)
    assert leaks(f"<pre><span>{html.escape(one)}</span></pre>")
    assert leaks(f'<img alt="{html.escape(one)}" src="x.png">')  # attributes count
    assert leaks("### BEGIN SOLUTION")
    assert not leaks("def build_vocab(text):\n    raise NotImplementedError()")
    quoted = next(s for s in CODE_SECRETS if '"' in s)  # JSON escapes its quotes
    (tmp_path / "nb.ipynb").write_text(json.dumps({"cells": [{"source": [quoted]}]}))
    (tmp_path / "searchindex.js").write_text("Search.setIndex(" + json.dumps(
        {"docnames": [quoted]}) + ")")
    assert set(scan(tmp_path)) == {str(tmp_path / "nb.ipynb"), str(tmp_path / "searchindex.js")}


def test_released_notebooks_leak_nothing(released):
    for path in released.values():
        assert leaks(path.read_text()) == [], path


def _own_code(folder: Path) -> str:
    text = ""
    for path in folder.glob("*.ipynb"):
        try:
            text += "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        except Exception:
            text += path.read_text(errors="replace")
    return text


def test_feedback_leaks_nothing(graded):
    # A student's feedback may quote the student's own code, and nothing else of the secrets.
    found = {}
    pages = list((graded["out"] / "feedback").rglob("*.html"))
    for page in pages:
        student, assignment = page.parts[-3], page.parts[-2]
        own = _own_code(graded["subs"] / student / assignment)
        extra = [s for s in leaks(page.read_text()) if s not in own and s not in _squeeze(own)]
        if extra:
            found[str(page)] = extra
    assert found == {}
    assert len(pages) == len(graded["grades"])


def test_built_book_leaks_nothing(built_book):
    found = scan(built_book)
    assert found == {}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_book_offers_the_student_version(built_book, assignment):
    page = built_book / "book" / "exercises" / f"{assignment}.html"
    assert page.is_file()
    text = page.read_text()
    assert "NotImplementedError" in text
    downloadable = built_book / "_sources" / "book" / "exercises" / f"{assignment}.ipynb"
    assert downloadable.is_file() and scan(downloadable.parent) == {}
    assert "raise NotImplementedError()" in downloadable.read_text()
