"""Release: the student notebook of every assignment, without solutions or hidden tests."""
import shutil
import tempfile
from pathlib import Path

from . import paths
from .course import Course


def release(out, assignments: list[str] | None = None) -> dict[str, Path]:
    """Write ``out/<assignment>/<assignment>.ipynb`` for each assignment (all by default).

    Returns the written path of each assignment. nbgrader's scratch course directory is
    discarded: the student notebooks are the only product.
    """
    out = Path(out)
    written = {}
    with tempfile.TemporaryDirectory(prefix="release-") as scratch:
        course = Course(scratch)
        for assignment in assignments or paths.assignments():
            student_nb = course.generate(assignment)
            dest = out / assignment / f"{assignment}.ipynb"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(student_nb, dest)
            written[assignment] = dest
    return written
