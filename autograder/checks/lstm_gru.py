"""Checks of ``lstm_gru`` (chapter: LSTM and GRU).

Every case is seeded and compared with the reference solution and with an independent oracle:
``nn.LSTMCell``/``nn.LSTM`` and ``nn.GRUCell``/``nn.GRU`` loaded with the same weights through
``autograder.adapters`` (the contract's mapping: ``Wx = weight_ih.T``, ``Wh = weight_hh.T``,
LSTM ``b = bias_ih + bias_hh``, GRU ``bx = bias_ih``, ``bh = bias_hh``; its ``weights_from_torch``
also judges ``*_params_from_torch``), torch autograd and complex-step numerical gradients for the
LSTM backward, and real modules for ``count_params``.

``lstm_step_backward`` runs on the cache of the student's own ``lstm_step_forward`` (a chain);
the core runs no oracle on a chain, so its own judge recomputes torch autograd and complex-step
gradients from the chain's declared inputs.

The grid: ``N = 1``, ``D != H``, ``H = 1``, ``T = 1`` and ``T = 50`` (small weights keep it in
range), zero and non-zero initial states, and pre-activations up to about 30 in magnitude.
Biases are generic, so ``bias_hh``'s candidate block (where PyTorch's GRU and the textbook GRU
part) is never zero.
"""
import numpy as np

from .. import adapters
from . import Call, Case, Check, Module, Ref
from .compare import difference

# ---------------------------------------------------------------------------- inputs


def _lstm_inputs(rng, N, D, H, scale=0.5, zero_state=False):
    x = rng.normal(size=(N, D))
    h, c = (np.zeros((N, H)), np.zeros((N, H))) if zero_state else (
        rng.normal(size=(N, H)), rng.normal(size=(N, H)))
    Wx = rng.normal(scale=scale, size=(D, 4 * H))
    Wh = rng.normal(scale=scale, size=(H, 4 * H))
    b = rng.normal(scale=scale, size=4 * H)
    return x, h, c, Wx, Wh, b


def _gru_inputs(rng, N, D, H, scale=0.5, zero_state=False):
    x = rng.normal(size=(N, D))
    h = np.zeros((N, H)) if zero_state else rng.normal(size=(N, H))
    Wx = rng.normal(scale=scale, size=(D, 3 * H))
    Wh = rng.normal(scale=scale, size=(H, 3 * H))
    bx = rng.normal(scale=scale, size=3 * H)
    bh = rng.normal(scale=scale, size=3 * H)
    return x, h, Wx, Wh, bx, bh


# (N, D, H, weight scale, zero state, label)
STEP_GRID = [
    (1, 3, 5, 0.5, False, "N=1, D=3, H=5"),
    (4, 6, 2, 0.5, False, "N=4, D=6 != H=2"),
    (3, 2, 1, 0.5, False, "H=1"),
    (2, 4, 4, 0.5, True, "zero states"),
    (3, 5, 3, 6.0, False, "large pre-activations (saturated gates)"),
]
# (T, N, D, H, weight scale, zero state, label)
SEQ_GRID = [
    (1, 2, 3, 4, 0.5, False, "T=1"),
    (6, 1, 4, 3, 0.5, False, "N=1, D=4 != H=3"),
    (5, 3, 2, 5, 0.5, True, "zero initial states"),
    (50, 2, 3, 4, 0.3, False, "T=50"),
]


def _sequence(rng, T, N, D, H, scale, zero_state, gates):
    x = rng.normal(size=(T, N, D))
    states = [np.zeros((N, H)) if zero_state else rng.normal(size=(N, H))
              for _ in range(2 if gates == 4 else 1)]
    Wx = rng.normal(scale=scale, size=(D, gates * H))
    Wh = rng.normal(scale=scale, size=(H, gates * H))
    biases = [rng.normal(scale=scale, size=gates * H) for _ in range(1 if gates == 4 else 2)]
    return (x, *states, Wx, Wh, *biases)


# ---------------------------------------------------------------------------- torch oracles


def _torch():
    import torch  # imported when first needed: grading workers start faster
    return torch


def _cell(kind, Wx, Wh, bx, bh=None):
    """An nn.LSTMCell / nn.GRUCell in float64 holding these numpy weights."""
    return adapters.module_with(kind, Wx.shape[0], Wh.shape[0],
                                adapters.state_entries(Wx, Wh, bx, bh, layer=None))


