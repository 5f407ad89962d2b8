"""Intake: find, read and repair one student's notebook before nbgrader sees it.

nbgrader assumes a well-formed notebook with every grade cell in place. Students rename files,
save broken JSON and delete cells; here each such problem either becomes a reason recorded with
a score of 0, or is repaired so that it costs only the points of what it breaks:

- a notebook saved under another name is graded when it is the only one in the folder;
- a deleted test cell is put back (nbgrader would restore its source, but only if it exists),
  right after the cell that preceded it in the released notebook;
- a duplicated nbgrader cell keeps its metadata only once (nbgrader's own ``DeduplicateIds``
  leaves an empty metadata dict that its ``CheckCellMetadata`` then rejects), and duplicated
  cell ids are renewed.
"""
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import nbmeta


class Rejected(Exception):
    """The submission cannot be graded at all; the message is the reason shown to everyone."""


@dataclass
class Intake:
    notebook: nbformat.NotebookNode
    notes: list[str] = field(default_factory=list)


def find_notebook(folder: Path, assignment: str) -> tuple[Path, list[str]]:
    expected = folder / f"{assignment}.ipynb"
    if expected.is_file():
        return expected, []
    others = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    if len(others) == 1:
        return others[0], [f"graded {others[0].name} in place of the missing {expected.name}"]
    if others:
        raise Rejected(f"no {expected.name}; found {len(others)} other notebooks "
                       f"({', '.join(p.name for p in others[:3])}), so none was graded")
    raise Rejected(f"missing notebook: no {expected.name} was submitted")


def read(folder: Path, assignment: str, released: nbformat.NotebookNode) -> Intake:
    """Read and repair the submission of ``assignment`` in ``folder`` (a student's folder)."""
    path, notes = find_notebook(folder, assignment)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # any parse failure is the student's file, never the grader
        raise Rejected(f"unreadable notebook {path.name}: {type(err).__name__}: "
                       f"{str(err).splitlines()[0][:200] if str(err) else ''}") from None
    if not isinstance(nb.get("cells"), list):
        raise Rejected(f"unreadable notebook {path.name}: it has no list of cells")
    nb.cells = [c for c in nb.cells if isinstance(c, dict) and "cell_type" in c]
    for cell in nb.cells:
        cell.setdefault("metadata", nbformat.NotebookNode())
        cell.setdefault("source", "")
        if cell.cell_type == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    nb.metadata["kernelspec"] = released.metadata.get("kernelspec", {})
    notes += deduplicate(nb)
    notes += restore_test_cells(nb, released)
    return Intake(nb, notes)


def deduplicate(nb) -> list[str]:
    """Keep the first cell of each grade_id as nbgrader's; later copies become plain cells."""
    seen_grade_ids, seen_cell_ids, notes = set(), set(), []
    for cell in nb.cells:
        gid = nbmeta.grade_id(cell)
        if gid and gid in seen_grade_ids:
            del cell.metadata["nbgrader"]
            notes.append(f"ignored a duplicate of cell {gid}")
        elif gid:
            seen_grade_ids.add(gid)
        if "id" in cell:
            if cell["id"] in seen_cell_ids:
                cell["id"] = uuid.uuid4().hex[:8]
            seen_cell_ids.add(cell["id"])
    return notes


def restore_test_cells(nb, released) -> list[str]:
    """Put back every grade cell of ``released`` whose grade_id is missing from ``nb``."""
    present = {nbmeta.grade_id(c) for c in nb.cells}
    notes = []
    for index, cell in enumerate(released.cells):
        gid = nbmeta.grade_id(cell)
        if not nbmeta.is_grade(cell) or gid in present:
            continue
        anchor = _anchor(nb, released.cells[:index])
        nb.cells.insert(anchor, nbformat.from_dict(cell))
        present.add(gid)
        notes.append(f"restored the deleted test cell {gid}")
    return notes


def _anchor(nb, earlier_cells) -> int:
    # Insert after the last cell of nb that is one of the released cells before the deleted one.
    for cell in reversed(earlier_cells):
        gid = nbmeta.grade_id(cell)
        if gid:
            for i in range(len(nb.cells) - 1, -1, -1):
                if nbmeta.grade_id(nb.cells[i]) == gid:
                    return i + 1
    return len(nb.cells)
