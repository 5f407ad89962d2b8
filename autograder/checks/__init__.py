"""Hidden checks, declared once per graded function.

Each assignment has a module ``autograder.checks.<assignment>`` with a list ``CHECKS`` of
:class:`Check`: the function's name, a generator of input cases (seeded, so grading is
reproducible), optional independent library oracles (numpy/torch, as micrograd's tests use torch),
and the tolerance. The expected result of every case is the reference solution's (see
``autograder.reference``); an oracle must agree too.

A hidden test cell only names its check::

    from autograder.checks import check
    check("sequences", "one_hot", one_hot)

so where the check runs can change without touching any assignment.
"""
import copy
import importlib
import traceback
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import reference
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
    cases: Callable[[np.random.Generator], list[Case]]
    oracles: dict[str, Callable] = field(default_factory=dict)
    rtol: float = RTOL
    atol: float = ATOL
    seed: int = 0


def checks_of(assignment: str) -> dict[str, Check]:
    module = importlib.import_module(f"{__name__}.{assignment}")
    return {c.function: c for c in module.CHECKS}


def declared_functions(assignment: str) -> list[str]:
    return list(checks_of(assignment))


def cases(assignment: str, function: str) -> list[Case]:
    spec = checks_of(assignment)[function]
    return spec.cases(np.random.default_rng(spec.seed))


def failures(assignment: str, function: str, student_fn) -> list[str]:
    """Run every case of the check; returns one message per failing case (empty: all pass)."""
    spec = checks_of(assignment)[function]
    ref = reference.function(assignment, function)
    found = []
    for case in cases(assignment, function):
        message = _run_case(spec, case, ref, student_fn)
        if message:
            found.append(f"{function}({case.label}): {message}")
    return found


def check(assignment: str, function: str, student_fn) -> None:
    """Raise AssertionError naming the first failures of ``student_fn``; silent when it passes."""
    found = failures(assignment, function, student_fn)
    if found:
        more = f"\n(and {len(found) - MAX_REPORTED} more failing cases)" if len(found) > MAX_REPORTED else ""
        raise AssertionError(f"{len(found)} hidden test case(s) of {function} failed:\n"
                             + "\n".join(found[:MAX_REPORTED]) + more)


def _run_case(spec: Check, case: Case, ref, student_fn) -> str | None:
    args = copy.deepcopy(case.args)
    try:
        got = student_fn(*args)
    except Exception as err:  # the student's exception is the finding, not a grader failure
        if case.raises and isinstance(err, case.raises):
            return None
        expected = f"expected {case.raises.__name__}" if case.raises else "expected a result"
        return f"{expected}, but it raised {_exception_summary(err)}"
    if case.raises:
        return f"expected {case.raises.__name__}, but it returned {short(got)}"
    for i, (before, after) in enumerate(zip(case.args, args)):
        if difference(before, after, rtol=0, atol=0):
            return f"it modified its input argument {i}; functions must not change their inputs"
    expected = ref(*copy.deepcopy(case.args))
    message = difference(expected, got, rtol=spec.rtol, atol=spec.atol)
    if message:
        return message
    for name, oracle in spec.oracles.items():
        message = difference(oracle(*copy.deepcopy(case.args)), got, rtol=spec.rtol, atol=spec.atol)
        if message:
            return f"disagrees with {name}: {message}"
    return None


def _exception_summary(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    where = f" (line {frames[-1].lineno})" if frames else ""
    return f"{type(err).__name__}: {short(str(err), 120)}{where}"
