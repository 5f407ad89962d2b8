"""Hostile and broken submissions: each costs only the points of what it breaks, every
submission gets its row, and the run finishes. One grading run (two jobs, short time limits)
over a class whose every student does one bad thing, on top of a complete reference solution
(or on the untouched student version, for the forgeries that try to gain points). Each test
cell's row in checks.csv is checked: what broke loses its points, everything else keeps them.
"""
import copy
import csv

import nbformat
import pytest

from autograder import build, checks, nbmeta, paths

from conftest import (ASSIGNMENTS, Listener, points_by_function, run_cli, student_version, with_functions,
                      write_submission)

A = ASSIGNMENTS[0]
FUNCTIONS = list(points_by_function(A))
VICTIM = FUNCTIONS[0]  # the function a student breaks on purpose

TOP_LEVEL = {  # a cell of its own after the first solution: it breaks no graded function
    "loop-ignoring-sigint": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                            "while True:\n    pass",
    "memory-bomb": "hog = [bytearray(2**28) for _ in range(10**4)]",
    "fork-bomb": "import os\nfor _ in range(10**5):\n    try:\n        os.fork()\n"
                 "    except OSError:\n        break",
    "sys-exit": "import sys\nsys.exit(3)",
    "os-exit": "import os\nos._exit(3)",
    "segfault": "import ctypes\nctypes.string_at(0)",
    "endless-output": "while True:\n    print('spam ' * 200)",
    "huge-output": "for _ in range(5000):\n    print('spam ' * 200)",
    "input": "name = input('your name? ')",
    # a listener of the test's own on the host's loopback (its port filled in by the fixture)
    "network": "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)",
    "fills-disk": "with open('big', 'wb') as fh:\n    fh.write(b'0' * 2**30)",
}

IN_FUNCTION = {  # the body of the victim function: it costs that function's points only
    "function-loops-forever": "while True:\n        pass",
    "function-exhausts-memory": "return [0] * 2**40",
    "function-kills-kernel": "import os\n    os._exit(1)",
}

# Stealing the reference solution: each body returns what the stolen code computes, so it would
# score if the file could be read (test_stealing_works_where_the_files_can_be_read shows that).
STEAL = """import json, re
    path = {path!r}
    text = open(path).read()
    if path.endswith(".ipynb"):
        text = "\\n".join("".join(c["source"]) for c in json.load(open(path))["cells"])
    code = re.search(r"(def {name}\\(.*?return [^\\n]*)", text, re.S).group(1)
    space = {{"np": __import__("numpy")}}
    exec(code, space)
    return space[{name!r}](*args)"""


def steal(path) -> str:
    return STEAL.format(path=str(path), name=VICTIM)


def _replace_function(nb, name, body, star_args=False):
    for cell in nb.cells:
        if nbmeta.is_solution(cell) and nbmeta.grade_id(cell) == name:
            args = "*args" if star_args else cell.source.split(f"def {name}(", 1)[1].split(")", 1)[0]
            cell.source = f"def {name}({args}):\n    {body}\n"
    return nb


def stealers(subs, out) -> dict[str, str]:
    """Where each thief reads the reference: the solutions, the gradebook, a classmate."""
    return {"steals-from-solutions": steal(paths.ROOT / "solutions" / f"{A}.md"),
            "steals-from-classmate": steal(subs / "numpy-beside" / A / f"{A}.ipynb")}


def snooper(out) -> str:
    """A cell that reports which secret files it could open (nbgrader's gradebook keeps the
    hidden tests; the grader's package and the tests say how grading works)."""
    targets = [out / "nbgrader" / "gradebook.db", paths.ROOT / "autograder" / "checks" / f"{A}.py",
               paths.ROOT / "solutions" / f"{A}.md", paths.ROOT / "tests" / "conftest.py"]
    return (f"for path in {[str(t) for t in targets]!r}:\n"
            # the words are assembled at run time: the cell's source shows in the feedback too
            "    try:\n        open(path, 'rb').read(16)\n        print('READ' + '-OK', path)\n"
            "    except OSError as err:\n        print('READ' + '-DENIED', type(err).__name__)")


