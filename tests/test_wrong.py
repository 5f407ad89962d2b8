"""The mistakes students really make (tests/wrong/<assignment>.py) each cost exactly the points of
the function they break, with a message that points at the mistake; and the visible asserts a
student runs agree with the visible points the grader gives, on every one of them.

In-process first (every assignment, the tests' demo included, in a second or two), then through
one graded run of a class made of those mistakes (``wrong_graded``), where the kernel's own run
of each visible cell must agree with that cell's score.
"""
import copy
import csv
import json

import pytest

from autograder import build, checks, nbmeta, reference
from conftest import ASSIGNMENTS, DEMO, run_cli, student_version, with_functions, write_submission
from wrong import wrong_of

EVERY = ASSIGNMENTS + [DEMO]
MISTAKES = [(a, i, w) for a in EVERY for i, w in enumerate(wrong_of(a))]
IDS = [f"{a}-{w.function}-{i}" for a, i, w in MISTAKES]


def _namespace(assignment, wrong):
    """The reference's functions with one of them replaced by the wrong implementation."""
    namespace = dict(vars(reference.load(assignment)))
    exec(compile(wrong.source, f"<wrong {wrong.function}>", "exec"), namespace)
    return namespace


def _visible_cell(assignment, function):
    nb = build.source_notebook(assignment)
    helper = next(c.source for c in nb.cells if "def _load_test_helpers" in c.source)
    cell = next(c.source for c in nb.cells if nbmeta.grade_id(c) == f"{function}-visible")
    return helper, cell


@pytest.mark.parametrize("assignment", EVERY)
def test_every_graded_function_has_wrong_implementations(assignment):
    assert len(wrong_of(assignment)) >= 6, "fewer than six wrong implementations"


@pytest.mark.parametrize("assignment, index, wrong", MISTAKES, ids=IDS)
def test_a_mistake_fails_exactly_its_declared_cells(assignment, index, wrong):
    namespace = _namespace(assignment, wrong)
    for kind in checks.kinds(assignment, wrong.function):
        found = checks.failures(assignment, wrong.function, namespace, kind)
        assert bool(found) == (kind in wrong.fails), (kind, found[:2])
        if found:
            assert any(wrong.message in m for m in found), found[:3]


@pytest.mark.parametrize("assignment, index, wrong", MISTAKES, ids=IDS)
def test_visible_asserts_agree_with_visible_points(assignment, index, wrong):
    helper, cell = _visible_cell(assignment, wrong.function)
    namespace = _namespace(assignment, wrong)
    exec(helper, namespace)
    try:
        exec(cell, namespace)
        asserted = False
    except AssertionError:
        asserted = True
    scored = bool(checks.failures(assignment, wrong.function, namespace, "visible"))
    assert asserted == scored == ("visible" in wrong.fails)


@pytest.mark.parametrize("assignment", EVERY)
def test_the_reference_passes_its_own_visible_cells(assignment):
    namespace = dict(vars(reference.load(assignment)))
    for function in checks.declared_functions(assignment):
        helper, cell = _visible_cell(assignment, function)
        exec(helper, namespace)
        exec(cell, namespace)


@pytest.fixture(scope="session")
def wrong_graded(released, tmp_path_factory):
    """One grading run of a class made of the mistakes: student ``<assignment>-<i>`` has the
    reference everywhere except the i-th wrong implementation; the demo's reference and stub too."""
    subs, out = tmp_path_factory.mktemp("wrong-subs"), tmp_path_factory.mktemp("wrong-graded")
    for assignment, index, wrong in MISTAKES:
        nb = with_functions(copy.deepcopy(student_version(released, assignment)), assignment,
                            checks.declared_functions(assignment))
        cell = next(c for c in nb.cells if nbmeta.is_solution(c) and nbmeta.grade_id(c) == wrong.function)
        cell.source = wrong.source.strip()
        write_submission(subs, f"{assignment}-{index}", assignment, nb)
    stub = student_version(released, DEMO)
    write_submission(subs, "demo-reference", DEMO,
                     with_functions(copy.deepcopy(stub), DEMO, checks.declared_functions(DEMO)))
    write_submission(subs, "demo-untouched", DEMO, stub)
    args = [arg for a in EVERY for arg in ("--assignment", a)]
    run_cli("grade", subs, "--out", out, "--jobs", "2", *args)
    journal = {p.stem: json.loads(p.read_text()) for p in (out / "journal").glob("*.json")}
    with open(out / "checks.csv") as fh:
        rows = list(csv.DictReader(fh))
    return {"out": out, "journal": journal, "checks": rows}


def test_demo_reference_and_stub(wrong_graded):
    reference_run = wrong_graded["journal"][f"{DEMO}--demo-reference"]
    stub_run = wrong_graded["journal"][f"{DEMO}--demo-untouched"]
    assert reference_run["status"] == stub_run["status"] == "graded"
    assert reference_run["failures"] == {} and stub_run["failures"]
    rows = [r for r in wrong_graded["checks"] if r["assignment"] == DEMO]
    full = [r for r in rows if r["student"] == "demo-reference"]
    assert full and all(r["score"] == r["max_score"] for r in full)
    assert all(float(r["score"]) == 0 for r in rows if r["student"] == "demo-untouched")


@pytest.mark.parametrize("assignment, index, wrong", MISTAKES, ids=IDS)
def test_a_graded_mistake_loses_exactly_its_cells(wrong_graded, assignment, index, wrong):
    result = wrong_graded["journal"][f"{assignment}--{assignment}-{index}"]
    assert result["status"] == "graded", result["reason"]
    rows = [r for r in wrong_graded["checks"]
            if r["student"] == f"{assignment}-{index}" and r["assignment"] == assignment]
    assert rows
    for row in rows:
        function, kind = nbmeta.split_grade_id(row["grade_id"])
        lost = float(row["score"]) < float(row["max_score"])
        if wrong.function in checks.checks_of(assignment)[function].depends:
            continue  # checked on the student's own (here wrong) forward: may lose, as declared
        assert lost == (function == wrong.function and kind in wrong.fails), row
        if kind == "visible":  # what the student's own run of the cell showed
            assert (row["grade_id"] in result["kernel_errors"]) == lost, (row, result["kernel_errors"])
    failing = [g for g in result["failures"] if nbmeta.graded_function(g) == wrong.function]
    assert failing and any(wrong.message in result["failures"][g] for g in failing)
    feedback = wrong_graded["out"] / "feedback" / f"{assignment}-{index}" / assignment / f"{assignment}.html"
    assert wrong.message.split("'")[0] in feedback.read_text()
