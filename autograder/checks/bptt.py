"""Checks of the ``bptt`` assignment (chapter: backpropagation through time and truncation).

Every case is seeded. The caches passed to the backward functions are built here as plain data
in the contract's fixed format (a step cache ``(x, h_prev, Wx, Wh, h_next)``, a sequence cache the
list of step caches), exactly what the notebook's provided ``rnn_forward`` makes. Two oracles
besides the reference judge the gradients: torch autograd on the same forward pass, and centred
finite differences (cs231n's ``gradient_check``). The cache holds no bias ``b``, so the oracles
look it up in ``_BIAS`` by the upstream gradient's bytes; the case generators fill it.

``clip_grad_norm`` is compared with ``torch.nn.utils.clip_grad_norm_`` below, at and above the
threshold (at a tight tolerance: the ``1e-6`` in torch's factor must be there);
``tbptt_batches`` with an independent reshape of the layout; ``hidden_jacobian_norms`` with
``torch.autograd.functional.jacobian``. A wrong ``dx`` of ``rnn_backward`` is reported at the
first time step that differs, counting back from ``T - 1`` as backpropagation does.
"""
import numpy as np

from . import Case, Check
from .compare import difference

GRAD_NAMES = {"rnn_step_backward": ("dx", "dh_prev", "dWx", "dWh", "db"),
              "rnn_backward": ("dx", "dh0", "dWx", "dWh", "db")}
# Finite differences are accurate to about 1e-9 here; a wrong gradient is off by O(1).
GRAD_RTOL, GRAD_ATOL = 1e-6, 1e-7
EPS = 1e-5

_BIAS = {}  # upstream gradient's bytes -> the bias b of the forward pass that made the cache


def _forward(x, h0, Wx, Wh, b):
    """The contract's forward pass and its sequence cache, as plain data."""
    h, cache = h0, []
    for t in range(x.shape[0]):
        h_new = np.tanh(x[t] @ Wx + h @ Wh + b)
        cache.append((x[t].copy(), h.copy(), Wx.copy(), Wh.copy(), h_new))
        h = h_new
    return cache


def _params(rng, T, N, D, H, scale=0.5, h0_scale=1.0):
    x = rng.normal(size=(T, N, D))
    h0 = h0_scale * rng.normal(size=(N, H)) if h0_scale else np.zeros((N, H))
    Wx = rng.normal(scale=scale / np.sqrt(D), size=(D, H))
    Wh = rng.normal(scale=scale / np.sqrt(H), size=(H, H))
    b = rng.normal(scale=0.3, size=H)
    return x, h0, Wx, Wh, b


def _register(upstream, b):
    _BIAS[upstream.tobytes()] = b
    return upstream


# --- rnn_step_backward ------------------------------------------------------------------------

def _step_case(rng, N, D, H, label, scale=0.8):
    x, h0, Wx, Wh, b = _params(rng, 1, N, D, H, scale)
    cache = _forward(x, h0, Wx, Wh, b)[0]
    dh_next = _register(rng.normal(size=(N, H)), b)
    return Case((dh_next, cache), label)


def _step_visible():
    return [_step_case(np.random.default_rng(1), 2, 3, 2, "N=2, D=3, H=2"),
            _step_case(np.random.default_rng(2), 1, 1, 1, "N=1, D=1, H=1")]


def _step_hidden(rng):
    shapes = [(1, 1, 1, "N=1, D=1, H=1"), (1, 3, 2, "N=1, D=3, H=2"),
              (4, 2, 5, "N=4, D=2 != H=5"), (3, 6, 6, "N=3, D=H=6"),
              (8, 10, 7, "N=8, D=10 != H=7")]
    cases = [_step_case(rng, N, D, H, label) for N, D, H, label in shapes]
    cases.append(_step_case(rng, 5, 3, 4, "N=5, D=3, H=4, large weights (tanh saturates)",
                            scale=4.0))
    return cases


def _step_torch(dh_next, cache):
    import torch  # imported when first needed: grading workers start faster

    x, h_prev, Wx, Wh, _ = (torch.tensor(a, requires_grad=True) for a in cache)
    b = torch.tensor(_BIAS[dh_next.tobytes()], requires_grad=True)
    h_next = torch.tanh(x @ Wx + h_prev @ Wh + b)
    h_next.backward(torch.tensor(dh_next))
    return tuple(t.grad.numpy().copy() for t in (x, h_prev, Wx, Wh, b))


