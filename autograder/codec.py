"""Plain-JSON encoding of the values exchanged with a student's kernel (never pickle).

The grader sends each check's inputs into the sandboxed kernel and gets the student's results
back through this codec. This file is self-contained (numpy and the standard library only)
because its source is also executed inside the kernel, in a private namespace: one codec for both
sides.

Decoding is strict, since what comes back from the kernel is untrusted: only the tagged forms
below are accepted, arrays are rebuilt from raw bytes with a whitelisted dtype and a checked size,
and anything else the student returned (an object whose ``__eq__`` always says True, an ndarray
subclass) arrives as an :class:`Opaque` that equals nothing.
"""
import base64
import json
import sys

import numpy as np

DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"}
MAX_DEPTH = 16


class Opaque:
    """A value the codec does not carry: only its type name and a short repr."""

    def __init__(self, type_name, text):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return f"<{self.type_name} {self.text}>"

    def __eq__(self, other):
        return False

    __hash__ = object.__hash__


class Tensor:
    """A torch tensor as it came back: its values as a numpy array, and its torch dtype."""

    def __init__(self, array, torch_dtype):
        self.array, self.torch_dtype = array, torch_dtype

    def __repr__(self):
        return f"tensor(dtype={self.torch_dtype}, shape={tuple(self.array.shape)})"


def _array(a):
    # tobytes() is C-ordered whatever the layout; ascontiguousarray would make 0-d arrays 1-d
    return {"dtype": a.dtype.name, "shape": list(a.shape),
            "data": base64.b64encode(a.tobytes(order="C")).decode("ascii")}


def encode(value, depth=0):
    """A JSON-ready form of ``value``; exact types only (subclasses become opaque)."""
    if depth > MAX_DEPTH:
        return {"t": "opaque", "type": "too deep", "repr": ""}
    kind = type(value)
    if value is None:
        return {"t": "none"}
    if kind is bool:
        return {"t": "bool", "v": value}
    if kind is int:
        return {"t": "int", "v": str(value)}
    if kind is float:
        return {"t": "float", "v": repr(value)}
    if kind is str:
        return {"t": "str", "v": value}
    if kind is np.ndarray and value.dtype.name in DTYPES:
        return {"t": "ndarray", **_array(value)}
    if isinstance(value, np.generic) and kind.__module__ == "numpy" and value.dtype.name in DTYPES:
        return {"t": "scalar", **_array(np.asarray(value))}
    torch = sys.modules.get("torch")
    if torch is not None and kind is torch.Tensor:
        array = value.detach().cpu().numpy()
        return {"t": "tensor", "torch_dtype": str(value.dtype), **_array(array)}
    if kind in (list, tuple):
        return {"t": kind.__name__, "v": [encode(v, depth + 1) for v in value]}
    if kind is dict:
        return {"t": "dict", "v": [[encode(k, depth + 1), encode(v, depth + 1)]
                                   for k, v in value.items()]}
    try:
        text = repr(value)[:120]
    except Exception:
        text = "(repr failed)"
    return {"t": "opaque", "type": f"{kind.__module__}.{kind.__qualname__}", "repr": text}


class DecodeError(ValueError):
    pass


def _decode_array(form):
    dtype = form.get("dtype")
    shape = form.get("shape")
    if dtype not in DTYPES or not isinstance(shape, list) or not all(
            type(n) is int and n >= 0 for n in shape):
        raise DecodeError(f"bad array header {dtype!r} {shape!r}")
    raw = base64.b64decode(form.get("data", ""), validate=True)
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize:
        raise DecodeError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def decode(form, depth=0):
    """The value of an encoded form; raises DecodeError on anything malformed."""
    if depth > MAX_DEPTH or not isinstance(form, dict):
        raise DecodeError("malformed value")
    tag, v = form.get("t"), form.get("v")
    if tag == "none":
        return None
    if tag == "bool" and type(v) is bool:
        return v
    if tag == "int" and type(v) is str:
        return int(v)
    if tag == "float" and type(v) is str:
        return float(v)
    if tag == "str" and type(v) is str:
        return v
    if tag == "ndarray":
        return _decode_array(form)
    if tag == "scalar":
        return _decode_array(form)[()]
    if tag == "tensor":
        return Tensor(_decode_array(form), str(form.get("torch_dtype")))
    if tag in ("list", "tuple") and type(v) is list:
        items = [decode(x, depth + 1) for x in v]
        return items if tag == "list" else tuple(items)
    if tag == "dict" and type(v) is list:
        out = {}
        for pair in v:
            if type(pair) is not list or len(pair) != 2:
                raise DecodeError("malformed dict item")
            key = decode(pair[0], depth + 1)
            try:
                out[key] = decode(pair[1], depth + 1)
            except TypeError:
                raise DecodeError("unhashable dict key") from None
        return out
    if tag == "opaque":
        return Opaque(str(form.get("type"))[:200], str(form.get("repr"))[:200])
    raise DecodeError(f"unknown form {str(tag)[:40]!r}")


def dumps(value) -> str:
    return json.dumps(encode(value))


def loads(text: str):
    return decode(json.loads(text))
