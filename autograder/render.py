"""Python source for a notebook: the test-helper cell and each function's generated test cells.

The visible test cell of a function is rendered from the same declared cases the grader scores
its visible points with: each case becomes the arguments as literals and one ``expect(...)``
call holding the reference's result, judged by the grader's own code (``probe.expect``), so that
passing every visible assert and earning every visible point are the same thing. Hidden test
cells only name their check; their cases never reach the student.
"""
import pprint

import numpy as np

from . import codec, paths, reference
from .checks import spec

HELPER_FILES = ("autograder/codec.py", "autograder/checks/compare.py", "autograder/probe.py")
HELPER_NAMES = ("expect", "step", "ref", "nn_module", "TableFunction", "ModuleState",
                "GeneratorState")
WIDTH = 92


class RenderError(ValueError):
    """A visible case holds a value that has no readable literal."""


def helper_cell() -> str:
    """The locked cell that defines ``expect`` and friends from the grader's own files, in a
    private namespace (a student's ``decode`` must not replace the codec's)."""
    source = "\n\n".join((paths.ROOT / f).read_text() for f in HELPER_FILES)
    if "'''" in source:
        raise RenderError("the helper sources must not contain triple single quotes")
    return ("# Test helpers (provided, not graded; do not edit). The visible tests below call\n"
            "# expect(...): it runs your function and judges the result with the grader's own\n"
            "# code, so a visible test passes here exactly when it earns its point.\n"
            "def _load_test_helpers():\n"
            "    namespace = {'__name__': 'rnn_course_test_helpers'}\n"
            f"    exec(r'''{source}''', namespace)\n"
            f"    return [namespace[name] for name in {HELPER_NAMES!r}]\n\n\n"
            f"{', '.join(HELPER_NAMES)} = _load_test_helpers()\n")


def literal(value) -> str:
    """A Python expression that builds ``value`` in a notebook (numpy as np, torch)."""
    if value is None or type(value) in (bool, int, str):
        return repr(value)
    if type(value) is float:
        return repr(value) if np.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, np.ndarray):
        dtype = "bool" if value.dtype == bool else value.dtype.name
        if value.size == 0:
            return f"np.zeros({value.shape!r}, dtype=np.{dtype})"
        return f"np.array({_nested(value.tolist())}, dtype=np.{dtype})"
    if isinstance(value, np.generic):
        return f"np.{value.dtype.name}({value.item()!r})"
    if isinstance(value, (spec.Tensor, codec.Tensor)):
        array = np.asarray(value.array)
        dtype = value.dtype if isinstance(value, spec.Tensor) else value.torch_dtype
        grad = ", requires_grad=True" if value.requires_grad else ""
        return f"torch.tensor({_nested(array.tolist())}, dtype=torch.{dtype}{grad})"
    if isinstance(value, codec.ModuleState):
        return f"ModuleState({value.cls!r}, {literal(value.state)})"
    if isinstance(value, codec.GeneratorState):
        return f"GeneratorState({value.draws!r})"
    if isinstance(value, spec.Module):
        how = f"seed={value.seed}" if value.state is None else f"state={literal(value.state)}"
        dtype = "" if value.dtype == "float64" else f", dtype={value.dtype!r}"
        return f"nn_module({value.cls!r}, {literal(dict(value.kwargs))}, {how}{dtype})"
    if isinstance(value, spec.Generator):
        return f"torch.Generator().manual_seed({int(value.seed)})"
    if isinstance(value, spec.Table):
        default = "" if value.default is None else f", default={literal(value.default)}"
        return f"TableFunction({literal(dict(value.entries))}{default})"
    if isinstance(value, spec.Ref):
        return "ref(" + ", ".join(map(repr, (value.step, *value.path))) + ")"
    if type(value) is list:
        return "[" + ", ".join(map(literal, value)) + "]"
    if type(value) is tuple:
        return "(" + ", ".join(map(literal, value)) + ("," if len(value) == 1 else "") + ")"
    if type(value) is dict:
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise RenderError(f"no literal for a {type(value).__name__} in a visible case")


def _nested(items) -> str:
    text = repr(items)
    return text if len(text) <= WIDTH - 30 else "\n    " + pprint.pformat(
        items, width=WIDTH - 4, compact=True).replace("\n", "\n    ")


def visible_cell(assignment: str, function: str, points: int) -> str:
    """The visible test cell of ``function``: its declared visible cases as ``expect`` calls."""
    from . import checks

    check = checks.checks_of(assignment)[function]
    outcomes = checks.expected(assignment, function, "visible")["outcomes"]
    names = list(reference.parameters(assignment, function))
    lines = [f"# Visible tests of {function} ({points} point{'s' * (points != 1)}). The grader "
             "runs exactly these cases", "# for these points, judged as expect() judges them here."]
    for case, outcome in zip(checks.cases(assignment, function, "visible"), outcomes):
        lines += ["", f"# {case.label}"]
        options = []
        if case.steps:
            calls = []
            for call in case.steps:
                head = call.target if call.on is None else repr(call.target)
                parts = [head] + [literal(a) for a in call.args]
                parts += [f"{k}={literal(v)}" for k, v in call.kwargs.items()]
                if call.on is not None:
                    parts.append(f"on={call.on.step}")
                calls.append("step(" + ", ".join(parts) + ")")
            target = "steps=[" + ",\n       ".join(calls) + "]"
        else:
            arg_names = []
            for i, value in enumerate(case.args):
                name = names[i] if i < len(names) else f"arg{i}"
                lines.append(f"{name} = {literal(value)}")
                arg_names.append(name)
            target = f"{function}, ({', '.join(arg_names)}{',' if len(arg_names) == 1 else ''})"
            if case.kwargs:
                target += ", " + literal(dict(case.kwargs))
        if case.raises:
            options.append(f"raises={case.raises.__name__}")
        else:
            options.append(f"returns={literal(codec.decode(outcome['ok']))}")
        if check.select:
            options.append(f"select={[tuple(p) for p in check.select]!r}")
        if case.changes:
            after = {k: codec.decode(v) for k, v in outcome["after"].items()
                     if k in map(str, case.changes)}
            options += [f"changes={[str(c) for c in case.changes]!r}", f"after={literal(after)}"]
        if check.rtol != checks.RTOL or check.atol != checks.ATOL:
            options.append(f"rtol={check.rtol!r}, atol={check.atol!r}")
        lines.append(f"expect({case.label!r}, {target},\n       " + ",\n       ".join(options) + ")")
    lines += ["", f"print('{function}: all visible tests passed')"]
    return "\n".join(lines)


def hidden_cell(assignment: str, function: str, kind: str, points: int) -> str:
    what = {"hidden": "on random inputs and edge cases"}.get(kind, f"({kind})")
    return (f"# Hidden tests of {function} ({points} point{'s' * (points != 1)}): run when your "
            f"notebook is graded,\n# {what}, as the notebook's text describes.\n"
            "### BEGIN HIDDEN TESTS\n"
            "from autograder.checks import check\n"
            f"check({assignment!r}, {function!r}, {kind!r}, globals())\n"
            "### END HIDDEN TESTS")