def _t(a):
    return _torch().from_numpy(np.asarray(a, dtype=np.float64))


def _lstm_cell_oracle(x, h_prev, c_prev, Wx, Wh, b):
    with _torch().no_grad():
        h, c = _cell("LSTMCell", Wx, Wh, b)(_t(x), (_t(h_prev), _t(c_prev)))
    return h.numpy(), c.numpy(), None


def _lstm_oracle(x, h0, c0, Wx, Wh, b):
    module = adapters.module_with("LSTM", Wx.shape[0], Wh.shape[0], adapters.state_entries(Wx, Wh, b))
    with _torch().no_grad():
        hs, _ = module(_t(x), (_t(h0)[None], _t(c0)[None]))
        # cs is not an output of nn.LSTM: run the cell step by step for it.
        cell, h, c, cs = _cell("LSTMCell", Wx, Wh, b), _t(h0), _t(c0), []
        for t in range(x.shape[0]):
            h, c = cell(_t(x[t]), (h, c))
            cs.append(c.numpy())
    return hs.numpy(), np.stack(cs), None


def _gru_cell_oracle(x, h_prev, Wx, Wh, bx, bh):
    with _torch().no_grad():
        return _cell("GRUCell", Wx, Wh, bx, bh)(_t(x), _t(h_prev)).numpy()


def _gru_oracle(x, h0, Wx, Wh, bx, bh):
    module = adapters.module_with("GRU", Wx.shape[0], Wh.shape[0],
                                  adapters.state_entries(Wx, Wh, bx, bh))
    with _torch().no_grad():
        return module(_t(x), _t(h0)[None])[0].numpy()


# ---------------------------------------------------------------------------- LSTM backward

GRAD_NAMES = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")


def _backward_case(rng, N, D, H, scale, zero_state, label, dh_zero=False, dc_zero=False):
    inputs = _lstm_inputs(rng, N, D, H, scale, zero_state)
    dh = np.zeros((N, H)) if dh_zero else rng.normal(size=(N, H))
    dc = np.zeros((N, H)) if dc_zero else rng.normal(size=(N, H))
    return Case((), label, steps=(Call("lstm_step_forward", inputs),
                                  Call("lstm_step_backward", (dh, dc, Ref(0, 2)))))


def _lstm_vjp(x, h_prev, c_prev, Wx, Wh, b, dh_next, dc_next):
    """sum(dh_next * h_next) + sum(dc_next * c_next) of one step, for real or complex inputs."""
    a = x @ Wx + h_prev @ Wh + b
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))
    i, f, g, o = (adapters.gate(a, name) for name in "ifgo")
    i, f, g, o = sig(i), sig(f), np.tanh(g), sig(o)
    c = f * c_prev + i * g
    return (dh_next * o * np.tanh(c)).sum() + (dc_next * c).sum()


def _autograd(inputs, dh_next, dc_next):
    torch = _torch()
    leaves = [_t(a).requires_grad_() for a in inputs]
    x, h, c, Wx, Wh, b = leaves
    i, f, g, o = (adapters.gate(x @ Wx + h @ Wh + b, name) for name in "ifgo")
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_next = torch.sigmoid(o) * torch.tanh(c_next)
    grads = torch.autograd.grad((h_next, c_next), leaves, (_t(dh_next), _t(dc_next)))
    return tuple(gr.numpy() for gr in grads)


def _complex_step(inputs, dh_next, dc_next, step=1e-30):
    """Numerical gradients by the complex step, Im f(u + i*step) / step: a finite difference
    without cancellation, accurate to float64 rounding (Squire and Trapp 1998), where centred
    differences would need a tolerance near 1e-6."""
    inputs = [np.array(a, dtype=np.complex128) for a in inputs]
    grads = []
    for arr in inputs:
        grad = np.empty(arr.shape)
        for idx in np.ndindex(arr.shape):
            arr[idx] += 1j * step
            grad[idx] = _lstm_vjp(*inputs, dh_next, dc_next).imag / step
            arr[idx] -= 1j * step
        grads.append(grad)
    return tuple(grads)


