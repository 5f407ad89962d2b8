"""Grading a class: `python -m autograder grade` against plain, sequential nbgrader.

A synthetic class of N students over every assignment (reference solutions, untouched student
versions, one or two functions done, a function with a bug, broken submissions) is graded twice:
by our grader (sandboxed kernels, `--jobs` at a time) and by a plain nbgrader course directory
(`nbgrader generate_assignment`, then `nbgrader autograde`, one notebook after the other, hidden
tests run in the kernel). Prints both wall times, their ratio, per-submission averages, the peak
memory of our grader's process tree, where our time goes, and any score that differs. Plain
nbgrader cannot take a missing or unparsable notebook: those are left out of its run.

    .venv/bin/python benchmarks/grading.py [--students 40] [--jobs 2] [--keep DIR] [--assignment A]
"""
import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import build, nbmeta, paths, reference  # noqa: E402
from autograder.release import release  # noqa: E402

BIN = Path(sys.executable).parent
os.environ[paths.EXTRA_ENV] = str(ROOT / "tests" / "demo")  # the demo, when named
ASSIGNMENTS: list[str] = []
# The class, one kind per student in turn: 40% reference, 20% untouched, 20% one or two
# functions done, 10% a function with a bug, 10% broken (unparsable or missing).
KINDS = ["reference", "untouched", "partial", "bug", "reference",
         "broken", "reference", "partial", "untouched", "reference"]

# A bug pasted after a reference function: float32 for float64, off by one, or reversed.
BUG = """

_reference_{f} = {f}


def {f}(*args, **kwargs):
    out = _reference_{f}(*args, **kwargs)
    if getattr(out, "dtype", None) is not None:
        if str(out.dtype) in ("float64", "torch.float64"):
            return out.astype("float32") if hasattr(out, "astype") else out.float()
        return out + 1
    if isinstance(out, (list, tuple)) and len(out) > 1:
        return type(out)(list(out)[::-1])
    if isinstance(out, (int, float)) and not isinstance(out, bool):
        return out + 1
    return out
"""


def functions_of(assignment: str) -> list[str]:
    return build.graded_functions(build.source_notebook(assignment))


def paste(nb, assignment: str, functions, bug: str | None = None):
    sources = reference.solution_cells(assignment)
    for cell in nb.cells:
        gid = nbmeta.grade_id(cell)
        if nbmeta.is_solution(cell) and (gid in functions or gid == bug):
            cell.source = sources[gid] + (BUG.format(f=gid) if gid == bug else "")
    return nb


def make_class(subs: Path, n: int) -> dict[tuple[str, str], str]:
    """Write SUBS/<student>/<assignment>/; returns the kind of each (student, assignment)."""
    released = release(subs.parent / "release", ASSIGNMENTS)
    kinds = {}
    for i in range(n):
        student, kind = f"s{i:03d}", KINDS[i % len(KINDS)]
        for a in ASSIGNMENTS:
            fs = functions_of(a)
            nb = nbformat.read(released[a], as_version=4)
            folder = subs / student / a
            folder.mkdir(parents=True)
            kinds[(student, a)] = kind
            if kind == "broken":
                if i % 20 == 5:  # every other broken student: unparsable; the rest: missing
                    (folder / f"{a}.ipynb").write_text('{"cells": [')
                continue
            if kind == "reference":
                paste(nb, a, fs)
            elif kind == "partial":
                paste(nb, a, fs[i % len(fs):i % len(fs) + 1 + i % 2])
            elif kind == "bug":
                bug = fs[i % len(fs)]
                paste(nb, a, [f for f in fs if f != bug], bug=bug)
            nbformat.write(nb, folder / f"{a}.ipynb")
    return kinds


