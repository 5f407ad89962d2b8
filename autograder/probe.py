"""Runs inside the student's kernel: call a graded function on the grader's inputs and send back
what came out, encoded by ``codec``, as one display output of a private MIME type.

``execute`` executes ``codec.py``, ``checks/compare.py`` and then this file into one private dict
in the kernel (so no name of the student's is shadowed) and calls ``capture(globals(), request)``
where each graded cell stood. The student notebook's test-helper cell executes the same three
files, so its visible asserts (:func:`expect`) run the very code the grader runs. Nothing here is
trusted: the student can patch anything in the kernel, and the worst that buys is sending back
wrong results of their own, which the grader judges like any other.

An outcome is a dict: ``raised`` (the exception's class names) and ``message``; or ``unusable``
(an earlier step's result lacks what a later one needs); or ``ok`` (the selected result),
``after`` (every argument of the judged call after it, by position or keyword), ``before`` (the
arguments the kernel made itself, a chain's references, as they were before the call) and
``aliases`` (result arrays that share memory with an argument).
"""
import json
import sys

import numpy as np

try:
    encode, decode, verdict  # exec'd after codec.py and compare.py in the kernel
except NameError:  # imported as a module (the grader)
    from .checks.compare import verdict
    from .codec import decode, encode

MIME = "application/vnd.rnn-course.capture+json"
MESSAGE_CHARS = 300


def _describe(err):
    try:
        return str(err)[:MESSAGE_CHARS]
    except Exception:
        return "(the exception's message could not be shown)"


def _raised(err, step, steps):
    where = f" (in step {step + 1} of {steps})" if steps > 1 else ""
    return {"raised": [c.__name__ for c in type(err).__mro__], "message": _describe(err) + where}


def _select(out, paths):
    if paths is None:
        return out
    parts = []
    for path in paths:
        value = out
        for key in path:
            value = value[key]
        parts.append(value)
    return parts


def _named(args, kwargs):
    return [(str(i), a) for i, a in enumerate(args)] + [(str(k), v) for k, v in kwargs.items()]


