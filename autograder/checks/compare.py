"""Compare a student's result with the expected one, and say what differs first.

Order of the checks, as a student would want to read them: type, then dtype and shape, then
finiteness, then values (with the first differing index and the largest error). Every message
starts with the path of the offending part of the result, e.g. ``result[0]['a']``.
"""
import numbers

import numpy as np

from ..codec import Opaque, Tensor

RTOL, ATOL = 1e-7, 1e-10


def describe(value) -> str:
    """A short, safe description of a value's type (never its full contents)."""
    if isinstance(value, np.ndarray):
        return f"a numpy array of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, Opaque):
        return f"an object of type {value.type_name}"
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