class PeakMemory:
    """Polls a process and its descendants every 0.2 s: peak sum of RSS and peak single RSS."""

    def __init__(self, pid: int):
        self.root, self.total, self.single, self.largest = psutil.Process(pid), 0, 0, ""
        self.others: set[int] = set()  # other grader runs seen meanwhile (they disturb this one)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self):
        polls = 0
        while not self.stop.wait(0.2):
            polls += 1
            if polls % 5 == 0:
                self.others.update(other_graders())
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            rss = []
            for p in procs:
                try:
                    rss.append((p.memory_info().rss, p.name()))
                except psutil.Error:
                    pass
            if rss:
                self.total = max(self.total, sum(r for r, _ in rss))
                top = max(rss)
                if top[0] > self.single:
                    self.single, self.largest = top

    def close(self):
        self.stop.set()
        self.thread.join()


def timed(cmd, env=None, cwd=ROOT) -> tuple[float, PeakMemory, subprocess.CompletedProcess]:
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                text=True)
        memory = PeakMemory(proc.pid)
        proc.wait()
        elapsed = time.perf_counter() - start
        memory.close()
        log.seek(0)
        done = subprocess.CompletedProcess(cmd, proc.returncode, log.read(), "")
    if memory.others:
        print(f"WARNING: other grader runs went on during {Path(cmd[0]).name} {cmd[1:3]} (pids "
              f"{sorted(memory.others)}): they share the sandbox users, so they kill each other's "
              "kernels, and the timings are not reliable")
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return elapsed, memory, done


