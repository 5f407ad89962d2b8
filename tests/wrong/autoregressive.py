"""Mistakes students make in the ``autoregressive`` assignment; each costs its own function only."""
from wrong import Wrong

WRONG = [
    Wrong("sequence_log_prob", "log base 10 instead of the natural log",
          fails=("visible", "hidden"), message="sequence_log_prob", source='''
def sequence_log_prob(cond_prob, seq):
    return float(sum(math.log10(cond_prob(tuple(seq[:t]), seq[t])) for t in range(len(seq))))
'''),
    Wrong("sequence_log_prob", "off by one: skips the first factor P(x_1)",
          fails=("visible", "hidden"), message="sequence_log_prob", source='''
def sequence_log_prob(cond_prob, seq):
    total = 0.0
    for t in range(1, len(seq)):
        total += math.log(cond_prob(tuple(seq[:t]), seq[t]))
    return total
'''),
    Wrong("fit_ngram", "forgets alpha * V in the denominator: rows do not sum to 1",
          fails=("visible", "hidden"), message="fit_ngram", source='''
def fit_ngram(ids, vocab_size, n, alpha=1.0):
    counts = np.zeros((vocab_size,) * n)
    for t in range(n - 1, len(ids)):
        counts[tuple(ids[t - n + 1:t + 1])] += 1
    return (counts + alpha) / (counts.sum(axis=-1, keepdims=True) + alpha)
'''),
    Wrong("fit_ngram", "divides by the total count: joint instead of conditional probabilities",
          fails=("visible", "hidden"), message="fit_ngram", source='''
def fit_ngram(ids, vocab_size, n, alpha=1.0):
    counts = np.zeros((vocab_size,) * n)
    for t in range(n - 1, len(ids)):
        counts[tuple(ids[t - n + 1:t + 1])] += 1
    return (counts + alpha) / (counts.sum() + alpha * counts.size)
'''),
    Wrong("fit_ngram", "counts a context also where nothing follows it (at the end of ids)",
          fails=("visible", "hidden"), message="fit_ngram", source='''
def fit_ngram(ids, vocab_size, n, alpha=1.0):
    counts = np.zeros((vocab_size,) * n)
    context = np.zeros((vocab_size,) * (n - 1) + (1,))
    for t in range(n - 1, len(ids)):
        counts[tuple(ids[t - n + 1:t + 1])] += 1
    for t in range(n - 2, len(ids)):
        context[tuple(ids[t - n + 2:t + 1]) + (0,)] += 1
    return (counts + alpha) / (context + alpha * vocab_size)
'''),
    Wrong("ngram_log_prob", "off by one: the context is shifted one step back",
          fails=("visible", "hidden"), message="ngram_log_prob", source='''
def ngram_log_prob(table, ids):
    n = table.ndim
    total = 0.0
    for t in range(n, len(ids)):
        total += np.log(table[tuple(ids[t - n:t])])
    return float(total)
'''),
    Wrong("ngram_log_prob", "averages the log-probabilities instead of summing them",
          fails=("visible", "hidden"), message="ngram_log_prob", source='''
def ngram_log_prob(table, ids):
    n = table.ndim
    logs = [np.log(table[tuple(ids[t - n + 1:t + 1])]) for t in range(n - 1, len(ids))]
    return float(np.mean(logs)) if logs else 0.0
'''),
    Wrong("fit_ar", "no intercept column: fits through the origin",
          fails=("visible", "hidden"), message="fit_ar", source='''
def fit_ar(series, tau):
    T = len(series)
    X = np.column_stack([series[tau - k:T - k] for k in range(1, tau + 1)])
    coef = np.linalg.lstsq(X, series[tau:], rcond=None)[0]
    return coef, 0.0
'''),
    Wrong("fit_ar", "coefficients in window order (oldest lag first), as make_windows gives",
          fails=("visible", "hidden"), message="fit_ar", source='''
def fit_ar(series, tau):
    T = len(series)
    X = np.stack([series[i:i + tau] for i in range(T - tau)])
    X = np.column_stack([np.ones(T - tau), X])
    params = np.linalg.lstsq(X, series[tau:], rcond=None)[0]
    return params[1:], float(params[0])
'''),
    Wrong("ar_forecast", "never feeds its forecasts back: repeats the one-step forecast",
          fails=("visible", "hidden"), message="ar_forecast", source='''
def ar_forecast(history, coef, intercept, steps):
    tau = len(coef)
    one = intercept + sum(coef[k] * history[-1 - k] for k in range(tau))
    return np.full(steps, float(one))
'''),
    Wrong("ar_forecast", "rolls the window inside the caller's history array",
          fails=("visible", "hidden"), message="modified", source='''
def ar_forecast(history, coef, intercept, steps):
    tau = len(coef)
    out = np.empty(steps)
    for s in range(steps):
        out[s] = intercept + np.dot(coef, history[::-1][:tau])
        history[:-1] = history[1:]
        history[-1] = out[s]
    return out
'''),
]
