"""Hidden checks of the ``rnn`` assignment (chapter: the recurrent neural network).

Inputs are seeded random float64 arrays over a grid of shapes: ``T = 1``, ``N = 1``,
``D != H``, long sequences (``T`` up to 50), with zero and non-zero initial states. Weights are
scaled by ``1/sqrt(fan_in)`` so that ``tanh`` stays out of saturation, where a wrong formula would
hide behind values close to +-1. Besides the reference solution, every function is compared with
``torch.nn.RNN`` given the same weights through ``autograder.adapters`` (one layer, bidirectional,
2 and 3 layers), and ``rnn_params_from_torch`` against the adapter's ``weights_from_torch`` and
by a round trip: its arrays in a numpy forward must reproduce the module's own output. Only the
hidden states are compared: the caches are the student's own format (chapter 4 gives the
reference caches).
"""
import numpy as np

from .. import adapters
from . import Case, Check, Module
from .compare import difference


def _weights(rng, D, H):
    return (rng.normal(size=(D, H)) / np.sqrt(D), rng.normal(size=(H, H)) / np.sqrt(H),
            rng.normal(scale=0.5, size=H))


def _h0(rng, shape, nonzero):
    return rng.normal(scale=0.8, size=shape) if nonzero else np.zeros(shape)


def _label(**sizes):
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


# rnn_step_forward ------------------------------------------------------------------------------

def _step_cases(rng):
    cases = []
    for N, D, H in ((1, 3, 5), (4, 6, 2), (3, 1, 1), (2, 4, 4), (8, 10, 3)):
        x, h_prev = rng.normal(size=(N, D)), rng.normal(scale=0.8, size=(N, H))
        cases.append(Case((x, h_prev, *_weights(rng, D, H)), _label(N=N, D=D, H=H)))
    return cases


def _torch_step(x, h_prev, Wx, Wh, b):
    import torch

    state = adapters.state_entries(Wx, Wh, b, layer=None)  # a cell's names: no _l0
    cell = adapters.module_with("RNNCell", *Wx.shape, state)
    with torch.no_grad():
        h = cell(torch.from_numpy(x), torch.from_numpy(h_prev))
    return h.numpy(), None


# rnn_forward -----------------------------------------------------------------------------------

def _sequence_cases(rng, grid):
    cases = []
    for T, N, D, H, nonzero in grid:
        x, h0 = rng.normal(size=(T, N, D)), _h0(rng, (N, H), nonzero)
        label = _label(T=T, N=N, D=D, H=H) + (", non-zero h0" if nonzero else ", h0 = 0")
        cases.append(Case((x, h0, *_weights(rng, D, H)), label))
    return cases


def _forward_cases(rng):
    grid = ((1, 3, 4, 5, True), (1, 1, 1, 1, False), (5, 1, 3, 7, False), (6, 4, 5, 3, True),
            (12, 3, 4, 4, False), (50, 2, 3, 4, True))
    return _sequence_cases(rng, grid)


def _torch_forward(x, h0, Wx, Wh, b):
    import torch

    D, H = Wx.shape
    rnn = adapters.module_with("RNN", D, H, adapters.rnn_state([(Wx, Wh, b)]))
    with torch.no_grad():
        out, _ = rnn(torch.from_numpy(x), torch.from_numpy(h0)[None])
    return out.numpy(), None


# rnn_params_from_torch -------------------------------------------------------------------------

_PARAM_SHAPES = ((3, 5, "float64"), (1, 1, "float64"), (6, 2, "float32"), (4, 4, "float64"),
                 (2, 7, "float32"))


def _rnn_module(D, H, seed, dtype):
    return Module("RNN", dict(input_size=D, hidden_size=H), seed=seed, dtype=dtype)


def _params_cases(rng):
    cases = []
    for k, (D, H, dtype) in enumerate(_PARAM_SHAPES):
        cases.append(Case((_rnn_module(D, H, 100 + k, dtype),),
                          f"nn.RNN({D}, {H}), {dtype} parameters"))
    return cases


def _round_trip(D, H, seed, dtype, Wx, Wh, b):
    """Largest difference between ``nn.RNN``'s output and a numpy forward with these weights."""
    import torch

    torch.manual_seed(seed)
    rnn = torch.nn.RNN(D, H).to(getattr(torch, dtype))
    x = np.random.default_rng(seed).normal(size=(7, 2, D))
    h = np.zeros((2, H))
    with torch.no_grad():
        expected = rnn(torch.from_numpy(x).to(rnn.weight_ih_l0.dtype))[0].double().numpy()
    hs = []
    for t in range(len(x)):
        h = np.tanh(x[t] @ Wx + h @ Wh + b)
        hs.append(h)
    return float(np.max(np.abs(np.stack(hs) - expected)))


def _live(module):
    """The torch module that a ``Module`` spec describes, as the student's kernel builds it."""
    from .. import codec
    from .spec import form

    return codec.decode(form(module), live=True)


def _judge_params(case, got, expected):
    """The reference's arrays, then the round trip through a numpy forward."""
    (module,) = case.args
    if not isinstance(got.result, (tuple, list)) or len(got.result) != 3:
        return f"expected a tuple (Wx, Wh, b), got a {type(got.result).__name__}"
    for name, e, g in zip(("Wx", "Wh", "b"), expected.result, got.result):
        problem = difference(e, g, path=name)  # float32 parameters convert to float64 exactly
        if problem:
            return problem
    problem = difference(adapters.weights_from_torch(_live(module)), got.result)
    if problem:
        return f"disagrees with the course's adapter (weights_from_torch): {problem}"
    sizes = module.kwargs
    error = _round_trip(sizes["input_size"], sizes["hidden_size"], module.seed, module.dtype,
                        *got.result)
    tolerance = 1e-9 if module.dtype == "float64" else 1e-5
    if not error <= tolerance:
        return (f"round trip: a numpy forward with your (Wx, Wh, b) differs from the module's "
                f"own output by {error:.3g}")
    return None


