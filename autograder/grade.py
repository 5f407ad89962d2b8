"""Grade a folder of submissions laid out as ``SUBMISSIONS/<student>/<assignment>/<assignment>.ipynb``.

Every (student, assignment) pair gets a result, whatever happens to its notebook: ``intake``
rejects or repairs the file, nbgrader ``autograde`` runs and scores it into the gradebook,
``generate_feedback`` renders the HTML the student gets back, and ``report`` writes the CSVs.
"""
import html
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import intake, paths, report
from .course import Course, StepFailed


@dataclass
class Result:
    """One student's result on one assignment."""
    student: str
    assignment: str
    status: str                 # graded | rejected | error
    score: float = 0.0
    max_score: float = 0.0
    reason: str = ""
    checks: list[dict] = field(default_factory=list)


@dataclass
class GradeRun:
    results: list[Result]
    out: Path


def students(submissions: Path) -> list[str]:
    return sorted(p.name for p in Path(submissions).iterdir()
                  if p.is_dir() and not p.name.startswith("."))


def grade(submissions, out, *, assignments: list[str] | None = None,
          db_url: str | None = None) -> GradeRun:
    submissions, out = Path(submissions), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    course = Course(out / "nbgrader", db_url)
    assignments = assignments or paths.assignments()
    released = {a: nbformat.read(course.generate(a), as_version=4) for a in assignments}
    results = []
    for student in students(submissions):
        for assignment in assignments:
            result = grade_one(course, submissions, student, assignment, released[assignment])
            _publish_feedback(course, out, result)
            results.append(result)
    report.write(out, results, course)
    return GradeRun(results, out)


def grade_one(course: Course, submissions: Path, student: str, assignment: str,
              released) -> Result:
    folder = submissions / student / assignment
    try:
        taken = intake.read(folder, assignment, released)
    except intake.Rejected as err:
        return Result(student, assignment, "rejected", reason=str(err))
    dest = course.path(course.coursedir.submitted_directory, assignment, student)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    nbformat.write(taken.notebook, dest / f"{assignment}.ipynb")
    try:
        course.autograde(assignment, student)
        course.feedback(assignment, student)
    except StepFailed as err:
        return Result(student, assignment, "error", reason=_first_error_line(str(err)))
    return Result(student, assignment, "graded", reason="; ".join(taken.notes))


def _first_error_line(log: str) -> str:
    lines = [l for l in log.splitlines() if l.startswith("[ERROR]")] or log.splitlines()[-1:]
    return "grader error: " + (lines[0] if lines else "unknown")[:300]


def _publish_feedback(course: Course, out: Path, result: Result) -> None:
    """Copy nbgrader's feedback to ``out/feedback/<student>/<assignment>/<assignment>.html``,
    or write a short page saying why there is none."""
    dest = out / "feedback" / result.student / result.assignment / f"{result.assignment}.html"
    dest.parent.mkdir(parents=True, exist_ok=True)
    generated = (course.path(course.coursedir.feedback_directory, result.assignment, result.student)
                 / f"{result.assignment}.html")
    if result.status == "graded" and generated.is_file():
        shutil.copyfile(generated, dest)
    else:
        dest.write_text(
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{result.assignment}</title>"
            f"</head><body><h1>{html.escape(result.assignment)}: not graded</h1>"
            f"<p>Score: 0. {html.escape(result.reason)}</p></body></html>")
