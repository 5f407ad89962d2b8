"""Compare a student's result with the expected one, and say what differs first.

This file is self-contained beside ``codec`` (its source also runs in the kernel and in the
student notebook's test helper), so the visible asserts a student runs and the grader's verdict
are the same code.

Order of the checks, as a student would want to read them: type, then dtype and shape, then
finiteness, then values (with the first differing index and the largest error). Every message
starts with the path of the offending part of the result, e.g. ``result[0]['a']``.
"""
import numbers

import numpy as np

try:
    Opaque, Tensor, decode  # exec'd after codec.py (in the kernel and the notebook's helper)
except NameError:  # imported as a module (the grader)
    from ..codec import DecodeError, GeneratorState, ModuleState, Opaque, Tensor, decode

RTOL, ATOL = 1e-7, 1e-10


def describe(value) -> str:
    """A short, safe description of a value's type (never its full contents)."""
    if isinstance(value, np.ndarray):
        return f"a numpy array of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, Opaque):
        return f"an object of type {value.type_name}"
    if isinstance(value, (ModuleState, GeneratorState)):
        return repr(value)
    if isinstance(value, Tensor):
        return f"a torch tensor of dtype {value.torch_dtype} and shape {tuple(value.array.shape)}"
    if isinstance(value, (list, tuple, dict, str)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__module__}.{type(value).__qualname__}".replace("builtins.", "")


def short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def difference(expected, got, *, rtol=RTOL, atol=ATOL, path="result") -> str | None:
    """None if ``got`` matches ``expected``, else one sentence saying where and how it differs."""
    if isinstance(expected, np.ndarray):
        return _array_difference(expected, got, rtol, atol, path)
    if isinstance(expected, Tensor):
        if not isinstance(got, Tensor):
            return f"{path}: expected a torch tensor of shape {expected.array.shape}, got {describe(got)}"
        if got.torch_dtype != expected.torch_dtype:
            return f"{path}: expected dtype {expected.torch_dtype}, got dtype {got.torch_dtype}"
        return _array_difference(expected.array, got.array, rtol, atol, path)
    if isinstance(expected, ModuleState):
        if not isinstance(got, ModuleState):
            return f"{path}: expected a torch module, got {describe(got)}"
        return difference(expected.state, got.state, rtol=rtol, atol=atol, path=f"{path}.state_dict()")
    if isinstance(expected, GeneratorState):
        if not isinstance(got, GeneratorState):
            return f"{path}: expected a torch.Generator, got {describe(got)}"
        if expected.draws != got.draws:
            return (f"{path}: the generator is not in the state the reference leaves it in: "
                    "it drew a different number of random numbers, or drew them differently")
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return f"{path}: expected a {type(expected).__name__} of length {len(expected)}, got {describe(got)}"
        if len(got) != len(expected):
            return f"{path}: expected length {len(expected)}, got length {len(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            message = difference(e, g, rtol=rtol, atol=atol, path=f"{path}[{i}]")
            if message:
                return message
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{path}: expected a dict, got {describe(got)}"
        missing, extra = expected.keys() - got.keys(), got.keys() - expected.keys()
        if missing or extra:
            return (f"{path}: keys differ: missing {short(sorted(map(repr, missing))[:3])}, "
                    f"unexpected {short(sorted(map(repr, extra))[:3])}")
        for key in expected:
            message = difference(expected[key], got[key], rtol=rtol, atol=atol,
                                 path=f"{path}[{key!r}]")
            if message:
                return message
        return None
    if isinstance(expected, str):
        if not isinstance(got, str):
            return f"{path}: expected a str, got {describe(got)}"
        if got != expected:
            i = next((k for k, (a, b) in enumerate(zip(expected, got)) if a != b),
                     min(len(expected), len(got)))
            return (f"{path}: strings differ first at position {i}: expected "
                    f"{short(expected[i:i + 10])}, got {short(got[i:i + 10])} "
                    f"(lengths {len(expected)} and {len(got)})")
        return None
    if isinstance(expected, numbers.Real) and not isinstance(expected, bool):
        return _scalar_difference(expected, got, rtol, atol, path)
    if got != expected:
        return f"{path}: expected {short(expected)}, got {short(got)}"
    return None


def _scalar_difference(expected, got, rtol, atol, path):
    if isinstance(got, np.ndarray) or not isinstance(got, numbers.Real) or isinstance(got, bool):
        return f"{path}: expected a number, got {describe(got)}"
    if isinstance(expected, numbers.Integral):
        if not isinstance(got, numbers.Integral) or int(got) != int(expected):
            return f"{path}: expected the integer {expected}, got {short(got)}"
        return None
    if np.isfinite(expected) and not np.isfinite(got):
        return f"{path}: expected the finite value {expected:.6g}, got {got}"
    if not np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True):
        return f"{path}: expected {expected:.10g}, got {float(got):.10g}"
    return None


