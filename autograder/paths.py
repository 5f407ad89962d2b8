"""Where things live in the repository, and which assignments exist."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"


def assignments() -> list[str]:
    """The assignments, one per ``solutions/<assignment>.md``, in chapter order of the book."""
    order = _toc_order()
    names = sorted(p.stem for p in SOLUTIONS.glob("*.md"))
    return sorted(names, key=lambda n: order.index(n) if n in order else len(order))


def source_md(assignment: str) -> Path:
    path = SOLUTIONS / f"{assignment}.md"
    if not path.is_file():
        raise KeyError(f"unknown assignment {assignment!r}: no {path.relative_to(ROOT)}")
    return path


def _toc_order() -> list[str]:
    # The exercise pages appear in _toc.yml as book/exercises/<assignment>, in chapter order.
    toc = ROOT / "_toc.yml"
    if not toc.is_file():
        return []
    marker = "book/exercises/"
    return [line.split(marker, 1)[1].strip() for line in toc.read_text().splitlines()
            if marker in line]
