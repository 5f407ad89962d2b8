"""The reference solution of an assignment, loaded from its one home in ``solutions/``.

The setup (``locked``) and ``solution`` cells of ``solutions/<assignment>.md`` are executed into a
fresh module, so the hidden checks compare students against exactly the code the book's
instructor edition shows, with no second copy to drift.

A locked cell whose whole source is ``# provided: rnn.rnn_step_forward rnn.rnn_forward`` stands
for code a later notebook is given from an earlier assignment's reference: :func:`cells` replaces
it by those functions' solution cells, markers removed, for the build and for this module alike.
"""
import copy
import functools
import re
import types

import jupytext

from . import nbmeta, paths

PROVIDED = re.compile(r"^#\s*provided:\s*(.+?)\s*$")
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def provided_names(source: str) -> list[tuple[str, str]] | None:
    """``[(assignment, function), ...]`` of a ``# provided:`` cell, else None."""
    lines = [l for l in source.strip().splitlines() if l.strip()]
    if len(lines) != 1 or not (match := PROVIDED.match(lines[0])):
        return None
    return [tuple(item.split(".", 1)) for item in match.group(1).split()]


def strip_markers(source: str) -> str:
    return "\n".join(l for l in source.splitlines() if l.strip() not in SOLUTION_MARKERS)


def provided_source(names: list[tuple[str, str]]) -> str:
    header = ("# Provided (not graded): " + ", ".join(f for _, f in names)
              + ", from an earlier exercise's reference solution.\n")
    return header + "\n\n\n".join(strip_markers(solution_cells(a)[f]) for a, f in names)


@functools.cache
def _read(assignment: str):
    return jupytext.read(paths.source_md(assignment))


def cells(assignment: str):
    """The assignment's cells (a copy), each ``# provided:`` cell expanded."""
    nb = copy.deepcopy(_read(assignment))
    for cell in nb.cells:
        if cell.cell_type == "code" and (names := provided_names(cell.source)):
            cell.source = provided_source(names)
    return nb


@functools.cache
def load(assignment: str) -> types.ModuleType:
    """A module holding the assignment's reference functions (cached per process)."""
    path = paths.source_md(assignment)
    module = types.ModuleType(f"reference_{assignment}")
    module.__file__ = str(path)
    for cell in cells(assignment).cells:
        if cell.cell_type == "code" and nbmeta.course_tag(cell) in ("locked", "solution"):
            exec(compile(cell.source, str(path), "exec"), module.__dict__)
    return module


def function(assignment: str, name: str):
    return getattr(load(assignment), name)


def solution_cells(assignment: str) -> dict[str, str]:
    """Each graded function's full solution-cell source, by function name."""
    return {nbmeta.defined_functions(c.source)[0]: c.source
            for c in _read(assignment).cells if nbmeta.course_tag(c) == "solution"}