def _step_numerical(dh_next, cache):
    x, h_prev, Wx, Wh, _ = cache
    b = _BIAS[dh_next.tobytes()]
    inputs = [a.copy() for a in (x, h_prev, Wx, Wh, b)]
    return tuple(_centred(lambda: np.sum(dh_next * np.tanh(
        inputs[0] @ inputs[2] + inputs[1] @ inputs[3] + inputs[4])), a) for a in inputs)


def _centred(loss, a):
    """Centred differences of loss() with respect to the array a, changed in place and restored."""
    grad = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + EPS
        up = loss()
        a[i] = old - EPS
        down = loss()
        a[i] = old
        grad[i] = (up - down) / (2 * EPS)
    return grad


# --- rnn_backward -----------------------------------------------------------------------------

def _seq_case(rng, T, N, D, H, label, scale=0.5, only_last=False):
    x, h0, Wx, Wh, b = _params(rng, T, N, D, H, scale)
    cache = _forward(x, h0, Wx, Wh, b)
    dhs = rng.normal(size=(T, N, H))
    if only_last:  # a many-to-one loss: only the last state is read out
        dhs[:-1] = 0.0
    return Case((_register(dhs, b), cache), label)


def _seq_visible():
    return [_seq_case(np.random.default_rng(3), 3, 2, 3, 2, "T=3, N=2, D=3, H=2"),
            _seq_case(np.random.default_rng(4), 1, 1, 2, 2, "T=1, N=1, D=H=2")]


def _seq_hidden(rng):
    return [
        _seq_case(rng, 1, 1, 2, 3, "T=1, N=1, D=2, H=3"),
        _seq_case(rng, 1, 4, 3, 3, "T=1, N=4, D=H=3"),
        _seq_case(rng, 5, 1, 3, 2, "T=5, N=1, D=3 != H=2"),
        _seq_case(rng, 6, 3, 2, 5, "T=6, N=3, D=2 != H=5"),
        _seq_case(rng, 7, 2, 4, 3, "T=7, N=2, dhs zero except at T-1 (many-to-one)",
                  only_last=True),
        _seq_case(rng, 8, 2, 3, 4, "T=8, N=2, large weights (tanh saturates)", scale=3.0),
        _seq_case(rng, 60, 2, 3, 4, "T=60 (long), N=2, small weights", scale=0.3),
    ]


def _unpack(cache):
    x = np.stack([c[0] for c in cache])
    return x, cache[0][1], cache[0][2], cache[0][3]


def _seq_torch(dhs, cache):
    import torch

    x, h0, Wx, Wh = _unpack(cache)
    leaves = [torch.tensor(a, requires_grad=True)
              for a in (x, h0, Wx, Wh, _BIAS[dhs.tobytes()])]
    tx, h, tWx, tWh, tb = leaves
    hs = []
    for t in range(x.shape[0]):
        h = torch.tanh(tx[t] @ tWx + h @ tWh + tb)
        hs.append(h)
    torch.stack(hs).backward(torch.tensor(dhs))
    return tuple(t.grad.numpy().copy() for t in leaves)


def _seq_numerical(dhs, cache):
    inputs = [a.copy() for a in _unpack(cache)] + [_BIAS[dhs.tobytes()].copy()]

    def loss():
        x, h, Wx, Wh, b = inputs
        total = 0.0
        for t in range(x.shape[0]):
            h = np.tanh(x[t] @ Wx + h @ Wh + b)
            total += np.sum(dhs[t] * h)
        return total

    return tuple(_centred(loss, a) for a in inputs)


_ORACLE_CACHE = {}  # (function, oracle, upstream bytes) -> the oracle's gradients


