"""Properties of whole grading runs over the synthetic class of test_grade.py: one job gives
the results of parallel jobs; a run killed half-way (SIGKILL of `grade` alone) leaves no process
behind and resumes without grading anything twice; the grader's own failures are never
journaled and are retried; a resubmitted notebook is graded again; runs at the same time
(the same user twice, two users) do not collide; the gradebook works on PostgreSQL."""
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from autograder import paths

from conftest import run_cli


# The whole-run tests grade the class again on one assignment: the one-job run of the session
# (the `graded` fixture) covers them all, and a run of the class costs minutes.
ONE = "sequences"


def rows(path, assignment=None):
    with open(path) as fh:
        return sorted(tuple(r.items()) for r in csv.DictReader(fh)
                      if assignment is None or r["assignment"] == assignment)


def test_one_job_gives_the_parallel_results(graded, tmp_path):
    run_cli("grade", graded["subs"], "--out", tmp_path, "--jobs", "1", "--assignment", ONE)
    assert rows(tmp_path / "grades.csv") == rows(graded["out"] / "grades.csv", ONE)
    assert rows(tmp_path / "checks.csv") == rows(graded["out"] / "checks.csv", ONE)


def _journal(out):
    return {p.name: (p.stat().st_mtime_ns, p.read_text()) for p in (out / "journal").glob("*.json")}


def _processes() -> dict[int, tuple[int, str, str]]:
    """Every process: pid -> (parent pid, start time, state)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[int(entry)] = (int(fields[1]), fields[19], fields[0])
    return found


def descendants(pid: int) -> set[tuple[int, str]]:
    """(pid, start time) of every process below ``pid``."""
    table = _processes()
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for child, (ppid, start, _) in table.items():
            if ppid == parent:
                found.add((child, start))
                todo.append(child)
    return found


def still_running(processes) -> set[tuple[int, str]]:
    table = _processes()
    return {(pid, start) for pid, start in processes
            if pid in table and table[pid][1] == start and table[pid][2] != "Z"}


def test_a_killed_run_leaves_nothing_and_resumes_grading_each_submission_once(graded, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(graded["subs"]),
                             "--out", str(out), "--jobs", "2", "--assignment", ONE], cwd=paths.ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while ((len(_journal(out)) < 3 or len(descendants(proc.pid)) < 6)
           and proc.poll() is None and time.monotonic() < deadline):
        time.sleep(0.1)
    tree = descendants(proc.pid)  # workers, their kernels' sandboxes and kernels
    os.kill(proc.pid, signal.SIGKILL)  # the grading process alone, as `kill -9` does
    proc.wait()
    deadline = time.monotonic() + 5
    while still_running(tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(tree) >= 6 and not still_running(tree), still_running(tree)
    before = _journal(out)
    total = sum(a == ONE for _, a in graded["grades"])
    assert 3 <= len(before) < total, "the run was not interrupted half-way"
    assert not (out / "grades.csv").exists()

    second = run_cli("grade", graded["subs"], "--out", out, "--jobs", "2", "--assignment", ONE)
    assert f"{len(before)} from an earlier run" in second.stdout
    after = _journal(out)
    assert len(after) == total
    assert {k: after[k] for k in before} == before, "a finished submission was graded again"
    assert rows(out / "grades.csv") == rows(graded["out"] / "grades.csv", ONE)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'nbgrader' / 'gradebook.db'}", "rnn-course") as gb:
        with open(out / "grades.csv") as fh:
            for row in csv.DictReader(fh):
                subs = [s for s in gb.find_student(row["student"]).submissions
                        if s.assignment.name == row["assignment"]]
                if row["status"] == "graded":
                    assert len(subs) == 1 and subs[0].score == float(row["score"]), row
                else:
                    assert subs == [], row


SMALL = ("reference", "untouched", "only-encode")


def _small_class(graded, root: Path) -> Path:
    for student in SMALL:
        shutil.copytree(graded["subs"] / student / ONE, root / student / ONE)
    return root


INJECT = """import sys
import autograder.grade as grade
real = grade.grade_one
def grade_one(course, submissions, student, assignment):
    if student == "reference":
        raise RuntimeError("injected grader failure")
    return real(course, submissions, student, assignment)
grade.grade_one = grade_one
from autograder.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def reruns(graded, tmp_path_factory):
    """Runs into one OUT: with a grader failure injected for one student, then plain, then
    after a student resubmits, then with --regrade of one student."""
    root = tmp_path_factory.mktemp("reruns")
    subs, out = _small_class(graded, root / "subs"), root / "out"
    steps = {}

    def step(name, command):
        proc = subprocess.run(command, cwd=paths.ROOT, capture_output=True, text=True)
        steps[name] = {"proc": proc, "journal": _journal(out),
                       "grades": {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}}

    args = ["grade", str(subs), "--out", str(out), "--jobs", "1", "--assignment", ONE]
    step("injected", [sys.executable, "-c", INJECT, *args])
    step("rerun", [sys.executable, "-m", "autograder", *args])
    for path in (subs / "untouched").rglob("*.ipynb"):  # resubmits a complete notebook
        shutil.copyfile(subs / "reference" / path.relative_to(subs / "untouched"), path)
    step("resubmitted", [sys.executable, "-m", "autograder", *args])
    step("regrade", [sys.executable, "-m", "autograder", *args, "--regrade", "only-encode"])
    return steps


def _key(student):
    return f"{paths.assignments()[0]}--{student}.json"


