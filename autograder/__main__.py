"""Command line: ``python -m autograder release --out DIR``,
``python -m autograder grade SUBMISSIONS --out DIR [--jobs N]`` (see CONTRACT.md) and
``python -m autograder doctor`` (which protections are active here).

``grade`` exits 0 when every submission got its row, whatever the scores; 1 when the grader
failed on some submission (nothing journaled for it: run again to retry); 2 when it could not
run at all. Each failure ends with one line on stderr saying why."""
import argparse
import os
import sys

from . import paths, quiet_library_warnings
from .sandbox import Limits


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    rel = sub.add_parser("release", help="write the student notebooks")
    rel.add_argument("--out", required=True, help="folder for <assignment>/<assignment>.ipynb")
    rel.add_argument("--assignment", action="append", choices=paths.assignments(extra=True),
                     help="only this assignment (repeatable; default: all)")

    gra = sub.add_parser("grade", help="autograde a folder of submissions")
    gra.add_argument("submissions", help="folder laid out as <student>/<assignment>/<assignment>.ipynb")
    gra.add_argument("--out", required=True, help="folder for grades.csv, checks.csv, feedback/")
    gra.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                     help="submissions graded at once (default: the number of cores)")
    gra.add_argument("--assignment", action="append", choices=paths.assignments(extra=True),
                     help="only this assignment (repeatable; default: all)")
    gra.add_argument("--db", default=None,
                     help="gradebook SQLAlchemy URL (default: sqlite in OUT/nbgrader)")
    defaults = Limits()
    gra.add_argument("--cell-timeout", type=float, default=defaults.cell_timeout_s,
                     help="wall-clock seconds a cell may run (default: %(default)s)")
    gra.add_argument("--notebook-timeout", type=float, default=defaults.notebook_timeout_s,
                     help="wall-clock seconds a whole notebook may run (default: %(default)s)")
    gra.add_argument("--memory-mb", type=int, default=defaults.memory_mb,
                     help="memory (address space) of a student's kernel, MiB (default: %(default)s)")
    gra.add_argument("--regrade", nargs="*", metavar="STUDENT",
                     help="grade again, whatever the journal says: these students, or all")
    gra.add_argument("--unsafe-no-sandbox", action="store_true",
                     help="where the sandbox cannot be built (no bubblewrap or user namespaces), "
                          "grade anyway: students' code then reads what you can read and "
                          "reaches the network")

    sub.add_parser("doctor", help="which protections are active on this machine")

    args = parser.parse_args(argv)
    quiet_library_warnings()
    if args.command == "release":
        from .release import release

        for assignment, path in release(args.out, args.assignment).items():
            print(f"released {assignment}: {path}")
        return 0

    if args.command == "doctor":
        from .doctor import main as doctor

        return doctor()

    from .grade import grade
    from .sandbox import UNSAFE_ENV

    if args.unsafe_no_sandbox:  # the workers read it too
        os.environ[UNSAFE_ENV] = "1"
    limits = Limits(cell_timeout_s=args.cell_timeout, notebook_timeout_s=args.notebook_timeout,
                    memory_mb=args.memory_mb)
    try:
        run = grade(args.submissions, args.out, assignments=args.assignment, db_url=args.db,
                    jobs=args.jobs, limits=limits, regrade=args.regrade)
    except Exception as err:  # the grader could not run: one line, no traceback
        print(f"grade: not run: {type(err).__name__}: {err}".splitlines()[0][:500], file=sys.stderr)
        return 2
    graded = sum(r.status == "graded" for r in run.results)
    resumed = f", {run.resumed} from an earlier run" if run.resumed else ""
    print(f"{len(run.results)} results ({graded} graded, {len(run.results) - graded} not"
          f"{resumed}): {run.out / 'grades.csv'}")
    if run.errors:  # not journaled: the next run grades them again
        first = run.errors[0]
        print(f"grade: the grader failed on {len(run.errors)} submission(s), run again to retry; "
              f"first: {first.student}/{first.assignment}: {first.reason}".splitlines()[0][:500],
              file=sys.stderr)
        return 1
    return 0  # every submission has its row, whatever the scores (CONTRACT.md)


if __name__ == "__main__":
    sys.exit(main())