def plain_nbgrader(subs: Path, course: Path, kinds) -> dict:
    """A plain nbgrader course: generate each assignment, copy the gradable submissions,
    autograde one assignment after the other, export. Wall time and peak memory of each step."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    root = f"--CourseDirectory.root={course}"
    nbgrader = [str(BIN / "nbgrader")]
    steps = {"generate": 0.0, "autograde": 0.0, "export": 0.0, "peak": 0, "taken": 0}
    for a in ASSIGNMENTS:
        build.write_source(a, course)
        steps["generate"] += timed([*nbgrader, "generate_assignment", a, root, "--force"], env)[0]
    for (student, a), kind in kinds.items():
        if kind != "broken":
            dest = course / "submitted" / student / a
            dest.mkdir(parents=True)
            shutil.copyfile(subs / student / a / f"{a}.ipynb", dest / f"{a}.ipynb")
            steps["taken"] += 1
    for a in ASSIGNMENTS:
        seconds, memory, _ = timed([*nbgrader, "autograde", a, root, "--force"], env)
        steps["autograde"] += seconds
        steps["peak"] = max(steps["peak"], memory.total)
    steps["export"] = timed([*nbgrader, "export", root, f"--to={course / 'export.csv'}"], env)[0]
    return steps


def scores_ours(out: Path) -> dict:
    with open(out / "grades.csv") as fh:
        return {(r["student"], r["assignment"]): (float(r["score"]), r["status"])
                for r in csv.DictReader(fh)}


def scores_nbgrader(course: Path) -> dict:
    with open(course / "export.csv") as fh:
        return {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(fh)}


def other_graders() -> list[int]:
    """Pids of `python -m autograder grade` processes not started by this benchmark."""
    mine = {p.pid for p in psutil.Process().children(recursive=True)}
    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = p.info["cmdline"] or []
        if "autograder" in cmd and "grade" in cmd and p.info["pid"] not in mine:
            found.append(p.info["pid"])
    return found


def warn_if_other_graders() -> None:
    others = other_graders()
    if others:
        print(f"WARNING: other grader runs are going on (pids {others}): they share the sandbox "
              "users, so they kill each other's kernels, and the timings are not reliable")


def mib(n: int) -> str:
    return f"{n / 2 ** 20:.0f} MiB"


def where_time_goes(out: Path, kinds, wall: float, jobs: int, empty_wall: float) -> None:
    results = [json.loads(p.read_text()) for p in (out / "journal").glob("*.json")]
    seconds = [r["seconds"] for r in results]
    print(f"  per submission (worker seconds, from OUT/journal): median {statistics.median(seconds):.2f} s, "
          f"mean {statistics.mean(seconds):.2f} s, max {max(seconds):.2f} s")
    by_kind = {}
    for r in results:
        by_kind.setdefault(kinds[(r["student"], r["assignment"])], []).append(r["seconds"])
    print("  median by kind: " + ", ".join(f"{k} {statistics.median(v):.2f} s (n={len(v)})"
                                          for k, v in sorted(by_kind.items())))
    busy = sum(seconds) / jobs
    print(f"  sum of worker seconds / jobs: {busy:.1f} s of {wall:.1f} s wall; fixed cost of a run "
          f"with no students (generate, gradebook, reports): {empty_wall:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it (default: a temp dir)")
    parser.add_argument("--assignment", action="append",
                        help="only this assignment (repeatable; `demo` is the tests' demo, whose "
                             "notebook imports torch); default: the course's")
    args = parser.parse_args()
    ASSIGNMENTS[:] = args.assignment or paths.assignments()
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="grading-bench-"))
    try:
        run(scratch, args)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


def run(scratch: Path, args) -> None:
    subs, out, empty, course = (scratch / n for n in ("submissions", "ours", "empty", "plain"))
    subs.mkdir(parents=True)
    kinds = make_class(subs, args.students)
    assignments = ASSIGNMENTS
    n = len(kinds)
    counts = {k: sum(v == k for v in kinds.values()) for k in dict.fromkeys(KINDS)}
    print(f"class: {args.students} students x {len(assignments)} assignment(s) {assignments} = "
          f"{n} submissions; " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"machine: {os.cpu_count()} cores; ours with --jobs {args.jobs}")
    warn_if_other_graders()

    (scratch / "no-students").mkdir()
    named = [arg for a in ASSIGNMENTS for arg in ("--assignment", a)]
    empty_wall, _, _ = timed([sys.executable, "-m", "autograder", "grade", scratch / "no-students",
                              "--out", empty, "--jobs", str(args.jobs), *named])
    ours, memory, proc = timed([sys.executable, "-m", "autograder", "grade", subs, "--out", out,
                                "--jobs", str(args.jobs), *named])
    print(f"ours:  {ours:.1f} s wall, {ours / n:.2f} s per submission ({n}); "
          f"{proc.stdout.strip().splitlines()[-1]}")
    print(f"  peak memory of the grader's process tree: {mib(memory.total)} (sum of RSS); "
          f"largest single process {mib(memory.single)} ({memory.largest})")
    where_time_goes(out, kinds, ours, args.jobs, empty_wall)

    plain = plain_nbgrader(subs, course, kinds)
    taken, total = plain["taken"], plain["generate"] + plain["autograde"] + plain["export"]
    print(f"plain nbgrader, sequential ({taken} submissions: the {n - taken} broken ones left out, "
          f"it cannot take a missing or unparsable notebook): {total:.1f} s wall (generate_assignment "
          f"{plain['generate']:.1f} s, autograde {plain['autograde']:.1f} s, export "
          f"{plain['export']:.1f} s), {total / taken:.2f} s per submission; peak "
          f"{mib(plain['peak'])} (sum of RSS)")
    print(f"ratio plain / ours: wall {total / ours:.2f}; per submission "
          f"{(total / taken) / (ours / n):.2f}")
    compare_scores(scores_ours(out), scores_nbgrader(course), kinds)


def compare_scores(ours: dict, plain: dict, kinds) -> None:
    both = [k for k in ours if k in plain]
    differ = [(k, ours[k][0], plain[k]) for k in both if abs(ours[k][0] - plain[k]) > 1e-9]
    print(f"scores: {len(both)} submissions scored by both, {len(both) - len(differ)} identical, "
          f"{len(differ)} differ" + (":" if differ else ""))
    for (student, a), mine, theirs in sorted(differ):
        print(f"  {student}/{a} ({kinds[(student, a)]}): ours {mine:g}, nbgrader {theirs:g}")


if __name__ == "__main__":
    main()