def _bounds(value):
    """(low, high) byte addresses of an array's or a CPU tensor's data, or None."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        if value.device.type != "cpu" or value.numel() == 0:
            return None
        start = value.data_ptr()  # the tensor's first element, its storage offset included
        last = sum((n - 1) * abs(s) for n, s in zip(value.shape, value.stride())) + 1
        return start, start + last * value.element_size()
    if isinstance(value, np.ndarray) and value.size:
        return np.lib.array_utils.byte_bounds(value)
    return None


def _leaves(value, path, depth=0):
    if depth > 8:
        return
    torch = sys.modules.get("torch")
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]", depth + 1)
    elif isinstance(value, dict):
        for k, v in list(value.items())[:1000]:
            yield from _leaves(v, f"{path}[{k!r}]", depth + 1)
    elif torch is not None and isinstance(value, torch.nn.Module):
        for name, p in value.state_dict(keep_vars=True).items():
            yield f"{path}.{name}", p
    else:
        yield path, value


def _aliases(selected, named, paths):
    """Which parts of the result share memory with an argument (or a module's parameters)."""
    if paths is None:
        out = list(_leaves(selected, "result"))
    else:
        out = [leaf for part, path in zip(selected, paths)
               for leaf in _leaves(part, "result" + "".join(f"[{k!r}]" for k in path))]
    found = []
    inputs = [(n, b) for name, arg in named for n, leaf in _leaves(arg, f"argument {name}")
              if (b := _bounds(leaf)) is not None]
    for where, leaf in out:
        bounds = _bounds(leaf)
        if bounds is None:
            continue
        for name, (low, high) in inputs:
            if bounds[0] < high and low < bounds[1]:
                found.append(f"{where} shares memory with {name}")
                break
    return found


def execute(builders, paths, tracked=()):
    """Run a chain of calls; ``builders[i](results)`` returns step i's (function, args, kwargs).
    ``tracked``: the judged call's arguments whose before-state the kernel must record."""
    results = []
    for i, build in enumerate(builders):
        try:
            function, args, kwargs = build(results)
        except (LookupError, TypeError, AttributeError) as err:
            return {"unusable": f"step {i + 1} could not use an earlier result: {_describe(err)}"}
        if not callable(function):
            return {"raised": ["NameError", "Exception", "BaseException", "object"],
                    "message": f"{getattr(function, '__name__', function)} is not defined"}
        last = i == len(builders) - 1
        if last:
            before = {k: encode(v) for k, v in _named(args, kwargs) if k in tracked or "*" in tracked}
        try:
            out = function(*args, **kwargs)
        except KeyboardInterrupt:
            raise
        except BaseException as err:  # SystemExit included: a student's exit() is a finding
            return _raised(err, i, len(builders))
        results.append(out)
    try:
        selected = _select(out, paths)
    except Exception as err:
        return {"unusable": f"the result has no part {paths}: {_describe(err)}"}
    named = _named(args, kwargs)
    return {"ok": encode(selected), "after": {k: encode(v) for k, v in named}, "before": before,
            "aliases": _aliases(selected, named, paths)}


class _Missing:
    def __init__(self, name):
        self.__name__ = name


def run_case(namespace, case):
    """One case of a request (see ``checks.spec.case_form``) on the functions of ``namespace``."""
    steps = case["steps"]

    def builder(step):
        def build(results):
            if step["on"] is None:
                function = namespace.get(step["target"], _Missing(step["target"]))
            else:
                function = getattr(results[step["on"]], step["target"])
            return (function, decode(step["args"], live=True, refs=results),
                    decode(step["kwargs"], live=True, refs=results))
        return build

    last = steps[-1]
    tracked = [str(i) for i, f in enumerate(last["args"]["v"]) if f.get("t") == "ref"]
    tracked += [str(k["v"]) for k, f in last["kwargs"]["v"] if f.get("t") == "ref"]
    return execute([builder(s) for s in steps], case["select"], tracked)


def run(namespace, request):
    return [run_case(namespace, case) for case in request["cases"]]


def capture(namespace, request_json):
    from IPython.display import publish_display_data

    request = json.loads(request_json)
    results = run(namespace, request)
    publish_display_data({MIME: json.dumps({"id": request["id"], "results": results})})


# The visible tests' helpers: what a student notebook's visible test cells call.

def ref(step, *path):
    """Inside ``expect(steps=...)``: the result of an earlier step, indexed by ``path``."""
    return ("__ref__", step, path)


def step(function, *args, on=None, **kwargs):
    """One call of a chain: ``function(*args, **kwargs)``, or with ``on=i`` the method named
    ``function`` of step i's result."""
    return (function, args, kwargs, on)


def nn_module(cls, kwargs, seed=None, state=None, dtype="float64"):
    """A ``torch.nn`` module exactly as the grader builds it."""
    form = {"t": "module", "cls": cls, "kwargs": encode(kwargs), "seed": seed, "dtype": dtype,
            "state": encode(state)}
    return decode(form, live=True)


def _resolve(value, results):
    # a chain's reference; a 3-tuple of arrays (an RNN's (Wx, Wh, b)) is an ordinary argument
    if (isinstance(value, tuple) and len(value) == 3 and isinstance(value[0], str)
            and value[0] == "__ref__"):
        out = results[value[1]]
        for key in value[2]:
            out = out[key]
        return out
    return value


def expect(label, function=None, args=(), kwargs=None, *, steps=None, returns=None, raises=None,
           select=None, changes=(), after=None, rtol=1e-7, atol=1e-10):
    """Call ``function(*args, **kwargs)`` (or a chain of ``steps``) and judge it exactly as the
    grader does; raise AssertionError with the grader's message if it fails."""
    if steps is None:
        steps = [step(function, *args, **(kwargs or {}))]
    name = getattr(steps[-1][0], "__name__", str(steps[-1][0]))

    def builder(s):
        def build(results):
            target, a, k, on = s
            function = getattr(results[on], target) if on is not None else target
            return (function, [_resolve(v, results) for v in a],
                    {key: _resolve(v, results) for key, v in k.items()})
        return build

    outcome = execute([builder(s) for s in steps], select, tracked=("*",))
    if raises is not None:
        expected = {"raised": [raises.__name__]}
    else:
        expected = {"ok": encode(returns if select is None else list(returns)),
                    "after": {str(k): encode(v) for k, v in (after or {}).items()}}
    message = verdict(outcome, expected, before={}, raises=raises.__name__ if raises else None,
                      changes=[str(c) for c in changes], select=select, rtol=rtol, atol=atol)
    if message:
        raise AssertionError(f"{name}({label}): {message}")
