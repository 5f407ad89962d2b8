"""The reference solution of an assignment, loaded from its one home in ``solutions/``.

The setup (``locked``) and ``solution`` cells of ``solutions/<assignment>.md`` are executed into a
fresh module, so the hidden checks compare students against exactly the code the book's
instructor edition shows, with no second copy to drift.
"""
import functools
import types

import jupytext

from . import nbmeta, paths


@functools.cache
def load(assignment: str) -> types.ModuleType:
    """A module holding the assignment's reference functions (cached per process)."""
    path = paths.source_md(assignment)
    module = types.ModuleType(f"reference_{assignment}")
    module.__file__ = str(path)
    for cell in jupytext.read(path).cells:
        if cell.cell_type == "code" and nbmeta.course_tag(cell) in ("locked", "solution"):
            exec(compile(cell.source, str(path), "exec"), module.__dict__)
    return module


def function(assignment: str, name: str):
    return getattr(load(assignment), name)


def solution_cells(assignment: str) -> dict[str, str]:
    """Each graded function's full solution-cell source, by function name."""
    cells = jupytext.read(paths.source_md(assignment)).cells
    return {nbmeta.defined_functions(c.source)[0]: c.source
            for c in cells if nbmeta.course_tag(c) == "solution"}
