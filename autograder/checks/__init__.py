"""Checks, declared once per graded function, and judged in the trusted grader process.

Each assignment has a module ``autograder.checks.<assignment>`` with a list ``CHECKS`` of
:class:`Check`: the function's name, its input cases per kind of test cell (``visible`` mirrors
the asserts a student can read in the notebook; ``hidden`` adds random, seeded cases), optional
independent library oracles (numpy/torch, as micrograd's tests use torch) and the tolerance. The
expected result of every case is the reference solution's (``autograder.reference``); an oracle
must agree too. A test cell ``<function>-<kind>`` is scored by the cases of that kind.

When grading, the student's function runs in the sandboxed kernel (``probe``), its results come
back as plain data (``codec``) and :func:`judge` compares them here, where the student's code
cannot reach. The same judging runs in-process for instructors through :func:`check`, which is
what a hidden test cell calls::

    from autograder.checks import check
    check("sequences", "one_hot", one_hot)
"""
import copy
import importlib
import json
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import codec, probe, reference
from .compare import ATOL, RTOL, difference, short

MAX_REPORTED = 3


@dataclass(frozen=True)
class Case:
    """One call of the graded function: positional args, a label for messages, and whether it
    must raise (an exception type) instead of returning."""
    args: tuple
    label: str
    raises: type[BaseException] | None = None


@dataclass(frozen=True)
class Check:
    function: str
    hidden: Callable[[np.random.Generator], list[Case]]
    visible: Callable[[], list[Case]] = lambda: []
    oracles: dict[str, Callable] = field(default_factory=dict)
    rtol: float = RTOL
    atol: float = ATOL
    seed: int = 0

    def kinds(self) -> list[str]:
        return ["visible", "hidden"]


def checks_of(assignment: str) -> dict[str, Check]:
    module = importlib.import_module(f"{__name__}.{assignment}")
    return {c.function: c for c in module.CHECKS}


def declared_functions(assignment: str) -> list[str]:
    return list(checks_of(assignment))


def cases(assignment: str, function: str, kind: str = "hidden") -> list[Case]:
    spec = checks_of(assignment)[function]
    if kind == "hidden":
        return spec.hidden(np.random.default_rng(spec.seed))
    if kind == "visible":
        return spec.visible()
    raise KeyError(f"{function} has no {kind!r} cases (kinds: {spec.kinds()})")


def request(assignment: str, grade_id: str, function: str, kind: str) -> str:
    """The JSON request that ``probe.capture`` runs in the kernel for one test cell."""
    return json.dumps({"id": grade_id, "function": function,
                       "cases": [codec.encode(list(c.args)) for c in cases(assignment, function, kind)]})


def judge(assignment: str, function: str, kind: str, raw_results) -> list[str]:
    """Failure messages (empty: all pass) for the raw results the kernel sent back."""
    spec = checks_of(assignment)[function]
    ref = reference.function(assignment, function)
    expected_cases = cases(assignment, function, kind)
    if not isinstance(raw_results, list) or len(raw_results) != len(expected_cases):
        return [f"{function}: the grader received no usable results for its checks"]
    found = []
    for case, raw in zip(expected_cases, raw_results):
        message = _judge_case(spec, case, raw, ref)
        if message:
            found.append(f"{function}({case.label}): {message}")
    return found


def failures(assignment: str, function: str, student_fn, kind: str = "hidden") -> list[str]:
    """In-process: run ``student_fn`` on every case through the same probe and codec."""
    raw = [probe.call(student_fn, codec.encode(list(c.args)))
           for c in cases(assignment, function, kind)]
    return judge(assignment, function, kind, raw)


def summary(function: str, found: list[str], kind: str) -> str:
    """The message of a failing test cell: how many cases failed and the first few."""
    more = f"\n(and {len(found) - MAX_REPORTED} more failing cases)" if len(found) > MAX_REPORTED else ""
    return (f"{len(found)} {kind} test case(s) of {function} failed:\n"
            + "\n".join(found[:MAX_REPORTED]) + more)


def check(assignment: str, function: str, student_fn) -> None:
    """Raise AssertionError naming the first failures of ``student_fn``; silent when it passes."""
    found = failures(assignment, function, student_fn)
    if found:
        raise AssertionError(summary(function, found, "hidden"))


def _roundtrip(value):
    # Expected values take the same path as the student's, so both compare as plain data.
    return codec.decode(codec.encode(value))


def _judge_case(spec: Check, case: Case, raw, ref) -> str | None:
    if not isinstance(raw, dict):
        return "the grader received a malformed result"
    if "raised" in raw:
        names, message = raw.get("raised"), str(raw.get("message", ""))[:300]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            return "the grader received a malformed result"
        if case.raises and case.raises.__name__ in names:
            return None
        expected = f"expected {case.raises.__name__}" if case.raises else "expected a result"
        detail = f": {short(message, 120)}" if message else ""
        return f"{expected}, but it raised {names[0]}{detail}"
    try:
        got, after = codec.decode(raw.get("ok")), codec.decode(raw.get("after"))
    except codec.DecodeError as err:
        return f"the grader could not read the result ({err})"
    if case.raises:
        return f"expected {case.raises.__name__}, but it returned {short(got)}"
    if difference(_roundtrip(list(case.args)), after, rtol=0, atol=0):
        return "it modified its input arguments; functions must not change their inputs"
    expected = _roundtrip(ref(*copy.deepcopy(case.args)))
    message = difference(expected, got, rtol=spec.rtol, atol=spec.atol)
    if message:
        return message
    for name, oracle in spec.oracles.items():
        message = difference(_roundtrip(oracle(*copy.deepcopy(case.args))), got,
                             rtol=spec.rtol, atol=spec.atol)
        if message:
            return f"disagrees with {name}: {message}"
    return None
