"""Properties of whole grading runs over the synthetic class of test_grade.py: parallel jobs
give the one-job results, a run killed half-way resumes without grading anything twice, and
the gradebook works on a real PostgreSQL server."""
import csv
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

from autograder import paths

from conftest import run_cli


def rows(path):
    with open(path) as fh:
        return sorted(tuple(r.items()) for r in csv.DictReader(fh))


def test_parallel_jobs_give_the_one_job_results(graded, tmp_path):
    run_cli("grade", graded["subs"], "--out", tmp_path, "--jobs", "2")
    assert rows(tmp_path / "grades.csv") == rows(graded["out"] / "grades.csv")
    assert rows(tmp_path / "checks.csv") == rows(graded["out"] / "checks.csv")


def _journal(out):
    return {p.name: (p.stat().st_mtime_ns, p.read_text()) for p in (out / "journal").glob("*.json")}


def test_a_killed_run_resumes_and_grades_each_submission_once(graded, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(graded["subs"]),
                             "--out", str(out), "--jobs", "1"], cwd=paths.ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while len(_journal(out)) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _journal(out)
    total = len(graded["grades"])
    assert 3 <= len(before) < total, "the run was not interrupted half-way"
    assert not (out / "grades.csv").exists()

    second = run_cli("grade", graded["subs"], "--out", out, "--jobs", "2")
    assert f"{len(before)} from an earlier run" in second.stdout
    after = _journal(out)
    assert len(after) == total
    assert {k: after[k] for k in before} == before, "a finished submission was graded again"
    assert rows(out / "grades.csv") == rows(graded["out"] / "grades.csv")

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
            shutil.copytree(graded["subs"] / student, subs / student)
        run_cli("grade", subs, "--out", tmp_path / "out", "--jobs", "2", "--db", url)
        expected = [r for r in rows(graded["out"] / "grades.csv")
                    if dict(r)["student"] in {p.name for p in subs.iterdir()}]
        assert rows(tmp_path / "out" / "grades.csv") == expected
        with psycopg.connect(url) as conn:
            count = conn.execute("SELECT count(*) FROM submitted_assignment").fetchone()[0]
        assert count == 3 * len(paths.assignments())
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
