"""Grade a folder of submissions laid out as ``SUBMISSIONS/<student>/<assignment>/<assignment>.ipynb``.

Every (student, assignment) pair gets a result, whatever happens to its notebook: ``intake``
rejects or repairs the file, nbgrader ``autograde`` runs it in the sandbox and scores it into the
gradebook from the grader's own verdicts, ``generate_feedback`` renders the HTML the student
gets back, and ``report`` writes the CSVs and the instructor's report.

Submissions are graded ``jobs`` at a time, each in a fresh kernel, by worker processes that each
own one sandbox slot and die with the grading process, however it ends. A journal
(``OUT/journal/``) records each finished submission atomically, with a digest of the notebook it
graded: a run killed half-way and started again grades only what the journal lacks (or what
changed since), so every submission ends graded exactly once. An error of the grader itself
(not of the student's code) is never journaled: the run reports it (``GradeRun.errors``, a
non-zero exit) and the next run grades that submission again.
"""
import hashlib
import html
import json
import multiprocessing
import multiprocessing.util
import os
import shutil
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from tqdm import tqdm

from . import intake, paths, quiet_library_warnings, report, sandbox
from .course import Course, StepFailed
from .preprocessors import LAST_RUN, close_runners
from .sandbox import Limits, claim_slot


@dataclass
class Result:
    """One student's result on one assignment."""
    student: str
    assignment: str
    status: str                 # graded | rejected | error (of the grader: never journaled)
    score: float = 0.0
    max_score: float = 0.0
    reason: str = ""
    seconds: float = 0.0
    digest: str = ""
    checks: list[dict] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    kernel_errors: dict[str, str] = field(default_factory=dict)  # cell -> the kernel's error


@dataclass
class GradeRun:
    results: list[Result]
    out: Path
    resumed: int = 0            # results taken from the journal of an earlier, interrupted run

    @property
    def errors(self) -> list[Result]:
        """Submissions the grader failed on (not journaled: the next run grades them)."""
        return [r for r in self.results if r.status == "error"]


def students(submissions: Path) -> list[str]:
    return sorted(p.name for p in Path(submissions).iterdir()
                  if p.is_dir() and not p.name.startswith("."))


def digest(folder: Path) -> str:
    """What the submission is: a hash of its folder's notebooks (names and bytes)."""
    h = hashlib.sha256()
    for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


