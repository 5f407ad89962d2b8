from wrong import Wrong

WRONG = [
    Wrong("build_vocab", "np.unique: numpy strings instead of Python str", '''
def build_vocab(text):
    itos = list(np.unique(list(text))) if text else []
    return {c: i for i, c in enumerate(itos)}, itos
''', message="numpy.str_"),
    Wrong("build_vocab", "characters in order of first appearance", '''
def build_vocab(text):
    itos = list(dict.fromkeys(text))
    return {c: i for i, c in enumerate(itos)}, itos
''', message="result[0]"),
    Wrong("encode", "unknown characters become 0 instead of raising", '''
def encode(text, stoi):
    return np.array([stoi.get(c, 0) for c in text], dtype=np.int64)
''', message="expected KeyError"),
    Wrong("encode", "the empty text gives a float array", '''
def encode(text, stoi):
    return np.array([stoi[c] for c in text])
''', message="expected dtype int64"),
    Wrong("decode", "joins with spaces", '''
def decode(ids, itos):
    return " ".join(itos[i] for i in ids)
''', message="strings differ"),
    Wrong("one_hot", "float32 vectors", '''
def one_hot(ids, vocab_size):
    return np.eye(vocab_size, dtype=np.float32)[np.asarray(ids)]
''', message="expected dtype float64"),
    Wrong("one_hot", "a batch flattened", '''
def one_hot(ids, vocab_size):
    return np.eye(vocab_size)[np.ravel(ids)]
''', message="expected shape"),
    Wrong("one_hot", "rows of the batch swapped", '''
def one_hot(ids, vocab_size):
    ids = np.asarray(ids)
    out = np.eye(vocab_size)[ids]
    return out[::-1].copy() if ids.ndim > 1 else out
''', message="entries differ"),
    Wrong("make_windows", "targets off by one (the window's last value)", '''
def make_windows(series, tau):
    if not 1 <= tau < len(series):
        raise ValueError(tau)
    X = np.stack([series[i:i + tau] for i in range(len(series) - tau)])
    return X, series[tau - 1:-1].copy()
''', message="result[1]"),
    Wrong("make_windows", "a strided view of the series", '''
def make_windows(series, tau):
    if not 1 <= tau < len(series):
        raise ValueError(tau)
    return np.lib.stride_tricks.sliding_window_view(series, tau)[:-1], series[tau:].copy()
''', message="shares memory"),
    Wrong("cbow_context", "sums instead of averaging", '''
def cbow_context(E, context_ids):
    return E[np.asarray(context_ids)].sum(axis=0)
''', message="entries differ"),
    Wrong("cbow_context", "repeated ids counted once", '''
def cbow_context(E, context_ids):
    return E[np.unique(np.asarray(context_ids))].mean(axis=0)
''', message="entries differ"),
    Wrong("lag_correlation", "the autocorrelation function (one global mean)", '''
def lag_correlation(series, lag):
    if not 1 <= lag <= len(series) - 2:
        raise ValueError(lag)
    c = series - series.mean()
    return float(c[:-lag] @ c[lag:] / (c @ c))
''', message="expected"),
]
