"""The hidden checks: the reference passes them, library oracles agree with it, and plausible
student mistakes fail with a message that says what is wrong."""
import numpy as np
import pytest

from autograder import checks, reference
from autograder.checks.compare import difference

from conftest import ASSIGNMENTS

ALL = [(a, f) for a in ASSIGNMENTS for f in checks.declared_functions(a)]


@pytest.mark.parametrize("assignment, function", ALL)
@pytest.mark.parametrize("kind", ["visible", "hidden"])
def test_reference_passes_its_checks(assignment, function, kind):
    assert checks.cases(assignment, function, kind)
    ref = reference.function(assignment, function)
    assert checks.failures(assignment, function, ref, kind) == []


@pytest.mark.parametrize("assignment, function", ALL)
def test_checks_have_cases_and_fail_a_stub(assignment, function):
    assert len(checks.cases(assignment, function)) >= 3

    def stub(*args):
        raise NotImplementedError()

    for kind in ("visible", "hidden"):
        found = checks.failures(assignment, function, stub, kind)
        assert found and all(function in m for m in found)


def ref(name):
    return reference.function("sequences", name)


# Each entry: a function, a plausible wrong implementation, words the message must contain.
MISTAKES = [
    ("build_vocab", lambda text: ({c: i for i, c in enumerate(sorted(set(text)))},
                                  list(dict.fromkeys(text))), "result[1]"),
    ("build_vocab", lambda text: ({c: i + 1 for i, c in enumerate(sorted(set(text)))},
                                  sorted(set(text))), "result[0]"),
    ("encode", lambda text, stoi: np.array([stoi.get(c, 0) for c in text], dtype=np.int64),
     "expected KeyError"),
    ("encode", lambda text, stoi: [stoi[c] for c in text], "expected a numpy array"),
    ("encode", lambda text, stoi: np.array([stoi[c] for c in text], dtype=np.int32),
     "expected dtype int64"),
    ("decode", lambda ids, itos: "".join(itos[i] for i in ids[::-1]), "strings differ first"),
    ("one_hot", lambda ids, V: np.eye(V, dtype=np.float32)[ids], "expected dtype float64"),
    ("one_hot", lambda ids, V: np.eye(V)[np.ravel(ids)], "expected shape"),
    ("make_windows", lambda s, tau: (np.stack([s[i:i + tau] for i in range(len(s) - tau)]),
                                     s[tau - 1:-1].copy()) if 1 <= tau < len(s) else 1 / 0,
     "result[1]"),
    ("make_windows", lambda s, tau: (np.stack([s[i:i + tau] for i in range(len(s) - tau)]),
                                     s[tau:].copy()), "expected ValueError"),
    ("cbow_context", lambda E, ids: E[np.asarray(ids)].sum(axis=0), "entries differ"),
    # one row, and a view of E at that: the aliasing rule speaks first
    ("cbow_context", lambda E, ids: E[np.asarray(ids)[0]], "shares memory with argument 'E'"),
    # an autocorrelation function (one global mean) instead of the Pearson correlation of slices
    ("lag_correlation", lambda s, lag: _acf(s, lag), "expected"),
]


def _acf(s, lag):
    if not 1 <= lag <= len(s) - 2:
        raise ValueError(lag)
    c = s - s.mean()
    return float(c[:-lag] @ c[lag:] / (c @ c))


@pytest.mark.parametrize("function, wrong, words", MISTAKES)
def test_mistakes_fail_with_a_useful_message(function, wrong, words):
    found = checks.failures("sequences", function, wrong)
    assert found, f"the checks of {function} accept a wrong implementation"
    assert any(words in m for m in found), found
    with pytest.raises(AssertionError, match=function):
        checks.check("sequences", function, "hidden", wrong)


def test_a_function_that_modifies_its_input_fails():
    def centring_in_place(series, lag):
        series -= series.mean()
        return ref("lag_correlation")(series, lag)

    found = checks.failures("sequences", "lag_correlation", centring_in_place)
    assert any("modified its argument 'series'" in m for m in found), found


@pytest.mark.parametrize("function", ["one_hot", "make_windows", "lag_correlation", "cbow_context"])
def test_equivalent_implementations_pass(function):
    # Loops instead of vectorised code, other dtypes of the same value: full marks all the same.
    alternatives = {
        "one_hot": lambda ids, V: (np.arange(V) == np.asarray(ids)[..., None]).astype(np.float64),
        "make_windows": lambda s, tau: (np.array([[s[i + k] for k in range(tau)]
                                                  for i in range(len(s) - tau)]).reshape(-1, tau),
                                        np.array([s[i + tau] for i in range(len(s) - tau)]))
        if 1 <= tau < len(s) else (_ for _ in ()).throw(ValueError()),
        "lag_correlation": lambda s, lag: np.corrcoef(s[:-lag], s[lag:])[0, 1]
        if 1 <= lag <= len(s) - 2 else (_ for _ in ()).throw(ValueError()),
        "cbow_context": lambda E, ids: sum(E[i] for i in ids) / len(ids),
    }
    assert checks.failures("sequences", function, alternatives[function]) == []


def test_difference_reports_first_index_and_types():
    e = np.zeros((3, 4))
    g = e.copy()
    g[1, 2] = 5.0
    assert "index (1, 2)" in difference(e, g)
    assert "largest absolute error 5" in difference(e, g)
    assert "expected shape (3, 4)" in difference(e, e.T)
    assert "not finite" in difference(e, np.full((3, 4), np.nan))
    assert difference(e, e.tolist()).startswith("result: expected a numpy array")
    assert difference({"a": 1}, {"b": 1}).startswith("result: keys differ")
    assert difference(1.0, np.float64(1.0 + 1e-12)) is None
    assert difference(1.0, np.array([1.0])) is not None
    assert difference("abc", "abd") is not None and difference("abc", "abc") is None


def test_results_that_only_pretend_fail():
    class AlwaysEqual(list):
        def __eq__(self, other):
            return True

    found = checks.failures("sequences", "build_vocab", lambda text: AlwaysEqual())
    assert found and all("AlwaysEqual" in m for m in found)
    subclass = type("Sub", (np.ndarray,), {})
    found = checks.failures("sequences", "one_hot", lambda ids, V: np.eye(V)[ids].view(subclass))
    assert found and "Sub" in found[0]
