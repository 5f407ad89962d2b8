"""Checks, declared once per graded function, and judged in the trusted grader process.

Each assignment has a module ``autograder.checks.<assignment>`` with a list ``CHECKS`` of
:class:`Check`: the function's name, its cases per kind of test cell (``visible``: small cases
that the build also renders as the readable asserts of the notebook's visible test cell;
``hidden`` and any ``extra`` kinds: seeded random cases and edge cases), the points of each kind,
optional independent library oracles (numpy/torch/statsmodels, as micrograd's tests use torch)
and the tolerance. A case is plain data (``spec``): a call, or a chain of calls, whose arguments
may be torch tensors, modules, generators or callables given by a table, built inside the kernel.

The expected outcome of every case is the reference solution's (``autograder.reference``), run
through the same probe and codec as the student's, computed once per process and cached on disk
by the content of the sources; every oracle must agree too. A test cell ``<function>-<kind>`` is
scored by the cases of that kind.

When grading, the student's function runs in the sandboxed kernel (``probe``), its outcomes come
back as plain data (``codec``) and :func:`judge` compares them here, where the student's code
cannot reach. The same judging runs in-process for instructors through :func:`check`, which is
what a generated hidden test cell calls::

    from autograder.checks import check
    check("sequences", "one_hot", "hidden", globals())
"""
import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import codec, paths, probe, reference
from .compare import ATOL, RTOL, difference, verdict
from .spec import Call, Case, Generator, Module, Ref, Table, Tensor, case_form

__all__ = ["Call", "Case", "Check", "Generator", "Module", "Ref", "Table", "Tensor", "check",
           "judge", "cases", "kinds", "request", "failures", "summary", "declared_functions"]

MAX_REPORTED = 3
DEFAULT_POINTS = {"visible": 1, "hidden": 2}


@dataclass(frozen=True)
class Outcome:
    """What a custom ``judge`` compares: the (selected) result and the changed arguments'
    states after the call, as plain decoded data."""
    result: object
    after: dict


@dataclass(frozen=True)
class Check:
    function: str
    hidden: Callable[[np.random.Generator], list[Case]]
    visible: Callable[[], list[Case]] = lambda: []
    extra: dict[str, Callable[[np.random.Generator], list[Case]]] = field(default_factory=dict)
    points: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_POINTS))
    select: tuple | None = None
    oracles: dict[str, Callable] = field(default_factory=dict)
    judge: Callable | None = None
    depends: tuple = ()
    rtol: float = RTOL
    atol: float = ATOL
    seed: int = 0

    def kinds(self) -> list[str]:
        return list(self.points)


def _module(assignment: str):
    name = f"{__name__}.{assignment}"
    if name in sys.modules:
        return sys.modules[name]
    own = Path(__file__).with_name(f"{assignment}.py")
    if own.is_file():
        return importlib.import_module(name)
    path = paths.checks_file(assignment)  # an assignment outside solutions/ (the tests' demo)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def checks_of(assignment: str) -> dict[str, Check]:
    return {c.function: c for c in _module(assignment).CHECKS}


def declared_functions(assignment: str) -> list[str]:
    return list(checks_of(assignment))


def kinds(assignment: str, function: str) -> dict[str, int]:
    """The test cells of ``function``: kind -> points, in the order the notebook shows them."""
    return dict(checks_of(assignment)[function].points)


def cases(assignment: str, function: str, kind: str = "hidden") -> list[Case]:
    spec = checks_of(assignment)[function]
    if kind not in spec.points:
        raise KeyError(f"{function} has no {kind!r} test cell (kinds: {spec.kinds()})")
    if kind == "visible":
        return spec.visible()
    make = spec.hidden if kind == "hidden" else spec.extra[kind]
    return make(np.random.default_rng([spec.seed, sum(map(ord, kind))]))


@functools.cache
def _forms(assignment: str, function: str, kind: str) -> tuple[dict, ...]:
    spec = checks_of(assignment)[function]
    return tuple(case_form(c, function, spec.select) for c in cases(assignment, function, kind))


def request(assignment: str, grade_id: str, function: str, kind: str) -> str:
    """The JSON request that ``probe.capture`` runs in the kernel for one test cell."""
    return json.dumps({"id": grade_id, "cases": list(_forms(assignment, function, kind))})


def _content_key(assignment: str) -> str:
    """What the expected values depend on: the sources, the core and the library versions."""
    h = hashlib.sha256()
    files = sorted(paths.SOLUTIONS.glob("*.md")) + [paths.source_md(assignment),
                                                    Path(_module(assignment).__file__)]
    core = paths.ROOT / "autograder"
    files += [core / "codec.py", core / "probe.py", core / "reference.py",
              core / "checks" / "__init__.py", core / "checks" / "spec.py",
              core / "checks" / "compare.py"]
    for path in files:
        h.update(str(path.name).encode() + b"\0" + path.read_bytes())
    for package in ("numpy", "torch", "statsmodels"):
        try:
            h.update(importlib.metadata.version(package).encode())
        except importlib.metadata.PackageNotFoundError:
            pass
    return h.hexdigest()[:20]


