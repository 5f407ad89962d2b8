"""The instructor edition (`make instructor`) shows what the student book must not.

Its exercise pages carry every reference solution line and hidden test, so the leak detector of
test_leaks.py is seen to fire on real built HTML, not only on a planted string; its chapters show
the conceptual exercises' solutions, none of which may reach the student book. Building it must
leave the student build (_build/html) untouched.
"""
import html
import re
import subprocess

import pytest

from conftest import ASSIGNMENTS, ROOT
from test_leaks import MARKERS, SECRETS, _squeeze, leaks, scan

INSTRUCTOR = ROOT / "_build" / "instructor" / "html"


def _snapshot(folder):
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def instructor_book(built_book):
    """`make instructor`, run after the student build, which it must not change."""
    before = _snapshot(built_book)
    proc = subprocess.run(["make", "instructor"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"make instructor failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
                    f"{proc.stderr[-4000:]}")
    assert _snapshot(built_book) == before, "make instructor changed _build/html"
    return INSTRUCTOR


def _plain(page_html: str) -> str:
    return _squeeze(html.unescape(re.sub(r"<[^>]+>", "", page_html)))


def test_instructor_exercise_pages_hold_every_secret(instructor_book):
    found = set()
    for assignment in ASSIGNMENTS:
        page = (instructor_book / "book" / "exercises" / f"{assignment}.html").read_text()
        assert "Traceback" not in page, f"the reference of {assignment} fails its own tests"
        found |= set(leaks(page))
    assert set(MARKERS) <= found
    assert SECRETS <= found, sorted(SECRETS - found)
    assert scan(instructor_book), "the detector that guards _build/html finds nothing here"


def test_student_book_has_no_conceptual_solution(instructor_book, built_book):
    for page in instructor_book.rglob("*.html"):
        solutions = re.findall(r'<div class="solution[^"]*".*?<section id="solution-content">'
                               r'(.*?)</section>', page.read_text(), flags=re.S)
        student_page = built_book / page.relative_to(instructor_book)
        student = _plain(student_page.read_text()) if student_page.is_file() else ""
        for solution in solutions:
            assert _plain(solution) not in student, (student_page, solution[:200])
    chapter = (instructor_book / "book" / "sequential_data" / "summary.html").read_text()
    assert chapter.count('<section id="solution-content">') >= 2
