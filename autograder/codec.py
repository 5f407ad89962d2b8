"""Plain-JSON encoding of the values exchanged with a student's kernel (never pickle).

The grader sends each check's inputs into the sandboxed kernel and gets the student's results
back through this codec. This file is self-contained (numpy, and torch only where a value needs
it) because its source is also executed inside the kernel, in a private namespace, and in the
test-helper cell of each student notebook: one codec for every side.

Two directions, two decoders:

- Inputs (``decode(form, live=True)``, in the kernel and for the reference): plain values, arrays,
  and the *specs* a check declares as plain data, built here into live objects: a torch tensor, a
  ``torch.nn`` module from an allow-list (constructor arguments and a state dict, or a seed), a
  seeded ``torch.Generator``, a callable given by a table. Nothing that solves an exercise travels.
- Results (``decode(form)``, in the grader): strict, since what comes back is untrusted. Only the
  tagged forms below are accepted; arrays are rebuilt from raw bytes with a whitelisted dtype and
  a checked size; tensors, module states and generator states come back as plain wrappers
  (:class:`Tensor`, :class:`ModuleState`, :class:`GeneratorState`), so the grader never has to
  import torch to judge; anything else (an object whose ``__eq__`` always says True, an ndarray
  subclass) arrives as an :class:`Opaque` that equals nothing.
"""
import base64
import json
import sys

import numpy as np

DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"}
TORCH_DTYPES = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                "bool", "complex64", "complex128"}
MODULES = {"RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Linear", "Embedding"}
MAX_DEPTH = 16


class DecodeError(ValueError):
    pass


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
    """A torch tensor as it came back: its values as a numpy array, its torch dtype, and
    whether it requires grad."""

    def __init__(self, array, torch_dtype, requires_grad=False):
        self.array, self.torch_dtype, self.requires_grad = array, torch_dtype, requires_grad

    def __repr__(self):
        return f"tensor(dtype={self.torch_dtype}, shape={tuple(self.array.shape)})"


class ModuleState:
    """A torch module as it came back: its class name and its state dict (name -> Tensor)."""

    def __init__(self, cls, state):
        self.cls, self.state = cls, state

    def __repr__(self):
        return f"<{self.cls} module with {len(self.state)} tensors>"


class GeneratorState:
    """A torch.Generator as it came back: its next draws, taken from a copy of its state (two
    generators that draw the same next numbers are, for every purpose here, the same)."""

    def __init__(self, draws):
        self.draws = [int(d) for d in draws]

    def __repr__(self):
        return f"GeneratorState({self.draws!r})"


def _next_draws(generator, n=4):
    import torch

    copy = torch.Generator()
    copy.set_state(generator.get_state())
    return torch.randint(0, 2**62, (n,), generator=copy).tolist()


class TableFunction:
    """A callable given by a table (a check's conditional model, say): ``f(*args)`` returns the
    entry of the normalised ``args`` (lists and arrays become tuples, numpy scalars Python
    numbers); a missing key raises KeyError unless there is a default."""

    def __init__(self, entries, default=None):
        self.entries, self.default = dict(entries), default

    def __call__(self, *args):
        key = _key(args)
        if key in self.entries:
            return self.entries[key]
        if self.default is not None:
            return self.default
        raise KeyError(f"no entry for the arguments {key!r}")

    def __repr__(self):
        return f"<a function given by a table of {len(self.entries)} entries>"


def _key(value):
    if isinstance(value, (list, tuple)):
        return tuple(_key(v) for v in value)
    if isinstance(value, np.ndarray):
        return tuple(_key(v) for v in value.tolist()) if value.ndim else value.item()
    if isinstance(value, np.generic):
        return value.item()
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return _key(value.tolist())
    return value


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
    if kind in (list, tuple):
        return {"t": kind.__name__, "v": [encode(v, depth + 1) for v in value]}
    if kind is dict:
        return {"t": "dict", "v": [[encode(k, depth + 1), encode(v, depth + 1)]
                                   for k, v in value.items()]}
    if kind is Tensor:  # the plain wrappers encode as what they stand for
        return {"t": "tensor", "torch_dtype": value.torch_dtype,
                "requires_grad": bool(value.requires_grad), **_array(value.array)}
    if kind is ModuleState:
        return {"t": "module_state", "cls": value.cls, "state": encode(value.state, depth + 1)}
    if kind is GeneratorState:
        return {"t": "generator_state", "draws": [str(d) for d in value.draws]}
    torch = sys.modules.get("torch")
    if torch is not None:
        if kind is torch.Tensor or kind is torch.nn.Parameter:
            array = value.detach().cpu().resolve_conj().resolve_neg().numpy()
            if array.dtype.name in DTYPES:
                return {"t": "tensor", "torch_dtype": str(value.dtype).replace("torch.", ""),
                        "requires_grad": bool(value.requires_grad), **_array(array)}
        if isinstance(value, torch.nn.Module):  # torch's own or the student's class (CharLM)
            return {"t": "module_state", "cls": kind.__name__,
                    "state": encode(dict(value.state_dict()), depth + 1)}
        if kind is torch.Generator:
            return {"t": "generator_state", "draws": [str(d) for d in _next_draws(value)]}
    try:
        text = repr(value)[:120]
    except Exception:
        text = "(repr failed)"
    return {"t": "opaque", "type": f"{kind.__module__}.{kind.__qualname__}", "repr": text}