def _gradient_judge(function, oracles):
    """Compare the five gradients by name, dx of rnn_backward one time step at a time, with the
    reference and then with every oracle (the core leaves the oracles to a custom judge)."""
    names = GRAD_NAMES[function]

    def compare(want, have, source):
        of = "" if source is None else f"disagrees with {source}: "
        for k, name in enumerate(names):
            if (k == 0 and function == "rnn_backward" and isinstance(have[0], np.ndarray)
                    and have[0].shape == want[0].shape and have[0].dtype == want[0].dtype):
                T = want[0].shape[0]
                for t in range(T - 1, -1, -1):  # the order backpropagation visits the steps
                    message = difference(want[0][t], have[0][t], rtol=GRAD_RTOL,
                                         atol=GRAD_ATOL, path=f"dx[{t}]")
                    if message:
                        right = ("dx is wrong from " if t == T - 1 else
                                 f"dx is right at t = {T - 1} and wrong from " if t == T - 2
                                 else f"dx is right at t = {T - 1}..{t + 1} and wrong from ")
                        return (f"{of}{right}time step t = {t} (of T = {T}), counting back "
                                f"from T - 1: {message}")
                continue
            message = difference(want[k], have[k], rtol=GRAD_RTOL, atol=GRAD_ATOL, path=name)
            if message:
                return of + message
        return None

    def judge(case, got, expected):
        have = got.result
        if not isinstance(have, (tuple, list)) or len(have) != len(names):
            return difference(expected.result, have)
        message = compare(expected.result, have, None)
        if message:
            return message
        upstream = case.args[0]
        for name, oracle in oracles.items():
            key = (function, name, upstream.tobytes())
            if key not in _ORACLE_CACHE:
                _ORACLE_CACHE[key] = oracle(*case.args)
            message = compare(_ORACLE_CACHE[key], have, name)
            if message:
                return message
        return None

    return judge


# --- clip_grad_norm ---------------------------------------------------------------------------

def _global_norm(grads):
    return float(np.sqrt(sum(np.sum(g * g) for g in grads)))


def _clip_cases(rng, label_prefix, shapes, scale):
    grads = [rng.normal(scale=scale, size=s) for s in shapes]
    total = _global_norm(grads)
    return [Case((grads, 2.0 * total), f"{label_prefix}, norm below max_norm"),
            Case((grads, total), f"{label_prefix}, norm equal to max_norm"),
            Case((grads, total / 3.0), f"{label_prefix}, norm above max_norm")]


def _clip_visible():
    grads = [np.array([[3.0, 0.0], [0.0, 0.0]]), np.array([0.0, 4.0])]  # global norm 5
    return [Case((grads, 10.0), "norm 5 below max_norm 10"),
            Case((grads, 1.0), "norm 5 above max_norm 1")]


def _clip_hidden(rng):
    return (_clip_cases(rng, "one (3, 4) array", [(3, 4)], 1.0)
            + _clip_cases(rng, "arrays (4, 3), (3, 3), (3,)", [(4, 3), (3, 3), (3,)], 1.0)
            + _clip_cases(rng, "four arrays with norm about 1e3 (exploding)",
                          [(5, 2), (2, 2), (2,), (2, 7)], 100.0)
            + [Case(([rng.normal(scale=1e-3, size=(2, 3))], 5.0), "a tiny gradient, max_norm 5")])


def _clip_torch(grads, max_norm):
    import torch

    params = []
    for g in grads:
        p = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        p.grad = torch.tensor(g)
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad.numpy().copy() for p in params], float(total)


# --- tbptt_batches ----------------------------------------------------------------------------

def _tbptt_visible():
    return [Case((np.arange(23, dtype=np.int64), 2, 3), "ids 0..22, batch_size 2, time_size 3"),
            Case((np.arange(10, dtype=np.int64), 1, 4), "ids 0..9, batch_size 1, time_size 4")]


def _tbptt_hidden(rng):
    sizes = [(25, 3, 4, "len 25: data_size 24 divides evenly into 3 rows"),
             (24, 3, 2, "len 24: data_size 23 does not divide evenly into 3 rows"),
             (23, 2, 3, "len 23: rows of 11 ids, 3 batches of 3, 2 ids dropped per row"),
             (101, 1, 10, "batch_size 1, len 101: 10 batches, nothing dropped"),
             (55, 1, 7, "batch_size 1, len 55: 7 batches, 5 ids dropped"),
             (1000, 8, 25, "len 1000, batch_size 8, time_size 25"),
             (37, 5, 1, "time_size 1"),
             (10, 4, 3, "text too short for one batch: the list is empty")]
    return [Case((rng.integers(0, 60, size=L), B, S), f"{label} (batch_size {B}, "
                 f"time_size {S})") for L, B, S, label in sizes]


