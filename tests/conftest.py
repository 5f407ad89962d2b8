"""Shared fixtures: the released notebooks, one grading run over a class of synthetic students,
and the built book. Each is made once per test session; the tests only read them."""
import copy
import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import build, checks, nbmeta, paths, reference
from autograder.release import release

ROOT = paths.ROOT
ASSIGNMENTS = paths.assignments()  # the course's, in book order
# The tests' demo assignment (tests/demo): one function per form of check, never in the book.
os.environ[paths.EXTRA_ENV] = str(ROOT / "tests" / "demo")
DEMO = "demo"


@pytest.fixture(scope="session")
def released(tmp_path_factory) -> dict[str, Path]:
    return release(tmp_path_factory.mktemp("release"), ASSIGNMENTS + [DEMO])


def student_version(released, assignment):
    return nbformat.read(released[assignment], as_version=4)


def with_functions(nb, assignment, functions):
    """The notebook with the reference solution pasted into the cells of ``functions``."""
    sources = reference.solution_cells(assignment)
    for cell in nb.cells:
        if nbmeta.is_solution(cell) and nbmeta.grade_id(cell) in functions:
            cell.source = sources[nbmeta.grade_id(cell)]
    return nb


def write_submission(root: Path, student: str, assignment: str, nb=None, *, name=None,
                     raw: str | None = None) -> Path:
    folder = root / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{assignment}.ipynb")
    if raw is not None:
        path.write_text(raw)
    elif nb is not None:
        nbformat.write(nb, path)
    return path


def run_cli(*args, check=True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, check=check)


@pytest.fixture(scope="session")
def built_book() -> Path:
    """`make book` from the repo, as a student-facing build; fails the tests that need it if the
    build fails (warnings are errors)."""
    proc = subprocess.run(["make", "book"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"make book failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return ROOT / "_build" / "html"


def depends_of(assignment, function) -> tuple:
    """The graded functions whose checks of ``function`` run too (a chain on the student's own
    forward): a student who wrote only ``function`` must have written these as well."""
    return tuple(checks.checks_of(assignment)[function].depends)


def points_by_function(assignment) -> dict[str, float]:
    points = {}
    for cell in build.source_notebook(assignment).cells:
        if nbmeta.is_grade(cell):
            f = nbmeta.graded_function(nbmeta.grade_id(cell))
            points[f] = points.get(f, 0) + nbmeta.nbgrader(cell)["points"]
    return points


@pytest.fixture(scope="session")
def graded(released, tmp_path_factory):
    """One `autograder grade` run over the synthetic class (see test_grade.py)."""
    subs = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("graded")
    for a in ASSIGNMENTS:
        functions = list(points_by_function(a))
        student_nb = student_version(released, a)
        full = with_functions(copy.deepcopy(student_nb), a, functions)
        write_submission(subs, "reference", a, full)
        write_submission(subs, "untouched", a, student_nb)
        for f in functions:
            write_submission(subs, f"only-{f}", a,
                             with_functions(copy.deepcopy(student_nb), a, [f, *depends_of(a, f)]))
        write_submission(subs, "unparsable", a, raw='{"cells": [')
        write_submission(subs, "renamed", a, full, name="my homework.ipynb")
        (subs / "missing" / a).mkdir(parents=True)
        deleted = copy.deepcopy(full)
        deleted.cells = [c for c in deleted.cells if not nbmeta.is_grade(c)]
        write_submission(subs, "deleted-tests", a, deleted)
        edited = copy.deepcopy(student_nb)
        for cell in edited.cells:
            if nbmeta.is_grade(cell):
                cell.source = "pass  # all good"
        write_submission(subs, "edited-tests", a, edited)
    proc = run_cli("grade", subs, "--out", out, "--jobs", "1")
    with open(out / "grades.csv") as fh:
        grades = {(r["student"], r["assignment"]): r for r in csv.DictReader(fh)}
    with open(out / "checks.csv") as fh:
        checks = list(csv.DictReader(fh))
    return {"out": out, "grades": grades, "checks": checks, "stdout": proc.stdout, "subs": subs}
