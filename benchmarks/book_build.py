"""What the execution cache and Sphinx's incremental build save: a clean `make book` against the
rebuild after a prose edit to one chapter.

The working tree (git's tracked files and the untracked ones it does not ignore) is copied to a
scratch directory, so the repository's own _build and caches are neither used nor touched; the
copy builds with the repository's .venv. The clean build executes every chapter; the rebuild
should re-read only the edited page and execute nothing. Goal: rebuild / clean <= 0.10.

    .venv/bin/python benchmarks/book_build.py [--chapter book/sequential_data/order.md]
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.10
EDIT = "\nThis sentence was added by benchmarks/book_build.py to time a rebuild.\n"


def copy_working_tree(dest: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        if (ROOT / name).is_file():  # a tracked file deleted in the working tree is listed too
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)


def timed_make_book(tree: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(["make", "book", f"VENV={ROOT / '.venv'}"], cwd=tree,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"make book failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed


def edit_prose(page: Path) -> None:
    """Add a paragraph under the page's title: prose only, no code to execute."""
    text = page.read_text()
    title_end = text.index("\n", text.index("\n# ") + 1)
    page.write_text(text[:title_end] + "\n" + EDIT + text[title_end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapter", default="book/sequential_data/order.md",
                        help="the page whose prose is edited (default: %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="book-build-") as scratch:
        tree = Path(scratch)
        copy_working_tree(tree)
        clean = timed_make_book(tree)
        edit_prose(tree / args.chapter)
        rebuild = timed_make_book(tree)
    ratio = rebuild / clean
    print(f"clean build (make book): {clean:.1f} s")
    print(f"rebuild after a prose edit to {args.chapter}: {rebuild:.1f} s")
    print(f"ratio: {ratio:.2f} (goal <= {GOAL:.2f}: {'met' if ratio <= GOAL else 'not met'})")


if __name__ == "__main__":
    main()