def test_an_injected_grader_failure_is_reported_and_not_journaled(reruns):
    first = reruns["injected"]
    assert first["proc"].returncode == 1
    lines = first["proc"].stderr.strip().splitlines()
    assert len(lines) == 1 and "injected grader failure" in lines[0] and "reference" in lines[0]
    assert first["grades"]["reference"]["status"] == "error"
    assert _key("reference") not in first["journal"] and _key("untouched") in first["journal"]


def test_the_rerun_grades_what_failed_and_only_that(reruns):
    rerun = reruns["rerun"]
    assert rerun["proc"].returncode == 0, rerun["proc"].stderr
    assert rerun["grades"]["reference"]["status"] == "graded"
    assert float(rerun["grades"]["reference"]["score"]) == float(rerun["grades"]["reference"]["max_score"])
    for student in ("untouched", "only-encode"):
        assert rerun["journal"][_key(student)] == reruns["injected"]["journal"][_key(student)]


def test_a_resubmitted_notebook_is_graded_again(reruns):
    before, after = reruns["rerun"], reruns["resubmitted"]
    assert float(before["grades"]["untouched"]["score"]) == 0
    assert float(after["grades"]["untouched"]["score"]) == float(after["grades"]["untouched"]["max_score"])
    changed = {k for k in after["journal"] if after["journal"][k] != before["journal"].get(k)}
    assert changed == {_key("untouched")}


def test_regrade_grades_the_named_student_again(reruns):
    before, after = reruns["resubmitted"], reruns["regrade"]
    changed = {k for k in after["journal"] if after["journal"][k][0] != before["journal"][k][0]}
    assert changed == {_key("only-encode")}
    assert after["grades"] == before["grades"]


def _expected(graded, students):
    return [r for r in rows(graded["out"] / "grades.csv", ONE) if dict(r)["student"] in students]


def test_the_same_user_twice_at_once(graded, tmp_path):
    subs = _small_class(graded, tmp_path / "subs")
    procs = [subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(subs), "--out",
                               str(tmp_path / f"out{i}"), "--jobs", "2", "--assignment", ONE],
                              cwd=paths.ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    for i in range(2):
        assert rows(tmp_path / f"out{i}" / "grades.csv") == _expected(graded, SMALL)


OTHER_USER = os.environ.get("RNN_TEST_OTHER_USER")      # set by .ci/run: an ordinary user,
OTHER_PYTHON = os.environ.get("RNN_TEST_OTHER_PYTHON")  # the python of that user's venv,
OTHER_ROOT = os.environ.get("RNN_TEST_OTHER_ROOT")      # and that user's clone


@pytest.mark.skipif(os.geteuid() != 0 or not (OTHER_USER or os.environ.get("CI")),
                    reason="needs root and an ordinary user with a clone and venv of its own "
                           "(.ci/run sets RNN_TEST_OTHER_USER, _PYTHON, _ROOT)")
def test_two_users_at_once(graded, tmp_path):
    assert OTHER_USER and OTHER_PYTHON and OTHER_ROOT, "CI must set RNN_TEST_OTHER_* (.ci/run)"
    shared = Path(tempfile.mkdtemp(prefix="rnn-two-users-"))
    try:
        subs = _small_class(graded, shared / "subs")
        for path in [shared, *shared.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        theirs = shared / "theirs"
        theirs.mkdir()
        shutil.chown(theirs, OTHER_USER)
        other = subprocess.Popen(["runuser", "-u", OTHER_USER, "--", "env", "-i",
                                  f"HOME={Path('~' + OTHER_USER).expanduser()}",
                                  f"PATH={Path(OTHER_PYTHON).parent}:/usr/bin:/bin", OTHER_PYTHON,
                                  "-m", "autograder", "grade", str(subs), "--out", str(theirs / "out"),
                                  "--jobs", "2", "--assignment", ONE], cwd=OTHER_ROOT,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        mine = run_cli("grade", subs, "--out", tmp_path / "out", "--jobs", "2", "--assignment", ONE,
                       check=False)
        _, err = other.communicate(timeout=600)
        assert mine.returncode == 0, mine.stderr
        assert other.returncode == 0, err
        assert rows(tmp_path / "out" / "grades.csv") == _expected(graded, SMALL)
        assert rows(theirs / "out" / "grades.csv") == _expected(graded, SMALL)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


POSTGRES = os.environ.get("RNN_TEST_POSTGRES_URL")


@pytest.mark.skipif(not POSTGRES and not os.environ.get("CI"),
                    reason="no PostgreSQL server: .ci/run starts one and sets RNN_TEST_POSTGRES_URL")
def test_gradebook_on_postgresql(graded, tmp_path):
    assert POSTGRES, "CI must provide RNN_TEST_POSTGRES_URL (see .ci/run)"
    import psycopg

    name = f"rnn_test_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(POSTGRES, autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")
    url = POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    try:
        subs = tmp_path / "subs"
        for student in ("reference", "untouched", "only-encode", "unparsable", "missing"):
            shutil.copytree(graded["subs"] / student / ONE, subs / student / ONE)
        run_cli("grade", subs, "--out", tmp_path / "out", "--jobs", "2", "--db", url,
                "--assignment", ONE)
        expected = [r for r in rows(graded["out"] / "grades.csv", ONE)
                    if dict(r)["student"] in {p.name for p in subs.iterdir()}]
        assert rows(tmp_path / "out" / "grades.csv") == expected
        with psycopg.connect(url) as conn:
            count = conn.execute("SELECT count(*) FROM submitted_assignment").fetchone()[0]
        assert count == 3
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
