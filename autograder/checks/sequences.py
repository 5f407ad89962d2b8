"""Hidden checks of the ``sequences`` assignment (chapter: sequential data).

Inputs are random but seeded, and include the edge cases the contract names: the empty text,
unknown characters, Korean text, ids of any shape, ``tau = T - 1``, ``lag = T - 2`` and the
invalid arguments that must raise.
"""
import numpy as np

from .. import reference
from . import Case, Check

ALPHABET = list("abcdefghijklmnopqrstuvwxyz .,!?'") + list("안녕하세요순차데이터")


def _text(rng, length):
    chars = rng.choice(ALPHABET[: rng.integers(2, len(ALPHABET))], size=length)
    return "".join(chars)


def _series(rng, T):
    # An AR(1) series: correlated in time like the book's real data, never constant.
    noise = rng.normal(size=T)
    phi = rng.uniform(-0.9, 0.9)
    out = np.empty(T)
    out[0] = noise[0]
    for t in range(1, T):
        out[t] = phi * out[t - 1] + noise[t]
    return out


def _build_vocab_cases(rng):
    texts = ["", "a", "aaaa", "hello world", "안녕 hello"] + [_text(rng, n) for n in (5, 40, 200)]
    return [Case((t,), f"text of {len(t)} characters") for t in texts]


def _vocab(text):
    # Inputs of encode/decode come from the reference build_vocab (tested on its own above).
    return reference.function("sequences", "build_vocab")(text)


def _encode_cases(rng):
    cases = []
    for n in (0, 1, 17, 120):
        text = _text(rng, n)
        stoi, _ = _vocab(text + "xyz")
        cases.append(Case((text, stoi), f"text of {n} characters"))
    stoi, _ = _vocab("abc")
    cases.append(Case(("abz", stoi), "a character outside the vocabulary", raises=KeyError))
    return cases


def _decode_cases(rng):
    cases = []
    for n in (0, 1, 25, 150):
        _, itos = _vocab(_text(rng, 60) + "q")
        ids = rng.integers(0, len(itos), size=n)
        cases.append(Case((ids, itos), f"int64 array of {n} ids"))
        cases.append(Case((ids.tolist(), itos), f"list of {n} ids"))
    return cases


def _one_hot_cases(rng):
    shapes = [(1,), (7,), (5, 3), (2, 3, 4), ()]
    cases = []
    for shape in shapes:
        V = int(rng.integers(2, 12))
        ids = rng.integers(0, V, size=shape)
        cases.append(Case((ids, V), f"ids of shape {shape}, vocab_size={V}"))
    return cases


def _torch_one_hot(ids, vocab_size):
    import torch  # imported when first needed: grading workers start faster

    return torch.nn.functional.one_hot(torch.as_tensor(ids), vocab_size).double().numpy()


def _make_windows_cases(rng):
    cases = []
    for T, tau in ((10, 1), (10, 3), (30, 7), (8, 7), (2, 1)):
        cases.append(Case((_series(rng, T), tau), f"T={T}, tau={tau}"))
    for T, tau in ((6, 0), (6, 6), (6, 9), (6, -1)):
        cases.append(Case((_series(rng, T), tau), f"T={T}, tau={tau}", raises=ValueError))
    return cases


def _sliding_windows(series, tau):
    view = np.lib.stride_tricks.sliding_window_view(series, tau)[:-1]
    return view.copy(), series[tau:].copy()


def _cbow_cases(rng):
    cases = []
    for V, D, C in ((5, 3, 1), (10, 4, 2), (50, 16, 6), (8, 2, 8)):
        E = rng.normal(size=(V, D))
        ids = rng.integers(0, V, size=C)
        cases.append(Case((E, ids.tolist()), f"E of shape {(V, D)}, {C} context ids as a list"))
        cases.append(Case((E, ids[::-1].copy()), f"E of shape {(V, D)}, {C} context ids as an array"))
    return cases


def _lag_cases(rng):
    cases = []
    for T, lag in ((50, 1), (50, 5), (200, 12), (6, 4), (3, 1)):
        cases.append(Case((_series(rng, T), lag), f"T={T}, lag={lag}"))
    for T, lag in ((6, 0), (6, 5), (6, -2)):
        cases.append(Case((_series(rng, T), lag), f"T={T}, lag={lag}", raises=ValueError))
    return cases


def _corrcoef(series, lag):
    return float(np.corrcoef(series[:-lag], series[lag:])[0, 1])


# The visible cases are the calls the notebook's visible test cells make, so that their score
# comes from the grader and not from asserts running in the student's kernel.
_ABC = {"a": 0, "b": 1, "n": 2}
_E = np.array([[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]])
_ALTERNATING = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])

CHECKS = [
    Check("build_vocab", _build_vocab_cases,
          visible=lambda: [Case(("hello",), "'hello'"), Case(("",), "the empty text")]),
    Check("encode", _encode_cases,
          visible=lambda: [Case(("banana", _ABC), "'banana'"),
                           Case(("", _ABC), "the empty text"),
                           Case(("cab", _ABC), "'c' is not in the vocabulary", raises=KeyError)]),
    Check("decode", _decode_cases,
          visible=lambda: [Case((np.array([1, 0, 2, 0, 2, 0]), ["a", "b", "n"]), "'banana'"),
                           Case(([2, 0], ["a", "b", "n"]), "a list of ids"),
                           Case(([], ["a", "b", "n"]), "no ids")]),
    Check("one_hot", _one_hot_cases, oracles={"torch.nn.functional.one_hot": _torch_one_hot},
          visible=lambda: [Case((np.array([2, 0]), 3), "ids [2, 0], vocab_size 3"),
                           Case((np.array([[0, 1, 2], [2, 1, 0]]), 4), "a (2, 3) batch, vocab_size 4"),
                           Case((np.array(1), 3), "one id as a 0-d array")]),
    Check("make_windows", _make_windows_cases,
          oracles={"numpy's sliding_window_view": _sliding_windows},
          visible=lambda: [Case((np.arange(6.0), 2), "arange(6), tau=2"),
                           Case((np.arange(6.0), 0), "tau=0", raises=ValueError),
                           Case((np.arange(6.0), 6), "tau=6", raises=ValueError)]),
    Check("cbow_context", _cbow_cases,
          visible=lambda: [Case((_E, [0, 1]), "rows [0, 1]"), Case((_E, [1, 0]), "rows [1, 0]"),
                           Case((_E, np.array([2, 2, 0])), "a repeated id")]),
    Check("lag_correlation", _lag_cases, oracles={"np.corrcoef": _corrcoef}, rtol=1e-6,
          visible=lambda: [Case((np.arange(1.0, 6.0), 1), "a straight line, lag 1"),
                           Case((_ALTERNATING, 1), "alternating, lag 1"),
                           Case((_ALTERNATING, 5), "alternating, lag 5", raises=ValueError)]),
]
