"""Build the nbgrader source notebook of an assignment from ``solutions/<assignment>.md``.

The MyST file is what instructors edit and review: prose, setup cells and one solution cell per
graded function. The build adds what is generated from the declared checks
(``autograder/checks/<assignment>.py``): the test-helper cell, and after each solution cell one
test cell per declared kind, the visible one as readable asserts, the others as hidden tests.
The ``.ipynb`` it becomes is a build product (the ``source/`` folder of an nbgrader course
directory), never checked in.
"""
from collections import Counter
from pathlib import Path

import nbformat

from . import nbmeta, reference, render


class SourceError(ValueError):
    """A solutions source breaks the conventions of nbmeta, or does not match its declared
    checks (reported when the assignment is built, never during a grading run)."""


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    """The assignment's instructor notebook with nbgrader metadata, validated."""
    from . import checks

    nb = reference.cells(assignment)
    nb.metadata.pop("jupytext", None)
    try:
        declared = {f: checks.kinds(assignment, f) for f in checks.declared_functions(assignment)}
    except Exception as err:
        raise SourceError(f"{assignment}: its checks cannot be loaded: {err!r}") from err
    cells = []
    for cell in nb.cells:
        if nbmeta.course_tag(cell) == "test":
            raise SourceError(f"{assignment}: test cells are generated from the declared checks; "
                              f"remove this one from the source:\n{cell.source[:200]}")
        cells.append(cell)
        if nbmeta.course_tag(cell) == "solution":
            names = nbmeta.defined_functions(cell.source)
            function = names[0] if len(names) == 1 else None
            for kind, points in declared.get(function, {}).items():
                cells.append(_test_cell(assignment, function, kind, points))
    first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    helper = nbformat.v4.new_code_cell(render.helper_cell(), metadata={
        "tags": ["locked", "hide-input"], "jupyter": {"source_hidden": True}})
    cells.insert(first_code + 1, helper)
    nb.cells = cells
    for index, cell in enumerate(nb.cells):
        try:
            nbmeta.to_nbgrader(cell, index)
        except ValueError as err:
            raise SourceError(f"{assignment}: cell {index}: {err}") from None
    _validate(assignment, nb, declared)
    return nb


def _test_cell(assignment, function, kind, points):
    if not isinstance(points, int) or points <= 0 or not kind.replace("_", "").isalnum():
        raise SourceError(f"{assignment}: {function}: kind {kind!r} needs a plain name and "
                          f"positive whole points, got {points!r}")
    try:
        source = (render.visible_cell(assignment, function, points) if kind == "visible"
                  else render.hidden_cell(assignment, function, kind, points))
        from . import checks

        if not checks.cases(assignment, function, kind):
            raise SourceError(f"{assignment}: {function}-{kind} declares no cases")
    except SourceError:
        raise
    except Exception as err:
        raise SourceError(f"{assignment}: {function}-{kind}: {err!r}") from err
    return nbformat.v4.new_code_cell(source, metadata={
        "tags": ["test"], "grade_id": nbmeta.join_grade_id(function, kind), "points": points})


def write_source(assignment: str, course_root: Path) -> Path:
    """Write ``<course_root>/source/<assignment>/<assignment>.ipynb``; returns its path."""
    out = Path(course_root) / "source" / assignment / f"{assignment}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(source_notebook(assignment), out)
    return out


def graded_functions(nb) -> list[str]:
    """The functions students implement, in notebook order."""
    return [nbmeta.grade_id(c) for c in nb.cells if nbmeta.is_solution(c)]


def _validate(assignment: str, nb, declared: dict) -> None:
    ids = [nbmeta.grade_id(c) for c in nb.cells if nbmeta.grade_id(c)]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        raise SourceError(f"{assignment}: duplicate grade_ids {dupes}")
    functions = graded_functions(nb)
    if set(functions) != set(declared):
        raise SourceError(f"{assignment}: the notebook's functions {functions} differ from the "
                          f"checks declared in autograder.checks {list(declared)}")
    for cell in nb.cells:
        if nbmeta.is_grade(cell):
            function, kind = nbmeta.split_grade_id(nbmeta.grade_id(cell))
            if kind not in declared.get(function, {}):
                raise SourceError(f"{assignment}: test cell {nbmeta.grade_id(cell)} has no "
                                  "declared check")