def _array_difference(expected, got, rtol, atol, path):
    if not isinstance(got, np.ndarray):
        return f"{path}: expected a numpy array of shape {expected.shape}, got {describe(got)}"
    if got.dtype != expected.dtype:
        return f"{path}: expected dtype {expected.dtype}, got dtype {got.dtype}"
    if got.shape != expected.shape:
        return f"{path}: expected shape {expected.shape}, got shape {got.shape}"
    if expected.dtype.kind == "f":
        bad = np.isfinite(expected) & ~np.isfinite(got)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            return (f"{path}: {int(bad.sum())} entries are not finite (nan or inf), the first at "
                    f"index {index}: got {got[index]}, expected {expected[index]:.6g}")
        close = np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        close = got == expected
    if close.all():
        return None
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    where = f"index {index}" if expected.ndim != 1 else f"index {index[0]}"
    message = (f"{path}: {int((~close).sum())} of {close.size} entries differ; the first at "
               f"{where}: expected {short(expected[index].item())}, got {short(got[index].item())}")
    if expected.dtype.kind == "f":
        message += f" (largest absolute error {np.max(np.abs(got - expected)[~close]):.3g})"
    return message


def _names(select):
    return ["result" + "".join(f"[{k!r}]" for k in path) for path in select]


def verdict(got, expected, *, before, raises=None, changes=(), select=None, rtol=RTOL,
            atol=ATOL, names=None, values=True):
    """None if the outcome ``got`` of a case (raw, from the kernel) is right, else one sentence.

    ``expected``: the reference's outcome on the same inputs (raw). ``before``: the encoded
    arguments the grader sent (by position or keyword); arguments the kernel made itself (a
    chain's references) are compared with the before-state it reported. ``changes``: arguments
    that may change; their state after the call must equal the reference's. ``names``: the
    parameter names of the judged call, by position, for messages. ``values``: False where a
    check's own judge compares the result and the changed arguments."""
    if not isinstance(got, dict):
        return "the grader received a malformed result"
    if "raised" in got:
        kinds, message = got.get("raised"), str(got.get("message", ""))[:300]
        if not isinstance(kinds, list) or not kinds or not all(isinstance(n, str) for n in kinds):
            return "the grader received a malformed result"
        if raises and raises in kinds:
            return None
        wanted = f"expected {raises}" if raises else "expected a result"
        detail = f": {short(message, 160)}" if message else ""
        return f"{wanted}, but it raised {kinds[0]}{detail}"
    if "unusable" in got:
        return short(str(got["unusable"]), 300)
    try:
        result = decode(got.get("ok"))
        after, reported = got.get("after"), got.get("before")
        if not isinstance(after, dict) or not isinstance(reported, dict):
            raise DecodeError("malformed arguments")
        after = {str(k): decode(v) for k, v in after.items()}
        reported = {str(k): decode(v) for k, v in reported.items()}
        was = {str(k): decode(v) for k, v in before.items()}
    except DecodeError as err:
        return f"the grader could not read the result ({err})"
    if raises:
        return f"expected {raises}, but it returned {short(result)}"

    def arg_name(key):
        if names and key.isdigit() and int(key) < len(names):
            return f"argument {names[int(key)]!r}"
        return f"argument {key!r}" if not key.isdigit() else f"argument {int(key) + 1}"

    try:
        expected_after = {str(k): decode(v) for k, v in (expected.get("after") or {}).items()}
    except DecodeError as err:
        return f"the grader could not read the expected result ({err})"
    for key, value in after.items():
        if key in changes:
            continue
        # what the argument was: as sent, as the kernel made it (a chain's reference), or as
        # the reference left it (a module or generator the kernel built from a spec)
        sources = (was, reported, expected_after)
        original = next((d[key] for d in sources if key in d), Opaque("unknown", ""))
        if not isinstance(original, Opaque):
            if difference(original, value, rtol=0, atol=0):
                return (f"it modified its {arg_name(key)}; functions must not change their "
                        "inputs (work on a copy)")
    aliases = got.get("aliases")
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        return "the grader received a malformed result"
    if aliases:
        first = aliases[0]
        for key in after:
            first = first.replace(f"argument {key}", arg_name(key))
        return (f"{first[:200]}: return a new array, never a view of an input or of a "
                "module's parameters")
    if not values:  # a custom judge compares the values
        return None
    want = decode(expected["ok"])
    if select is None:
        message = difference(want, result, rtol=rtol, atol=atol)
    elif not isinstance(result, list) or len(result) != len(select):
        message = "the grader received a malformed result"
    else:
        message = next((m for w, g, n in zip(want, result, _names(select))
                        if (m := difference(w, g, rtol=rtol, atol=atol, path=n))), None)
    if message:
        return message
    for key in changes:
        if key not in after:
            return f"{arg_name(key)} was not passed"
        if key in expected_after:
            message = difference(expected_after[key], after[key], rtol=rtol, atol=atol,
                                 path=f"{arg_name(key)} after the call")
            if message:
                return message
    return None