def _insert_after_first_solution(nb, source):
    index = next(i for i, c in enumerate(nb.cells) if nbmeta.is_solution(c))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return nb


FORGERIES = {  # on the untouched version: tricks that fool plain nbgrader, never this grader
    "hides-tracebacks": "get_ipython().showtraceback = lambda *a, **k: None\n"
                        "get_ipython()._showtraceback = lambda *a, **k: None",
    "patches-numpy": "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                     "np.isclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True",
}


class AlwaysEqual:
    """Source of a class whose instances claim to equal anything."""
    SOURCE = ("class AlwaysEqual(list):\n    def __eq__(self, other):\n        return True\n"
              "    def __ne__(self, other):\n        return False\n"
              "    shape = property(lambda self: (2, 3))\n"
              "    dtype = property(lambda self: __import__('numpy').float64)\n")


@pytest.fixture(scope="module")
def hostile(released, tmp_path_factory):
    listener = Listener()
    subs = tmp_path_factory.mktemp("hostile")
    out = tmp_path_factory.mktemp("hostile-graded")
    student_nb = student_version(released, A)
    full = with_functions(copy.deepcopy(student_nb), A, FUNCTIONS)
    total = sum(points_by_function(A).values())
    expected = {}
    for name, source in TOP_LEVEL.items():
        source = source.replace("{port}", str(listener.port))
        write_submission(subs, name, A, _insert_after_first_solution(copy.deepcopy(full), source))
        expected[name] = total
    for name, body in IN_FUNCTION.items():
        write_submission(subs, name, A, _replace_function(copy.deepcopy(full), VICTIM, body))
        expected[name] = total - points_by_function(A)[VICTIM]
    write_submission(subs, "snoops", A, _insert_after_first_solution(copy.deepcopy(full),
                                                                       snooper(out)))
    expected["snoops"] = total
    for name, body in stealers(subs, out).items():
        write_submission(subs, name, A, _replace_function(copy.deepcopy(full), VICTIM, body,
                                                          star_args=True))
        expected[name] = total - points_by_function(A)[VICTIM]
    # a warning on stderr inside a correct function costs nothing
    warned = copy.deepcopy(full)
    for cell in warned.cells:
        if nbmeta.is_solution(cell) and nbmeta.grade_id(cell) == VICTIM:
            cell.source = cell.source.replace(
                '"""\n', '"""\n    import sys, warnings\n    warnings.warn("deprecated")\n'
                         '    print("note", file=sys.stderr)\n', 1)
    write_submission(subs, "stderr-warnings", A, warned)
    expected["stderr-warnings"] = total
    # a numpy.py beside the notebook is not the kernel's numpy
    write_submission(subs, "numpy-beside", A, full)
    (subs / "numpy-beside" / A / "numpy.py").write_text("raise ImportError('shadowed')\n")
    expected["numpy-beside"] = total
    # a duplicated test cell is graded once
    duplicated = copy.deepcopy(full)
    first_test = next(c for c in duplicated.cells if nbmeta.is_grade(c))
    duplicated.cells.append(nbformat.v4.new_code_cell(first_test.source,
                                                      metadata=copy.deepcopy(first_test.metadata)))
    write_submission(subs, "duplicated-tests", A, duplicated)
    expected["duplicated-tests"] = total
    for name, source in FORGERIES.items():
        write_submission(subs, name, A, _insert_after_first_solution(copy.deepcopy(student_nb), source))
        expected[name] = 0
    always = copy.deepcopy(student_nb)
    for f in FUNCTIONS:
        _replace_function(always, f, "return AlwaysEqual()")
    _insert_after_first_solution(always, AlwaysEqual.SOURCE + FORGERIES["hides-tracebacks"])
    always.cells.insert(0, nbformat.v4.new_code_cell(AlwaysEqual.SOURCE))
    write_submission(subs, "always-equal", A, always)
    expected["always-equal"] = 0
    proc = run_cli("grade", subs, "--out", out, "--assignment", A, "--jobs", "2", "--cell-timeout", "4",
                   "--notebook-timeout", "60", "--memory-mb", "3072")
    listener.close()
    with open(out / "grades.csv") as fh:
        grades = {r["student"]: r for r in csv.DictReader(fh)}
    with open(out / "checks.csv") as fh:
        cells = [r for r in csv.DictReader(fh)]
    return {"grades": grades, "expected": expected, "out": out, "stdout": proc.stdout,
            "subs": subs, "checks": cells, "connections": listener.accepted}