class Journal:
    """One JSON file per finished (student, assignment), written atomically."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, student: str, assignment: str) -> Path:
        return self.root / f"{assignment}--{student}.json"

    def load(self, student: str, assignment: str, expected_digest: str) -> Result | None:
        try:
            data = json.loads(self._path(student, assignment).read_text())
        except (OSError, ValueError):
            return None
        if data.get("digest") != expected_digest or data.get("status") == "error":
            return None
        return Result(**data)

    def record(self, result: Result) -> None:
        if result.status == "error":  # the grader's failure, not a grade: retried next run
            return
        path = self._path(result.student, result.assignment)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(result)))
        os.replace(tmp, path)


def grade(submissions, out, *, assignments: list[str] | None = None, db_url: str | None = None,
          jobs: int = 1, limits: Limits = Limits(), progress: bool | None = None,
          regrade: list[str] | None = None) -> GradeRun:
    """Grade every submission the journal of ``out`` lacks; ``regrade`` grades again the named
    students (all of them when it is empty) whatever the journal says. Raises
    ``sandbox.Unavailable`` when the kernels cannot be sandboxed (and no unsafe flag)."""
    sandbox.sandboxed()
    sandbox.state_base()  # a private folder of this user's: refuse now, not in each worker
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    assignments = assignments or paths.assignments()
    people = students(submissions)
    journal = Journal(out / "journal")
    # assignment by assignment: a worker's prestarted kernel then warms up for the right one
    pairs = [(s, a) for a in assignments for s in people]
    digests = {p: digest(submissions / p[0] / p[1]) for p in pairs}
    forced = set(people) if regrade == [] else set(regrade or [])
    done = {p: r for p in pairs if p[0] not in forced and (r := journal.load(*p, digests[p]))}
    todo = [p for p in pairs if p not in done]
    course = Course(out / "nbgrader", db_url)
    with Workers(todo, submissions, out, db_url, jobs, limits) as workers:
        # The workers import, and launch their first kernels, while the assignments are generated.
        for assignment in assignments:
            course.generate(assignment)
        course.add_students(people)
        # The report's plotting library loads while the workers grade (not after them).
        threading.Thread(target=report.prepare, daemon=True).start()
        # On a terminal (or when asked): count, percentage, rate and ETA, and the last result.
        bar = tqdm(total=len(pairs), initial=len(done), unit="submission", file=sys.stderr,
                   disable=not (sys.stderr.isatty() if progress is None else progress),
                   dynamic_ncols=True, smoothing=0.1)
        for result in workers.results():
            result.digest = digests[(result.student, result.assignment)]
            journal.record(result)
            done[(result.student, result.assignment)] = result
            bar.set_postfix_str(f"{result.student}/{result.assignment}: {result.status}",
                                refresh=False)
            bar.update()
        bar.close()
        workers.release()  # they stop their spare kernels while the reports are written
        results = [done[p] for p in pairs]
        report.write(out, results, course)
    return GradeRun(results, out, resumed=len(pairs) - len(todo))


class Workers:
    """The processes that grade the pairs ``todo``: ``jobs`` pool workers (each owning a
    sandbox slot, dying with this process), or this process itself for one job. They start
    on entry, each importing and launching its first kernel, so that this start-up overlaps
    whatever the caller does before :meth:`results` (generating the assignments)."""

    def __init__(self, todo, submissions: Path, out: Path, db_url, jobs: int, limits: Limits):
        self.todo, self.submissions, self.pool = todo, submissions, None
        self.setup = (out, db_url, [str(submissions), str(out)], limits,
                      todo[0][1] if todo else None)
        self.pooled = jobs > 1 and len(todo) > 1
        self.jobs = jobs
        self._stopping = None  # the thread that shuts the pool down

    def __enter__(self) -> "Workers":
        if self.pooled:
            # Forked, the workers start with this process's imports (~1 s each less), which is
            # safe only while no other thread exists (one could hold a lock mid-way): a pool
            # that forks starts all its workers at once, before its own manager thread.
            alone = sys.platform == "linux" and threading.active_count() == 1
            ctx = multiprocessing.get_context("fork" if alone else "spawn")
            self.pool = ProcessPoolExecutor(self.jobs, mp_context=ctx, initializer=_init_worker,
                                            initargs=(*self.setup, True))
            for _ in range(self.jobs):  # a spawning pool starts a worker per waiting task
                self.pool.submit(int)
        elif self.todo:
            _init_worker(*self.setup, pooled=False)
        return self

    def release(self) -> None:
        """Let the workers go, without waiting for them (see ``__exit__``)."""
        if self.pool is not None and self._stopping is None:
            self._stopping = threading.Thread(target=self.pool.shutdown,
                                              kwargs={"cancel_futures": True})
            self._stopping.start()

    def __exit__(self, *exc) -> None:
        self.release()
        if self._stopping is not None:
            self._stopping.join()

    def results(self):
        """Grade the pairs, yielding each result as it finishes."""
        if self.pool is None:
            for student, assignment in self.todo:
                try:
                    yield _grade_task(self.submissions, student, assignment)
                except Exception as err:  # the grader's own failure: the run goes on
                    yield Result(student, assignment, "error", reason=f"grader error: {err!r}"[:300])
            return
        futures = {self.pool.submit(_grade_task, self.submissions, s, a): (s, a)
                   for s, a in self.todo}
        for future in as_completed(futures):
            student, assignment = futures[future]
            try:
                yield future.result()
            except Exception as err:  # a worker died: the submission still gets its row
                yield Result(student, assignment, "error", reason=f"grader error: {err!r}"[:300])


_WORKER: dict = {}


def _init_worker(out: Path, db_url, hide, limits: Limits, first: str | None,
                 pooled: bool) -> None:
    if pooled:  # a worker dies with the grading process (even killed), its kernels with it
        sandbox.die_with_parent()
        # A forked worker ends without atexit; multiprocessing's finalizers run either way:
        # the spare kernel, the zygote and the run folder go with the worker.
        multiprocessing.util.Finalize(None, close_runners, exitpriority=10)
    quiet_library_warnings()
    if "slot" not in _WORKER:  # one sandbox slot per worker process, for its lifetime
        _WORKER["slot"], _WORKER["slot_lock"] = claim_slot()
    _WORKER["course"] = Course(out / "nbgrader", db_url, slot=_WORKER["slot"], hide=hide,
                               limits=limits)
    _WORKER["out"] = out
    if first:
        try:
            _WORKER["course"].warm_up(first)
        except Exception:  # the first notebook starts its kernel afresh, with retries
            pass


def _grade_task(submissions: Path, student: str, assignment: str) -> Result:
    course, out = _WORKER["course"], _WORKER["out"]
    started = time.monotonic()
    result = grade_one(course, submissions, student, assignment)
    result.seconds = round(time.monotonic() - started, 3)
    _publish_feedback(course, out, result)
    return result


def grade_one(course: Course, submissions: Path, student: str, assignment: str) -> Result:
    folder = submissions / student / assignment
    released = nbformat.read(course.released(assignment), as_version=4)
    try:
        taken = intake.read(folder, assignment, released)
    except intake.Rejected as err:
        return Result(student, assignment, "rejected", reason=str(err))
    dest = course.path(course.coursedir.submitted_directory, assignment, student)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    nbformat.write(taken.notebook, dest / f"{assignment}.ipynb")
    LAST_RUN.clear()
    try:
        course.autograde(assignment, student)
        course.feedback(assignment, student)
    except StepFailed as err:
        return Result(student, assignment, "error", reason=_first_error_line(str(err)))
    notes = taken.notes + list(LAST_RUN.get("events", []))
    return Result(student, assignment, "graded", reason="; ".join(notes),
                  failures={gid: found[0] for gid, found in LAST_RUN.get("verdicts", {}).items()
                            if found},
                  kernel_errors=dict(LAST_RUN.get("kernel_errors", {})))


def _first_error_line(log: str) -> str:
    lines = [l for l in log.splitlines() if l.startswith("[ERROR]")] or log.splitlines()[-1:]
    return "grader error: " + (lines[0] if lines else "unknown")[:300]


def _publish_feedback(course: Course, out: Path, result: Result) -> None:
    """Copy nbgrader's feedback to ``out/feedback/<student>/<assignment>/<assignment>.html``,
    or write a short page saying why there is none."""
    dest = out / "feedback" / result.student / result.assignment / f"{result.assignment}.html"
    dest.parent.mkdir(parents=True, exist_ok=True)
    generated = (course.path(course.coursedir.feedback_directory, result.assignment, result.student)
                 / f"{result.assignment}.html")
    if result.status == "graded" and generated.is_file():
        shutil.copyfile(generated, dest)
    else:
        dest.write_text(
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{result.assignment}</title>"
            f"</head><body><h1>{html.escape(result.assignment)}: not graded</h1>"
            f"<p>Score: 0. {html.escape(result.reason)}</p></body></html>")