def _decode_array(form):
    dtype = form.get("dtype")
    shape = form.get("shape")
    if dtype not in DTYPES or not isinstance(shape, list) or not all(
            type(n) is int and n >= 0 for n in shape):
        raise DecodeError(f"bad array header {str(dtype)[:40]!r} {str(shape)[:40]}")
    data = form.get("data", "")
    if type(data) is not str:
        raise DecodeError("array data is not a string")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise DecodeError("array data is not base64") from None
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize:
        raise DecodeError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def decode(form, depth=0, live=False, refs=None):
    """The value of an encoded form; raises DecodeError on anything malformed.

    ``live``: build specs into torch objects (inputs); results are never decoded live.
    ``refs``: the results of a chain's earlier steps, which ``ref`` forms point into."""
    if depth > MAX_DEPTH:
        raise DecodeError("nested too deeply")
    if not isinstance(form, dict):
        raise DecodeError("malformed value")
    tag, v = form.get("t"), form.get("v")
    if tag == "none":
        return None
    if tag == "bool" and type(v) is bool:
        return v
    if tag == "int" and type(v) is str and len(v) <= 400:
        try:
            return int(v)
        except ValueError:
            raise DecodeError("malformed int") from None
    if tag == "float" and type(v) is str:
        try:
            return float(v)
        except ValueError:
            raise DecodeError("malformed float") from None
    if tag == "str" and type(v) is str:
        return v
    if tag == "ndarray":
        return _decode_array(form)
    if tag == "scalar":
        return _decode_array(form)[()]
    if tag in ("list", "tuple") and type(v) is list:
        items = [decode(x, depth + 1, live, refs) for x in v]
        return items if tag == "list" else tuple(items)
    if tag == "dict" and type(v) is list:
        out = {}
        for pair in v:
            if type(pair) is not list or len(pair) != 2:
                raise DecodeError("malformed dict item")
            key = decode(pair[0], depth + 1, live, refs)
            try:
                out[key] = decode(pair[1], depth + 1, live, refs)
            except TypeError:
                raise DecodeError("unhashable dict key") from None
        return out
    if tag == "tensor":
        torch_dtype = form.get("torch_dtype")
        if torch_dtype not in TORCH_DTYPES:
            raise DecodeError(f"unknown tensor dtype {str(torch_dtype)[:40]!r}")
        array, grad = _decode_array(form), form.get("requires_grad") is True
        if not live:
            return Tensor(array, torch_dtype, grad)
        import torch

        return torch.tensor(array, dtype=getattr(torch, torch_dtype), requires_grad=grad)
    if tag == "module_state" and not live:
        state = decode(form.get("state"), depth + 1)
        if not isinstance(state, dict):
            raise DecodeError("malformed module state")
        return ModuleState(str(form.get("cls"))[:80], state)
    if tag == "generator_state" and not live:
        draws = form.get("draws")
        if type(draws) is not list or len(draws) > 16 or not all(
                type(d) is str and d.isdigit() and len(d) < 40 for d in draws):
            raise DecodeError("malformed generator state")
        return GeneratorState(int(d) for d in draws)
    if tag == "opaque":
        return Opaque(str(form.get("type"))[:200], str(form.get("repr"))[:200])
    if live and tag == "ref" and refs is not None:
        step = form.get("step")
        if type(step) is not int or not 0 <= step < len(refs):
            raise DecodeError("a reference to a step that has not run")
        value = refs[step]
        for key in decode(form.get("path"), depth + 1):
            value = value[key]
        return value
    if live and tag in ("module", "generator", "table"):
        return _build(tag, form, depth)
    raise DecodeError(f"unknown form {str(tag)[:40]!r}")


def _build(tag, form, depth):
    """A live object from a check's spec (inputs only)."""
    if tag == "table":
        entries = decode(form.get("entries"), depth + 1, True)
        return TableFunction({_key(k): v for k, v in entries}, decode(form.get("default"), depth + 1, True))
    import torch

    if tag == "generator":
        return torch.Generator().manual_seed(int(form["seed"]))
    cls = form.get("cls")
    if cls not in MODULES:
        raise DecodeError(f"module {str(cls)[:40]!r} is not on the allow-list")
    kwargs = decode(form.get("kwargs"), depth + 1, True)
    if form.get("seed") is not None:
        torch.manual_seed(int(form["seed"]))
    module = getattr(torch.nn, cls)(**kwargs).to(getattr(torch, form.get("dtype", "float64")))
    state = decode(form.get("state"), depth + 1, True)
    if state is not None:
        module.load_state_dict({k: torch.as_tensor(a) for k, a in state.items()})
    return module


def dumps(value) -> str:
    return json.dumps(encode(value))


def loads(text: str):
    return decode(json.loads(text))