def test_every_hostile_submission_has_its_row(hostile):
    assert set(hostile["grades"]) == set(hostile["expected"])
    for student, row in hostile["grades"].items():
        assert row["status"] == "graded", (student, row)


STEALERS = ["steals-from-solutions", "steals-from-classmate"]


@pytest.mark.parametrize("student", list(TOP_LEVEL) + list(IN_FUNCTION) + STEALERS + [
    "stderr-warnings", "numpy-beside", "duplicated-tests"] + list(FORGERIES) + ["always-equal"])
def test_costs_only_what_it_breaks(hostile, student):
    row = hostile["grades"][student]
    assert float(row["score"]) == hostile["expected"][student], row
    cells = {r["grade_id"]: r for r in hostile["checks"] if r["student"] == student}
    assert set(cells) == GRADE_IDS
    for gid, cell in cells.items():
        if student in FORGERIES or student == "always-equal":
            keeps = False  # nothing was implemented
        else:
            keeps = not ((student in IN_FUNCTION or student in STEALERS)
                         and nbmeta.graded_function(gid) == VICTIM)
        assert float(cell["score"]) == (float(cell["max_score"]) if keeps else 0), cell


GRADE_IDS = {nbmeta.grade_id(c) for c in build.source_notebook(A).cells if nbmeta.is_grade(c)}


def test_the_network_student_reached_nothing(hostile):
    assert hostile["connections"] == 0
    page = (hostile["out"] / "feedback" / "network" / A / f"{A}.html").read_text()
    assert "ConnectionRefusedError" in page or "OSError" in page


def test_stopped_cells_are_explained(hostile):
    reasons = {s: r["reason"] for s, r in hostile["grades"].items()}
    assert "ran longer than" in reasons["loop-ignoring-sigint"]
    assert "kernel died" in reasons["os-exit"]
    assert "kernel died" in reasons["segfault"]


def test_endless_output_is_capped(hostile):
    page = hostile["out"] / "feedback" / "huge-output" / A / f"{A}.html"
    html = page.read_text()
    assert "output truncated by the grader" in html
    assert page.stat().st_size < 2_000_000
    endless = hostile["out"] / "feedback" / "endless-output" / A / f"{A}.html"
    assert endless.stat().st_size < 2_000_000


def test_forgeries_are_told_what_failed(hostile):
    page = (hostile["out"] / "feedback" / "always-equal" / A / f"{A}.html").read_text()
    assert "CheckFailed" in page and "AlwaysEqual" in page


def test_stealing_works_where_the_files_can_be_read(hostile):
    # Run in the grader's own process, where nothing is hidden, each thief passes the checks:
    # so their failing in the sandbox is the sandbox's doing.
    for name, body in stealers(hostile["subs"], hostile["out"]).items():
        space = {}
        exec(f"def {VICTIM}(*args):\n    {body}\n", space)
        assert checks.failures(A, VICTIM, space[VICTIM]) == [], name


def test_secret_files_cannot_be_opened(hostile):
    page = (hostile["out"] / "feedback" / "snoops" / A / f"{A}.html").read_text()
    assert page.count("READ-DENIED") == 4 and "READ-OK" not in page