def _judge_backward(case, got, want):
    """The six gradients against the reference's (run on the reference's own cache), then
    against torch autograd and complex-step gradients of the same step."""
    inputs = case.steps[0].args
    dh_next, dc_next = case.steps[1].args[:2]
    result = got.result
    if not isinstance(result, (tuple, list)) or len(result) != 6:
        return difference(want.result, result)
    for name, expected in (("the reference", want.result),
                           ("torch autograd", _autograd(inputs, dh_next, dc_next)),
                           ("numerical gradients", _complex_step(inputs, dh_next, dc_next))):
        for k, grad in enumerate(GRAD_NAMES):
            message = difference(np.asarray(expected[k]), result[k],
                                 path=f"result[{k}] ({grad})")
            if message:
                return message if name == "the reference" else f"disagrees with {name}: {message}"
    return None


def _backward_hidden(rng):
    return [_backward_case(rng, *row) for row in STEP_GRID]


def _backward_edges(rng):
    return [_backward_case(rng, 3, 4, 2, 0.5, False, "dc_next = 0", dc_zero=True),
            _backward_case(rng, 2, 3, 3, 0.5, False, "dh_next = 0", dh_zero=True),
            _backward_case(rng, 1, 1, 1, 0.5, False, "N=D=H=1"),
            _backward_case(rng, 4, 2, 3, 4.0, True, "zero states, saturated gates")]


# ---------------------------------------------------------------------------- the other cases


def _step_cases(inputs):
    def cases(rng):
        return [Case(inputs(rng, N, D, H, s, z), label) for N, D, H, s, z, label in STEP_GRID]
    return cases


def _sequence_cases(gates):
    def cases(rng):
        return [Case(_sequence(rng, T, N, D, H, s, z, gates), label)
                for T, N, D, H, s, z, label in SEQ_GRID]
    return cases


def _module_cases(kind):
    def cases(rng):
        grid = [(3, 5, "float64"), (1, 1, "float64"), (6, 2, "float32"), (4, 4, "float32")]
        return [Case((Module(kind, dict(input_size=D, hidden_size=H), seed=int(rng.integers(1000)),
                             dtype=dtype),), f"nn.{kind}({D}, {H}), {dtype}")
                for D, H, dtype in grid]
    return cases


def _judge_params(kind):
    """The weights against the reference's, then the round trip: the student's arrays in the
    reference's numpy forward reproduce the module's own output on a random sequence."""
    def judge(case, got, want):
        message = difference(want.result, got.result)
        if message:
            return message
        from .. import codec, reference
        from .spec import form
        torch = _torch()
        module = codec.decode(form(case.args[0]), live=True)
        message = difference(adapters.weights_from_torch(module), got.result)
        if message:
            return f"disagrees with the course's adapter (weights_from_torch): {message}"
        dtype = next(module.parameters()).dtype
        rng = np.random.default_rng(7)
        D, H = module.input_size, module.hidden_size
        x, h0, c0 = rng.normal(size=(5, 2, D)), rng.normal(size=(2, H)), rng.normal(size=(2, H))
        with torch.no_grad():
            if kind == "LSTM":
                out = module(torch.tensor(x, dtype=dtype),
                             (torch.tensor(h0[None], dtype=dtype), torch.tensor(c0[None], dtype=dtype)))[0]
                mine = reference.function("lstm_gru", "lstm_forward")(x, h0, c0, *got.result)[0]
            else:
                out = module(torch.tensor(x, dtype=dtype), torch.tensor(h0[None], dtype=dtype))[0]
                mine = reference.function("lstm_gru", "gru_forward")(x, h0, *got.result)
        loose = dtype == torch.float32  # the module computes in float32
        message = difference(out.double().numpy(), mine, rtol=1e-4 if loose else 1e-7,
                             atol=1e-5 if loose else 1e-10, path=f"nn.{kind}'s output")
        return f"round trip: your weights in a numpy {kind} do not reproduce {message}" if message else None
    return judge


def _count_cases(rng):
    cases = []
    for cell in ("rnn", "lstm", "gru"):
        for L, bd in ((1, False), (2, True), (3, False), (3, True)):
            D, H = int(rng.integers(1, 41)), int(rng.integers(1, 65))
            cases.append(Case((cell, D, H, L, bd),
                              f"{cell}, input_size={D}, hidden_size={H}, num_layers={L}, "
                              f"bidirectional={bd}"))
    cases.append(Case(("lstm", 1, 1), "lstm, 1, 1, defaults"))
    return cases


