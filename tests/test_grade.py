"""End to end through `python -m autograder grade`: one run over a class of synthetic students.

Per assignment: the reference solution (full marks), the untouched student version (0), one
student per function who implemented only that function (exactly its points), and the broken
submissions every class has (missing, unparsable, renamed, deleted or edited test cells).
"""
import csv

import nbformat
import pytest

from autograder import build, nbmeta

from conftest import ASSIGNMENTS, depends_of, points_by_function


def score(graded, student, assignment):
    row = graded["grades"][(student, assignment)]
    return float(row["score"]), float(row["max_score"])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_gets_full_marks(graded, assignment):
    got, maximum = score(graded, "reference", assignment)
    assert maximum == sum(points_by_function(assignment).values()) > 0
    assert got == maximum


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_student_version_scores_zero(graded, assignment):
    row = graded["grades"][("untouched", assignment)]
    assert row["status"] == "graded" and float(row["score"]) == 0


@pytest.mark.parametrize("assignment, function",
                         [(a, f) for a in ASSIGNMENTS for f in points_by_function(a)])
def test_one_function_scores_exactly_its_points(graded, assignment, function):
    # A function checked on the student's own forward (``depends``) is written with it.
    written = {function, *depends_of(assignment, function)}
    got, _ = score(graded, f"only-{function}", assignment)
    assert got == sum(points_by_function(assignment)[f] for f in written)
    cells = [r for r in graded["checks"]
             if r["student"] == f"only-{function}" and r["assignment"] == assignment]
    for row in cells:
        full = float(row["score"]) == float(row["max_score"])
        assert full == (nbmeta.graded_function(row["grade_id"]) in written), row


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_student_and_assignment_has_a_row(graded, assignment):
    students = {p.name for p in graded["subs"].iterdir()}
    assert {s for s, a in graded["grades"] if a == assignment} == students
    cells = [c for c in build.source_notebook(assignment).cells if nbmeta.is_grade(c)]
    for student in students:
        rows = [r for r in graded["checks"] if r["student"] == student and r["assignment"] == assignment]
        assert sorted(r["grade_id"] for r in rows) == sorted(nbmeta.grade_id(c) for c in cells)
        feedback = graded["out"] / "feedback" / student / assignment / f"{assignment}.html"
        assert feedback.is_file()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_broken_submissions_score_zero_with_a_reason(graded, assignment):
    for student, words in [("missing", "missing notebook"), ("unparsable", "unreadable notebook")]:
        row = graded["grades"][(student, assignment)]
        assert float(row["score"]) == 0 and row["status"] == "rejected"
        assert words in row["reason"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_repairable_submissions_lose_nothing(graded, assignment):
    got, maximum = score(graded, "renamed", assignment)
    assert got == maximum and "my homework.ipynb" in graded["grades"][("renamed", assignment)]["reason"]
    got, maximum = score(graded, "deleted-tests", assignment)
    assert got == maximum and "restored the deleted test cell" in graded["grades"][("deleted-tests", assignment)]["reason"]


def _layout(nb) -> list[tuple[str, str, str]]:
    """Each test cell: its grade_id, the solution cell it follows, and its source."""
    layout, function = [], None
    for cell in nb.cells:
        if nbmeta.is_solution(cell):
            function = nbmeta.grade_id(cell)
        elif nbmeta.is_grade(cell):
            layout.append((nbmeta.grade_id(cell), function, cell.source))
    return layout


def _autograded(graded, student, assignment):
    return nbformat.read(graded["out"] / "nbgrader" / "autograded" / student / assignment
                         / f"{assignment}.ipynb", as_version=4)


@pytest.mark.parametrize("student", ["edited-tests", "deleted-tests"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_test_cells_are_restored_where_they_belong(graded, assignment, student):
    # complete notebooks whose test cells were emptied or deleted: every test cell is back
    # with its instructor source, right after its function's solution cell, and nothing is lost
    got, maximum = score(graded, student, assignment)
    assert got == maximum
    assert _layout(_autograded(graded, student, assignment)) == _layout(
        build.source_notebook(assignment))


def test_feedback_names_the_failure(graded):
    html = (graded["out"] / "feedback" / "only-encode" / "sequences" / "sequences.html").read_text()
    assert "hidden test case(s) of decode failed" in html
    assert "NotImplementedError" in html


def test_nbgrader_export_is_written(graded):
    with open(graded["out"] / "nbgrader_export.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {"assignment", "student_id", "score", "max_score"} <= set(rows[0])
    assert any(r["student_id"] == "reference" and float(r["score"]) == float(r["max_score"])
               for r in rows)


def test_the_gradebook_revision_is_the_one_nbgrader_finds():
    """The grader stamps a new gradebook with alembic's head read in process; nbgrader finds
    it with the `alembic heads` command (the one it runs): both must name the same revision."""
    import subprocess
    import sys
    from pathlib import Path

    from nbgrader.dbutil import _temp_alembic_ini

    from autograder.course import alembic_head

    with _temp_alembic_ini("sqlite:////tmp/unused.db") as ini:
        alembic = Path(sys.executable).parent / "alembic"
        output = subprocess.check_output([str(alembic), "-c", ini, "heads"], text=True)
    assert alembic_head() == output.splitlines()[0].split(" ")[0]
