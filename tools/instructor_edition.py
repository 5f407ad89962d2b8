"""Build the instructor edition of the book into _build/instructor/html (`make instructor`).

The same chapters, plus what students must never see: the solutions of the conceptual exercises
(sphinx-exercise with `hide_solutions: false`) and, as each chapter's exercise page, the
instructor notebook built from `solutions/<assignment>.md` with its reference solution, visible
tests and hidden tests, executed, so the page also shows the reference passing its own tests. It is for
instructors only and never published: everything it writes stays under _build/instructor, and
the student build (`make book`) neither reads nor writes any of it.

The build reads a staged copy of the sources, _build/instructor/src, in which each instructor
source sits where its released notebook sits in the student book (book/exercises/<assignment>):
_toc.yml and the links the sources write relative to that place hold unchanged. Copies keep their
modification times, so Sphinx and jupyter-cache rebuild only what changed since the last run.
"""
import os
import shutil
import sys
from pathlib import Path

import yaml
from jupyter_book.sphinx import build_sphinx
import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from autograder import build, paths  # noqa: E402  (the repository's own package)

OUT = ROOT / "_build" / "instructor"
SRC = OUT / "src"


def stage() -> Path:
    """Write the staged sources and their config; return the config's path."""
    shutil.rmtree(SRC, ignore_errors=True)
    # The released student notebooks are the pages this edition replaces.
    shutil.copytree(ROOT / "book", SRC / "book",
                    ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    (SRC / "book" / "exercises").mkdir(exist_ok=True)  # git keeps no file of its own there
    # Each exercise page is the assignment's built instructor notebook: the reference solution
    # and its generated visible and hidden test cells (which run against it).
    for assignment in paths.assignments():
        nbformat.write(build.source_notebook(assignment),
                       SRC / "book" / "exercises" / f"{assignment}.ipynb")
    shutil.copy2(ROOT / "_toc.yml", SRC / "_toc.yml")

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["title"] += " (instructor edition)"
    config["sphinx"]["config"]["hide_solutions"] = False
    # Execute the instructor sources too: their hidden tests run against the reference.
    config["execute"]["exclude_patterns"] = [
        p for p in config["execute"]["exclude_patterns"] if p != "book/exercises/*"]
    # The chapters' code is the student build's: reuse its executed notebooks (jupyter-cache
    # matches by content), so only the exercise pages run here.
    config["execute"]["cache"] = str(ROOT / "_build" / ".jupyter_cache")
    # Launch buttons open the published student notebooks; this edition is not published.
    config.pop("launch_buttons", None)
    path = SRC / "_config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def main() -> int:
    config = stage()
    # The hidden tests do `from autograder.checks import check`: the kernels that run them
    # inherit this environment.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    result = build_sphinx(SRC, OUT / "html", doctreedir=OUT / ".doctrees", noconfig=True,
                          path_config=config,
                          confoverrides={"external_toc_path": (SRC / "_toc.yml").as_posix(),
                                         "latex_individualpages": False},
                          warningiserror=True, keep_going=True)
    if result:
        return 1
    print(f"Instructor edition (not for publication): {OUT / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