def _count_oracle(cell, input_size, hidden_size, num_layers=1, bidirectional=False):
    module = getattr(_torch().nn, cell.upper())(input_size, hidden_size, num_layers=num_layers,
                                                bidirectional=bidirectional)
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------------------- visible cases
# Small, readable numbers: the visible test cells of the notebook make these calls.

_X = np.array([[1.0, -1.0]])                      # N=1, D=2
_H1, _C1 = np.array([[0.5]]), np.array([[-1.0]])  # H=1
_WX4 = np.array([[0.1, 0.2, 0.3, 0.4], [-0.1, 0.0, 0.1, 0.2]])  # (2, 4H): columns i, f, g, o
_WH4 = np.array([[0.3, -0.2, 0.5, 0.1]])
_B4 = np.array([0.0, 1.0, 0.0, -0.5])
_WX3 = np.array([[0.2, -0.1, 0.4], [0.1, 0.3, -0.2]])           # (2, 3H): columns r, z, n
_WH3 = np.array([[0.5, 0.2, -0.3]])
_BX3, _BH3 = np.array([0.1, 0.0, 0.2]), np.array([0.0, -0.1, 0.3])
_XS = np.array([[[1.0, -1.0]], [[0.0, 2.0]], [[-0.5, 0.5]]])    # T=3, N=1, D=2


def _visible_backward():
    dh, dc = np.array([[1.0]]), np.array([[0.5]])
    return [Case((), "N=1, D=2, H=1, dh_next=1, dc_next=0.5",
                 steps=(Call("lstm_step_forward", (_X, _H1, _C1, _WX4, _WH4, _B4)),
                        Call("lstm_step_backward", (dh, dc, Ref(0, 2)))))]


_FORWARD = ((0,), (1,))  # h_next/hs and c_next/cs; the cache is the student's own

CHECKS = [
    Check("lstm_step_forward", _step_cases(_lstm_inputs), select=_FORWARD,
          oracles={"torch.nn.LSTMCell": _lstm_cell_oracle},
          visible=lambda: [Case((_X, _H1, _C1, _WX4, _WH4, _B4), "N=1, D=2, H=1")]),
    Check("lstm_forward", _sequence_cases(4), select=_FORWARD,
          oracles={"torch.nn.LSTM": _lstm_oracle},
          visible=lambda: [Case((_XS, _H1, _C1, _WX4, _WH4, _B4), "T=3, N=1, D=2, H=1")]),
    Check("lstm_step_backward", _backward_hidden, extra={"edges": _backward_edges},
          depends=("lstm_step_forward",), points={"visible": 1, "hidden": 2, "edges": 1},
          judge=_judge_backward, visible=_visible_backward),
    Check("lstm_params_from_torch", _module_cases("LSTM"), judge=_judge_params("LSTM"),
          visible=lambda: [Case((Module("LSTM", dict(input_size=2, hidden_size=1), seed=0,
                                        dtype="float64"),), "nn.LSTM(2, 1)")]),
    Check("gru_step_forward", _step_cases(_gru_inputs),
          oracles={"torch.nn.GRUCell": _gru_cell_oracle},
          visible=lambda: [Case((_X, _H1, _WX3, _WH3, _BX3, _BH3), "N=1, D=2, H=1")]),
    Check("gru_forward", _sequence_cases(3), oracles={"torch.nn.GRU": _gru_oracle},
          visible=lambda: [Case((_XS, _H1, _WX3, _WH3, _BX3, _BH3), "T=3, N=1, D=2, H=1")]),
    Check("gru_params_from_torch", _module_cases("GRU"), judge=_judge_params("GRU"),
          visible=lambda: [Case((Module("GRU", dict(input_size=2, hidden_size=1), seed=0,
                                        dtype="float64"),), "nn.GRU(2, 1)")]),
    Check("count_params", _count_cases, oracles={"a real torch module": _count_oracle},
          visible=lambda: [Case(("rnn", 3, 4), "rnn, 3, 4"),
                           Case(("lstm", 3, 4), "lstm, 3, 4"),
                           Case(("gru", 3, 4, 2, True), "gru, 3, 4, 2 layers, bidirectional")]),
]
