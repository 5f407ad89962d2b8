"""Checks of ``autoregressive`` (chapter: the chain rule and autoregressive models).

Every function is compared with the reference solution and with an oracle written here
independently of it:

- ``sequence_log_prob``: models given as lookup tables (``Table``), word and integer tokens, the
  empty sequence; oracle ``math.fsum`` of the logs.
- ``fit_ngram`` and ``ngram_log_prob``: random token streams over a vocabulary some of whose
  tokens never occur, n = 1, 2, 3, streams shorter than n; oracle: n-grams counted with
  ``collections.Counter``.
- ``fit_ar``: random AR series, tau = 1 to 6; oracle: statsmodels ``AutoReg(series, lags=tau,
  trend="c")`` (Seabold and Perktold, statsmodels, 2010).
- ``ar_forecast``: steps = 0, 1 and many, histories longer than tau; oracle: a loop over a
  one-step predictor.
"""
import math
from collections import Counter

import numpy as np

from . import Case, Check, Table


# ---- sequence_log_prob ------------------------------------------------------------------------

def _model_of(seq, rng):
    """A lookup table holding, for each step of seq, a probability of its (history, token)."""
    seq = list(seq)
    return Table({(tuple(seq[:t]), seq[t]): float(rng.uniform(0.05, 1.0))
                  for t in range(len(seq))})


def _sequence_log_prob_visible():
    table = Table({((), 1): 0.5, ((1,), 0): 0.25, ((1, 0), 0): 0.8})
    words = Table({((), "i"): 0.625, (("i",), "say"): 1.0, (("i", "say"), "goodbye"): 0.6})
    return [Case((table, [1, 0, 0]), "seq [1, 0, 0]: log 0.5 + log 0.25 + log 0.8"),
            Case((words, ["i", "say", "goodbye"]), "the words 'i say goodbye'"),
            Case((table, []), "the empty sequence")]


def _sequence_log_prob_hidden(rng):
    cases = []
    for T, V in ((1, 3), (2, 2), (7, 5), (40, 4), (200, 30)):
        seq = rng.integers(0, V, size=T)
        cases.append(Case((_model_of(seq.tolist(), rng), seq.tolist()), f"a list of {T} ids"))
        cases.append(Case((_model_of(seq.tolist(), rng), seq), f"an int64 array of {T} ids"))
    words = "the cat sat on the mat and the dog sat on the cat".split()
    cases.append(Case((_model_of(words, rng), words), "13 words"))
    cases.append(Case((_model_of([], rng), []), "the empty list"))
    cases.append(Case((_model_of([], rng), np.zeros(0, dtype=np.int64)), "an empty int64 array"))
    return cases


def _fsum_of_logs(cond_prob, seq):
    seq = list(seq)
    return math.fsum(math.log(cond_prob(tuple(seq[:t]), seq[t])) for t in range(len(seq)))


# ---- fit_ngram, ngram_log_prob ----------------------------------------------------------------