# birnn_forward ---------------------------------------------------------------------------------

def _birnn_cases(rng):
    cases = []
    for T, N, D, H, nonzero in ((1, 2, 3, 4, True), (5, 1, 2, 3, False), (8, 3, 4, 2, True),
                                (40, 2, 3, 5, True), (6, 2, 5, 5, False)):
        x, h0 = rng.normal(size=(T, N, D)), _h0(rng, (2, N, H), nonzero)
        label = _label(T=T, N=N, D=D, H=H) + (", non-zero h0" if nonzero else ", h0 = 0")
        cases.append(Case((x, h0, _weights(rng, D, H), _weights(rng, D, H)), label))
    return cases


def _torch_birnn(x, h0, fwd, bwd):
    import torch

    D, H = fwd[0].shape
    rnn = adapters.module_with("RNN", D, H, adapters.rnn_state([(fwd, bwd)], bidirectional=True),
                               bidirectional=True)
    with torch.no_grad():
        out, h_n = rnn(torch.from_numpy(x), torch.from_numpy(h0))
    return out.numpy(), h_n.numpy()


# stacked_rnn_forward ---------------------------------------------------------------------------

def _stacked_cases(rng):
    cases = []
    for T, N, D, H, L, nonzero in ((1, 2, 3, 4, 2, True), (6, 1, 2, 5, 3, False),
                                   (10, 3, 4, 3, 2, True), (30, 2, 3, 4, 3, True),
                                   (4, 2, 3, 4, 1, True), (5, 2, 4, 4, 2, False)):
        x, h0 = rng.normal(size=(T, N, D)), _h0(rng, (L, N, H), nonzero)
        layers = [_weights(rng, D if k == 0 else H, H) for k in range(L)]
        label = (_label(T=T, N=N, D=D, H=H, L=L)
                 + (", non-zero h0" if nonzero else ", h0 = 0"))
        cases.append(Case((x, h0, layers), label))
    return cases


def _torch_stacked(x, h0, layers):
    import torch

    D, H = layers[0][0].shape
    rnn = adapters.module_with("RNN", D, H, adapters.rnn_state(layers), num_layers=len(layers))
    with torch.no_grad():
        out, h_n = rnn(torch.from_numpy(x), torch.from_numpy(h0))
    return out.numpy(), h_n.numpy()


# Visible cases: small, readable numbers --------------------------------------------------------

def _grid(*shape, scale=1.0):
    """Evenly spaced values in [-scale, scale], reshaped: easy to print and to read."""
    return np.linspace(-scale, scale, int(np.prod(shape))).reshape(shape).round(2)


def _small_weights(D, H):
    return _grid(D, H, scale=0.5), _grid(H, H, scale=0.4)[::-1].copy(), _grid(H, scale=0.1)


def _visible_forward():
    Wx, Wh, b = _small_weights(3, 4)
    return [Case((_grid(3, 2, 3), np.zeros((2, 4)), Wx, Wh, b), "T=3, N=2, D=3, H=4, h0 = 0"),
            Case((_grid(3, 2, 3), _grid(2, 4, scale=0.7), Wx, Wh, b),
                 "T=3, N=2, D=3, H=4, non-zero h0"),
            Case((_grid(1, 1, 3), _grid(1, 4, scale=0.7), Wx, Wh, b), "T=1, N=1")]


def _visible_birnn():
    fwd, bwd = _small_weights(3, 4), tuple(-w for w in _small_weights(3, 4))
    return [Case((_grid(4, 2, 3), np.zeros((2, 2, 4)), fwd, bwd), "T=4, N=2, D=3, H=4, h0 = 0"),
            Case((_grid(4, 2, 3), _grid(2, 2, 4, scale=0.7), fwd, bwd), "non-zero h0")]


def _visible_stacked():
    layers = [_small_weights(3, 4), _small_weights(4, 4)]
    return [Case((_grid(4, 2, 3), _grid(2, 2, 4, scale=0.7), layers),
                 "T=4, N=2, D=3, H=4, L=2, non-zero h0")]


CHECKS = [
    Check("rnn_step_forward", _step_cases, select=((0,),),
          oracles={"torch.nn.RNNCell": _torch_step},
          visible=lambda: [Case((_grid(2, 3), _grid(2, 4, scale=0.7), *_small_weights(3, 4)),
                                "N=2, D=3, H=4")]),
    Check("rnn_forward", _forward_cases, select=((0,),),
          oracles={"torch.nn.RNN": _torch_forward}, visible=_visible_forward),
    Check("rnn_params_from_torch", _params_cases, judge=_judge_params,
          visible=lambda: [Case((_rnn_module(3, 4, 0, "float64"),), "nn.RNN(3, 4), float64")]),
    Check("birnn_forward", _birnn_cases,
          oracles={"torch.nn.RNN(bidirectional=True)": _torch_birnn}, visible=_visible_birnn),
    Check("stacked_rnn_forward", _stacked_cases,
          oracles={"torch.nn.RNN(num_layers=L)": _torch_stacked}, visible=_visible_stacked),
]