def _cache_dir() -> Path:
    base = os.environ.get("RNN_GRADER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rnn-course")
    return Path(base) / "expected"


@functools.cache
def expected(assignment: str, function: str, kind: str) -> dict:
    """The reference's outcome of every case, and each oracle's (raw forms); computed once per
    process and kept on disk, keyed by the content of everything it depends on."""
    path = _cache_dir() / f"{assignment}.{function}.{kind}.{_content_key(assignment)}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    spec = checks_of(assignment)[function]
    namespace = vars(reference.load(assignment))
    forms = _forms(assignment, function, kind)
    outcomes = [probe.run_case(namespace, f) for f in forms]
    for case, outcome in zip(cases(assignment, function, kind), outcomes):
        if ("raised" in outcome) != bool(case.raises) or "unusable" in outcome:
            raise AssertionError(f"the reference of {function} fails its own case "
                                 f"{case.label!r}: {outcome}")
    oracle_results = {}
    if kind != "visible":  # visible cases judge by the reference alone, as the notebook does
        for name, oracle in spec.oracles.items():
            oracle_results[name] = [
                None if case.raises or case.steps else
                codec.encode(probe._select(oracle(*codec.decode(f["steps"][0]["args"], live=True),
                                                  **codec.decode(f["steps"][0]["kwargs"], live=True)),
                                           f["select"]))
                for case, f in zip(cases(assignment, function, kind), forms)]
    result = {"outcomes": outcomes, "oracles": oracle_results}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(result))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: computed again next time
    return result


def judge(assignment: str, function: str, kind: str, raw_results) -> list[str]:
    """Failure messages (empty: all pass) for the raw outcomes the kernel sent back."""
    spec = checks_of(assignment)[function]
    declared = cases(assignment, function, kind)
    forms = _forms(assignment, function, kind)
    if not isinstance(raw_results, list) or len(raw_results) != len(declared):
        return [f"{function}: the grader received no usable results for its checks"]
    want = expected(assignment, function, kind)
    found = []
    for i, (case, f, raw) in enumerate(zip(declared, forms, raw_results)):
        message = _judge_case(assignment, spec, case, f, raw, want["outcomes"][i],
                              {n: r[i] for n, r in want["oracles"].items()})
        if message:
            found.append(f"{function}({case.label}): {message}")
    return found


def _judge_case(assignment, spec: Check, case: Case, f: dict, raw, want: dict, oracles: dict):
    last = f["steps"][-1]
    before = {str(i): a for i, a in enumerate(last["args"]["v"]) if a.get("t") != "ref"}
    before.update({str(k["v"]): a for k, a in last["kwargs"]["v"] if a.get("t") != "ref"})
    before = {k: v for k, v in before.items() if v.get("t") not in ("module", "generator", "table")}
    names = reference.parameters(assignment, last["target"]) if last["on"] is None else ()
    custom = spec.judge is not None
    message = verdict(raw, want, before=before, raises=case.raises.__name__ if case.raises else None,
                      changes=f["changes"], select=f["select"], rtol=spec.rtol, atol=spec.atol,
                      names=names, values=not custom)
    if message or case.raises:
        return message
    if custom:
        def outcome(o):
            return Outcome(codec.decode(o["ok"]),
                           {k: codec.decode(v) for k, v in o["after"].items() if k in f["changes"]})
        return spec.judge(case, outcome(raw), outcome(want))
    got = codec.decode(raw["ok"])
    for name, result in oracles.items():
        if result is None:
            continue
        message = difference(codec.decode(result), got, rtol=spec.rtol, atol=spec.atol)
        if message:
            return f"disagrees with {name}: {message}"
    return None


def failures(assignment: str, function: str, namespace, kind: str = "hidden") -> list[str]:
    """In-process: run the cases on ``namespace`` (a notebook's globals, or the graded function
    itself) through the same probe and codec, and judge them."""
    if callable(namespace):
        namespace = {**vars(reference.load(assignment)), function: namespace}
    raw = [probe.run_case(namespace, f) for f in _forms(assignment, function, kind)]
    return judge(assignment, function, kind, raw)


def summary(function: str, found: list[str], kind: str) -> str:
    """The message of a failing test cell: how many cases failed and the first few."""
    more = f"\n(and {len(found) - MAX_REPORTED} more failing cases)" if len(found) > MAX_REPORTED else ""
    return (f"{len(found)} {kind} test case(s) of {function} failed:\n"
            + "\n".join(found[:MAX_REPORTED]) + more)


def check(assignment: str, function: str, kind: str = "hidden", namespace=None) -> None:
    """Raise AssertionError naming the first failures; silent when every case passes."""
    found = failures(assignment, function, namespace, kind)
    if found:
        raise AssertionError(summary(function, found, kind))
