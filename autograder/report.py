"""Write ``grades.csv`` (one row per student and assignment) and ``checks.csv`` (one row per
autograded cell) from the gradebook, plus nbgrader's own export for instructors' tools and the
instructor's HTML report (``report.html``, see ``report_html``)."""
import csv
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin

from .report_html import write_html

GRADE_COLUMNS = ["student", "assignment", "score", "max_score", "status", "reason"]
CHECK_COLUMNS = ["student", "assignment", "grade_id", "score", "max_score"]


def prepare() -> None:
    """Import what the HTML report draws with (~0.6 s), ahead of :func:`write`."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401


def write(out: Path, results, course) -> None:
    with Gradebook(course.db_url, course.coursedir.course_id) as gb:
        for result in results:
            _fill_from_gradebook(gb, result)
        CsvExportPlugin(to=str(out / "nbgrader_export.csv")).export(gb)
    with open(out / "grades.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, GRADE_COLUMNS)
        writer.writeheader()
        for r in results:
            writer.writerow({"student": r.student, "assignment": r.assignment,
                             "score": _num(r.score), "max_score": _num(r.max_score),
                             "status": r.status, "reason": r.reason})
    with open(out / "checks.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, CHECK_COLUMNS)
        writer.writeheader()
        for r in results:
            for row in r.checks:
                writer.writerow({"student": r.student, "assignment": r.assignment, **row})
    write_html(out, results)


def _fill_from_gradebook(gb: Gradebook, result) -> None:
    """Scores of a graded result from its submission; zeros on every cell otherwise."""
    assignment = gb.find_assignment(result.assignment)
    result.max_score = assignment.max_score
    graded = {}
    if result.status == "graded":
        try:
            submission = gb.find_submission(result.assignment, result.student)
        except MissingEntry:
            result.status, result.reason = "error", "grader error: no submission in the gradebook"
        else:
            result.score = submission.score
            for nb in submission.notebooks:
                graded.update({g.name: g.score for g in nb.grades})
    result.checks = [
        {"grade_id": cell.name, "score": _num(graded.get(cell.name, 0.0)),
         "max_score": _num(cell.max_score)}
        for nb in assignment.notebooks for cell in nb.grade_cells
    ]


def _num(x) -> str:
    return f"{float(x):g}"
