"""The reference solution of an assignment, loaded from its one home in ``solutions/``.

The setup (``locked``) and ``solution`` cells of ``solutions/<assignment>.md`` are executed into a
fresh module, so the hidden checks compare students against exactly the code the book's
instructor edition shows, with no second copy to drift.

A locked cell whose whole source is ``# provided: rnn.rnn_step_forward rnn.rnn_forward`` stands
for code a later notebook is given from an earlier assignment's reference: :func:`cells` replaces
it by those functions' solution cells, markers removed, for the build and for this module alike.
"""
import ast
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


@functools.cache
def parameters(assignment: str, name: str) -> tuple[str, ...]:
    """The parameter names of a reference function (of a class: its ``__init__``'s, ``self``
    left out), as ``inspect.signature`` gives them, read from the source without executing it:
    :func:`load` would import the assignment's libraries (torch, ~2 s) in a process that only
    builds notebooks or judges results. () for a name the cells do not define."""
    found = ()
    for cell in cells(assignment).cells:
        if cell.cell_type != "code" or nbmeta.course_tag(cell) not in ("locked", "solution"):
            continue
        for node in ast.parse(cell.source).body:  # the module's own names, the last one wins
            if isinstance(node, ast.ClassDef) and node.name == name:
                init = [n for n in node.body
                        if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
                found = _names(init[0].args)[1:] if init else ()
            elif isinstance(node, ast.FunctionDef) and node.name == name:
                found = _names(node.args)
    return found


def _names(a: ast.arguments) -> tuple[str, ...]:
    return tuple([x.arg for x in (*a.posonlyargs, *a.args)] + ([a.vararg.arg] if a.vararg else [])
                 + [x.arg for x in a.kwonlyargs] + ([a.kwarg.arg] if a.kwarg else []))


def solution_cells(assignment: str) -> dict[str, str]:
    """Each graded function's full solution-cell source, by function name."""
    return {nbmeta.defined_functions(c.source)[0]: c.source
            for c in _read(assignment).cells if nbmeta.course_tag(c) == "solution"}