def _stream(rng, T, V):
    # Draw from a random subset of the vocabulary, so that some ids never occur.
    used = rng.choice(V, size=max(1, V - int(rng.integers(1, max(2, V // 2 + 1)))), replace=False)
    return rng.choice(used, size=T).astype(np.int64)


def _counted_ngram(ids, vocab_size, n, alpha=1.0):
    """The add-alpha table from n-grams counted one by one in a Counter."""
    ids = [int(i) for i in ids]
    grams = Counter(tuple(ids[t - n + 1:t + 1]) for t in range(n - 1, len(ids)))
    contexts = Counter()
    for gram, count in grams.items():
        contexts[gram[:-1]] += count
    table = np.empty((vocab_size,) * n)
    for index in np.ndindex(*table.shape):
        table[index] = ((grams[index] + alpha)
                        / (contexts[index[:-1]] + alpha * vocab_size))
    return table


def _fit_ngram_visible():
    return [Case((np.array([0, 1, 0, 1, 1]), 2, 2), "ids [0, 1, 0, 1, 1], V=2, n=2, alpha=1"),
            Case((np.array([0, 0, 2]), 4, 1), "ids [0, 0, 2], V=4, n=1, alpha=0.5",
                 kwargs={"alpha": 0.5}),
            Case((np.array([3]), 4, 2), "one id, V=4, n=2: nothing to count",
                 kwargs={"alpha": 1.0})]


def _fit_ngram_hidden(rng):
    cases = []
    for T, V, n, alpha in ((1, 3, 1, 1.0), (60, 5, 1, 0.1), (2, 4, 2, 1.0), (50, 6, 2, 0.5),
                           (400, 7, 2, 2.5), (120, 4, 3, 1.0), (30, 3, 3, 0.01), (2, 3, 3, 1.0),
                           (300, 5, 4, 0.2)):
        ids = _stream(rng, T, V)
        cases.append(Case((ids, V, n), f"T={T}, V={V}, n={n}, alpha={alpha}",
                          kwargs={"alpha": alpha}))
    cases.append(Case((_stream(rng, 80, 6), 6, 2), "T=80, V=6, n=2, alpha left at its default"))
    return cases


def _ngram_log_prob_visible():
    table = np.array([[0.25, 0.75], [0.5, 0.5]])
    return [Case((table, np.array([0, 1, 1])), "ids [0, 1, 1]: log 0.75 + log 0.5"),
            Case((np.array([0.2, 0.3, 0.5]), np.array([2, 2, 0])), "n=1, ids [2, 2, 0]"),
            Case((table, np.array([1])), "one id, n=2: nothing to score")]


def _random_table(rng, V, n):
    table = rng.uniform(0.05, 1.0, size=(V,) * n)
    return table / table.sum(axis=-1, keepdims=True)


def _ngram_log_prob_hidden(rng):
    cases = []
    for T, V, n in ((1, 3, 1), (50, 4, 1), (2, 5, 2), (90, 6, 2), (3, 3, 3), (200, 4, 3),
                    (2, 3, 3), (0, 3, 1), (150, 3, 4)):
        ids = _stream(rng, T, V)
        cases.append(Case((_random_table(rng, V, n), ids), f"T={T}, V={V}, n={n}"))
    return cases


def _counted_log_prob(table, ids):
    n = table.ndim
    ids = [int(i) for i in ids]
    grams = Counter(tuple(ids[t - n + 1:t + 1]) for t in range(n - 1, len(ids)))
    return math.fsum(count * math.log(table[gram]) for gram, count in grams.items())


# ---- fit_ar, ar_forecast ----------------------------------------------------------------------

def _ar_series(rng, T, tau):
    # A stable AR(tau) with an intercept, plus noise: the design matrix has full rank.
    phi = rng.uniform(-0.6, 0.6, size=tau) / tau
    x = list(rng.normal(size=tau))
    for _ in range(T - tau):
        x.append(2.0 + np.dot(phi, x[::-1][:tau]) + rng.normal())
    return np.array(x)


def _statsmodels_ar(series, tau):
    from statsmodels.tsa.ar_model import AutoReg  # imported when first needed

    params = AutoReg(series, lags=tau, trend="c").fit().params
    return params[1:], float(params[0])


def _fit_ar_visible():
    exact = [0.0]
    for _ in range(7):
        exact.append(1.0 + 0.5 * exact[-1])  # x_t = 1 + 0.5 x_{t-1}, no noise
    return [Case((np.array(exact), 1), "x_t = 1 + 0.5 x_(t-1) exactly, tau=1: coef [0.5], "
                 "intercept 1"),
            Case((np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 5.0, 8.0]), 2), "8 values, tau=2")]


def _fit_ar_hidden(rng):
    return [Case((_ar_series(rng, T, tau), tau), f"T={T}, tau={tau}")
            for T, tau in ((5, 1), (30, 1), (12, 3), (100, 2), (400, 6), (60, 5))]


def _one_step(recent, coef, intercept):
    """The AR prediction after `recent` (oldest first)."""
    return intercept + sum(c * recent[-1 - k] for k, c in enumerate(coef))


def _looped_forecast(history, coef, intercept, steps):
    recent, out = [float(v) for v in history], []
    for _ in range(steps):
        out.append(_one_step(recent, coef, intercept))
        recent.append(out[-1])
    return np.array(out, dtype=np.float64)


def _ar_forecast_visible():
    history, coef = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.25])
    return [Case((history, coef, 1.0, 1), "history [1, 2, 3], coef [0.5, 0.25], intercept 1, "
                 "1 step"),
            Case((history, coef, 1.0, 3), "the same, 3 steps: [3, 3.25, 3.375]")]


def _ar_forecast_hidden(rng):
    cases = []
    for L, tau, steps in ((1, 1, 1), (5, 1, 12), (3, 3, 1), (20, 3, 40), (9, 4, 0),
                          (50, 6, 25), (6, 2, 2)):
        coef = rng.uniform(-0.8, 0.8, size=tau) / tau
        cases.append(Case((rng.normal(size=L) * 5, coef, float(rng.normal()), steps),
                          f"history of {L}, tau={tau}, steps={steps}"))
    return cases


CHECKS = [
    Check("sequence_log_prob", visible=_sequence_log_prob_visible,
          hidden=_sequence_log_prob_hidden, oracles={"math.fsum of the logs": _fsum_of_logs}),
    Check("fit_ngram", visible=_fit_ngram_visible, hidden=_fit_ngram_hidden,
          oracles={"a Counter of the n-grams": _counted_ngram}),
    Check("ngram_log_prob", visible=_ngram_log_prob_visible, hidden=_ngram_log_prob_hidden,
          oracles={"a Counter of the n-grams": _counted_log_prob}),
    Check("fit_ar", visible=_fit_ar_visible, hidden=_fit_ar_hidden,
          oracles={"statsmodels AutoReg": _statsmodels_ar}, rtol=1e-7, atol=1e-9),
    Check("ar_forecast", visible=_ar_forecast_visible, hidden=_ar_forecast_hidden,
          oracles={"a loop over the one-step predictor": _looped_forecast}),
]