def _tbptt_reshape(ids, batch_size, time_size):
    jump = (len(ids) - 1) // batch_size
    n = jump // time_size
    rows = np.stack([ids[i * jump: i * jump + n * time_size + 1] for i in range(batch_size)])
    xs = rows[:, :-1].reshape(batch_size, n, time_size)
    ts = rows[:, 1:].reshape(batch_size, n, time_size)
    return [(xs[:, k].T.copy(), ts[:, k].T.copy()) for k in range(n)]


# --- hidden_jacobian_norms --------------------------------------------------------------------

def _jac_case(rng, T, D, H, label, radius=None, h0_scale=0.0):
    x, h0, Wx, Wh, b = _params(rng, T, 1, D, H, h0_scale=h0_scale)
    if radius is not None:  # rescale Wh to the given spectral radius
        Wh = Wh * (radius / np.max(np.abs(np.linalg.eigvals(Wh))))
    return Case((x, h0, Wx, Wh, b), label)


def _jac_visible():
    return [_jac_case(np.random.default_rng(5), 3, 2, 2, "T=3, D=H=2"),
            _jac_case(np.random.default_rng(6), 1, 2, 3, "T=1: [sqrt(H)]")]


def _jac_hidden(rng):
    return [_jac_case(rng, 1, 3, 4, "T=1, D=3, H=4"),
            _jac_case(rng, 6, 2, 1, "H=1, T=6"),
            _jac_case(rng, 8, 4, 3, "T=8, D=4 != H=3, non-zero h0", h0_scale=1.0),
            _jac_case(rng, 30, 3, 5, "T=30, spectral radius 0.5 (vanishing)", radius=0.5),
            _jac_case(rng, 40, 2, 5, "T=40, spectral radius 1.5", radius=1.5, h0_scale=0.5)]


def _jac_torch(x, h0, Wx, Wh, b):
    import torch

    tx, tWx, tWh, tb = (torch.tensor(a) for a in (x, Wx, Wh, b))
    T = x.shape[0]
    hs, h = [], torch.tensor(h0[0])
    for t in range(T):
        h = torch.tanh(tx[t, 0] @ tWx + h @ tWh + tb)
        hs.append(h)

    def last_from(t):
        def run(h):
            for j in range(t + 1, T):
                h = torch.tanh(tx[j, 0] @ tWx + h @ tWh + tb)
            return h
        return run

    return np.array([float(torch.linalg.matrix_norm(
        torch.autograd.functional.jacobian(last_from(t), hs[t].detach())))
        for t in range(T)])


STEP_ORACLES = {"torch autograd": _step_torch, "centred differences": _step_numerical}
SEQ_ORACLES = {"torch autograd": _seq_torch, "centred differences": _seq_numerical}

CHECKS = [
    # The gradient checks judge the oracles in their own judge (a custom judge replaces the
    # core's comparisons), so the oracles are not declared to the core a second time.
    Check("rnn_step_backward", visible=_step_visible, hidden=_step_hidden,
          judge=_gradient_judge("rnn_step_backward", STEP_ORACLES),
          rtol=GRAD_RTOL, atol=GRAD_ATOL),
    Check("rnn_backward", visible=_seq_visible, hidden=_seq_hidden,
          judge=_gradient_judge("rnn_backward", SEQ_ORACLES), rtol=GRAD_RTOL, atol=GRAD_ATOL),
    Check("clip_grad_norm", visible=_clip_visible, hidden=_clip_hidden,
          oracles={"torch.nn.utils.clip_grad_norm_": _clip_torch}, rtol=1e-10, atol=1e-12),
    Check("tbptt_batches", visible=_tbptt_visible, hidden=_tbptt_hidden,
          oracles={"a reshape of the layout": _tbptt_reshape}),
    Check("hidden_jacobian_norms", visible=_jac_visible, hidden=_jac_hidden,
          oracles={"torch.autograd.functional.jacobian": _jac_torch}),
]
