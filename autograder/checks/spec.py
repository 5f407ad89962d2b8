"""What a check declares, as plain data: the calls a case makes and the objects it needs.

A case is sent into the student's kernel as plain JSON (``codec``): the specs below are built
into live objects there (and, for the expected value, in the grader) by ``codec.decode(...,
live=True)``. Nothing that solves an exercise travels: a module comes as its class name from an
allow-list, constructor arguments and weights; a callable as a table of its values.
"""
from dataclasses import dataclass, field

import numpy as np

from .. import codec


@dataclass(frozen=True)
class Tensor:
    """A torch tensor built from ``array`` (values), with a torch dtype name."""
    array: object
    dtype: str = "float64"
    requires_grad: bool = False


@dataclass(frozen=True)
class Module:
    """A ``torch.nn.<cls>(**kwargs)`` in ``dtype``, its weights from ``state`` (a state dict of
    arrays) or from ``torch.manual_seed(seed)`` before construction."""
    cls: str
    kwargs: dict = field(default_factory=dict)
    state: dict | None = None
    seed: int | None = None
    dtype: str = "float64"


@dataclass(frozen=True)
class Generator:
    """``torch.Generator().manual_seed(seed)``."""
    seed: int


@dataclass(frozen=True)
class Table:
    """A callable given by its values: ``f(*args)`` is ``entries[tuple(args)]`` (normalised:
    lists and arrays as tuples, numpy scalars as Python numbers)."""
    entries: dict
    default: object = None


@dataclass(frozen=True)
class Ref:
    """Inside a chain: the result of step ``step``, indexed by ``path``."""
    step: int
    path: tuple = ()

    def __init__(self, step: int, *path):
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "path", tuple(path))


@dataclass(frozen=True)
class Call:
    """One step of a chain: ``target(*args, **kwargs)`` where ``target`` is a name the notebook
    defines, or, with ``on=Ref(i)``, the method ``target`` of step i's result."""
    target: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    on: Ref | None = None


@dataclass(frozen=True)
class Case:
    """One call of the graded function (``args``, ``kwargs``), or a chain of calls (``steps``)
    whose last result is judged.

    ``raises``: the exception type it must raise instead. ``changes``: the arguments (positions
    or keyword names) it may change; their state after the call is compared with the
    reference's. Every other argument must come back unchanged."""
    args: tuple = ()
    label: str = ""
    kwargs: dict = field(default_factory=dict)
    raises: type | None = None
    steps: tuple | None = None
    changes: tuple = ()

    def calls(self, function: str) -> tuple:
        return tuple(self.steps) if self.steps else (Call(function, tuple(self.args), dict(self.kwargs)),)


def form(value):
    """The codec form of a declared value (specs included)."""
    if isinstance(value, Tensor):
        array = np.asarray(value.array)
        return {"t": "tensor", "torch_dtype": value.dtype, "requires_grad": value.requires_grad,
                **codec.encode(array)} | {"t": "tensor"}
    if isinstance(value, Module):
        return {"t": "module", "cls": value.cls, "kwargs": form(dict(value.kwargs)),
                "state": form(value.state), "seed": value.seed, "dtype": value.dtype}
    if isinstance(value, Generator):
        return {"t": "generator", "seed": int(value.seed)}
    if isinstance(value, Table):
        return {"t": "table", "entries": form(list(map(list, value.entries.items()))),
                "default": form(value.default)}
    if isinstance(value, Ref):
        return {"t": "ref", "step": value.step, "path": form(list(value.path))}
    if type(value) in (list, tuple):
        return {"t": type(value).__name__, "v": [form(v) for v in value]}
    if type(value) is dict:
        return {"t": "dict", "v": [[form(k), form(v)] for k, v in value.items()]}
    encoded = codec.encode(value)
    if encoded["t"] == "opaque":
        raise TypeError(f"a check declared a value the codec cannot carry: {type(value).__name__}")
    return encoded


def case_form(case: Case, function: str, select) -> dict:
    """The request of one case, as the probe reads it."""
    steps = []
    for call in case.calls(function):
        steps.append({"target": call.target, "on": call.on.step if call.on else None,
                      "args": form(list(call.args)), "kwargs": form(dict(call.kwargs))})
    return {"steps": steps, "select": [list(p) for p in select] if select else None,
            "changes": [str(c) for c in case.changes]}
