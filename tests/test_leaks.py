"""Nothing a student sees holds solution code or hidden tests: the released notebooks, the built
book (HTML, its copied sources and search index) and the feedback of graded submissions."""
import html
import re
from pathlib import Path

import nbformat
import pytest

from autograder import build

from conftest import ASSIGNMENTS

MARKERS = ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "autograder.checks", "from autograder"]
MIN_CHARS = 16  # shorter lines (`return X, y`) are too generic to call a leak


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _blocks(source: str, begin: str, end: str) -> list[str]:
    return re.findall(rf"{begin}\n(.*?)\n[ \t]*{end}", source, flags=re.S)


def secret_lines() -> set[str]:
    """Every line of every reference solution and hidden test, whitespace removed."""
    lines = set()
    for assignment in ASSIGNMENTS:
        for cell in build.source_notebook(assignment).cells:
            for block in (_blocks(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
                          + _blocks(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")):
                lines |= {_squeeze(l) for l in block.splitlines()
                          if len(_squeeze(l)) >= MIN_CHARS}
    return lines


SECRETS = secret_lines()


def leaks(text: str) -> list[str]:
    """The markers and secret lines found in ``text`` (HTML is reduced to its text first)."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    found = [m for m in MARKERS if m in plain]
    squeezed = _squeeze(plain)
    return found + sorted(s for s in SECRETS if s in squeezed)


def scan(root: Path, suffixes=(".html", ".ipynb", ".md", ".txt", ".js", ".json", ".py")) -> dict:
    return {str(p): found for p in root.rglob("*")
            if p.is_file() and p.suffix in suffixes and "_static" not in p.parts
            and (found := leaks(p.read_text(errors="replace")))}


def test_the_detector_finds_a_planted_leak():
    assert SECRETS, "no solution lines collected"
    one = next(iter(SECRETS))
    assert leaks(f"<pre><span>{html.escape(one)}</span></pre>")
    assert leaks("### BEGIN SOLUTION")
    assert not leaks("def build_vocab(text):\n    raise NotImplementedError()")


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
    assert downloadable.is_file() and leaks(downloadable.read_text()) == []
    assert "raise NotImplementedError()" in downloadable.read_text()
