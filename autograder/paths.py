"""Where things live in the repository, and which assignments exist.

An assignment is ``solutions/<assignment>.md`` with its checks ``autograder/checks/<assignment>.py``.
Folders named in ``RNN_COURSE_EXTRA_ASSIGNMENTS`` (``os.pathsep``-separated) add assignments that
are not the course's, each as ``<assignment>.md`` beside ``<assignment>_checks.py``: the tests'
demo assignment lives in ``tests/demo/`` that way, never in the book.
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXTRA_ENV = "RNN_COURSE_EXTRA_ASSIGNMENTS"


def _extra_dirs() -> list[Path]:
    return [Path(p) for p in os.environ.get(EXTRA_ENV, "").split(os.pathsep) if p]


def assignments(extra: bool = False) -> list[str]:
    """The course's assignments, one per ``solutions/<assignment>.md``, in chapter order of the
    book; with ``extra``, then those of the extra folders (graded only when named)."""
    order = _toc_order()
    names = sorted(p.stem for p in SOLUTIONS.glob("*.md"))
    names = sorted(names, key=lambda n: order.index(n) if n in order else len(order))
    for folder in _extra_dirs() if extra else []:
        names += sorted(p.stem for p in folder.glob("*.md") if p.stem not in names)
    return names


def source_md(assignment: str) -> Path:
    for folder in [SOLUTIONS, *_extra_dirs()]:
        path = folder / f"{assignment}.md"
        if path.is_file():
            return path
    raise KeyError(f"unknown assignment {assignment!r}: no solutions/{assignment}.md")


def checks_file(assignment: str) -> Path:
    """The checks of an assignment outside ``solutions/`` (the course's own are a package)."""
    path = source_md(assignment).with_name(f"{assignment}_checks.py")
    if not path.is_file():
        raise KeyError(f"no checks declared for {assignment!r}: no {path}")
    return path


def _toc_order() -> list[str]:
    # The exercise pages appear in _toc.yml as book/exercises/<assignment>, in chapter order.
    toc = ROOT / "_toc.yml"
    if not toc.is_file():
        return []
    marker = "book/exercises/"
    return [line.split(marker, 1)[1].strip() for line in toc.read_text().splitlines()
            if marker in line]
