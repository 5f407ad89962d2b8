"""Build the nbgrader source notebook of an assignment from ``solutions/<assignment>.md``.

The MyST file is what instructors edit and review; the ``.ipynb`` it becomes is a build product
(the ``source/`` folder of an nbgrader course directory), never checked in.
"""
from collections import Counter
from pathlib import Path

import jupytext
import nbformat

from . import nbmeta, paths


class SourceError(ValueError):
    """A solutions source breaks the conventions of nbmeta (reported before nbgrader runs)."""


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    """The assignment's instructor notebook with nbgrader metadata, validated."""
    nb = jupytext.read(paths.source_md(assignment))
    nb.metadata.pop("jupytext", None)
    for index, cell in enumerate(nb.cells):
        try:
            nbmeta.to_nbgrader(cell, index)
        except ValueError as err:
            raise SourceError(f"{assignment}: cell {index}: {err}") from None
    _validate(assignment, nb)
    return nb


def write_source(assignment: str, course_root: Path) -> Path:
    """Write ``<course_root>/source/<assignment>/<assignment>.ipynb``; returns its path."""
    out = Path(course_root) / "source" / assignment / f"{assignment}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(source_notebook(assignment), out)
    return out


def graded_functions(nb) -> list[str]:
    """The functions students implement, in notebook order."""
    return [nbmeta.grade_id(c) for c in nb.cells if nbmeta.is_solution(c)]


def _validate(assignment: str, nb) -> None:
    from .checks import declared_functions

    ids = [nbmeta.grade_id(c) for c in nb.cells if nbmeta.grade_id(c)]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        raise SourceError(f"{assignment}: duplicate grade_ids {dupes}")
    functions = graded_functions(nb)
    tested = {nbmeta.graded_function(nbmeta.grade_id(c)) for c in nb.cells if nbmeta.is_grade(c)}
    if set(functions) != tested:
        raise SourceError(f"{assignment}: functions without tests {set(functions) - tested}, "
                          f"tests of unknown functions {tested - set(functions)}")
    declared = declared_functions(assignment)
    if set(functions) != set(declared):
        raise SourceError(f"{assignment}: the notebook's functions {functions} differ from the "
                          f"hidden checks declared in autograder.checks {declared}")
