"""The one mapping between PyTorch's recurrent modules and the course's numpy weights.

The course's numpy weights multiply from the right (``x @ Wx``, ``Wx (D, G*H)``, ``Wh (H, G*H)``)
while PyTorch stores ``weight_ih_l{k} (G*H, D)`` and computes ``x @ weight_ih.T``; the gate
blocks are stacked in the same order in both, so a transpose moves them over unchanged
(``G = 1`` for the RNN, ``4`` in the LSTM's order i, f, g, o, ``3`` in the GRU's order r, z, n;
see the ``torch.nn.RNN``, ``LSTM`` and ``GRU`` docs). The RNN and the LSTM add PyTorch's two
biases into one ``b``; the GRU keeps both (``bx``, ``bh``), because ``bh_n`` sits inside
``r * (h @ Wh_n + bh_n)``.

Checks use these functions to build oracles and module states; the book shows the same mapping
inline, since it must run without this repository. Everything returned is a fresh float64 array
(never a view of a parameter).
"""
import numpy as np

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
GATE_ORDER = {"RNN": "h", "LSTM": "ifgo", "GRU": "rzn"}


def _array(p):
    return np.array(p.detach().cpu().numpy(), dtype=np.float64)


def suffix(layer=0, reverse=False):
    """The parameter-name suffix of a layer and direction: ``l0``, ``l1_reverse``, ..."""
    return f"l{layer}" + ("_reverse" if reverse else "")


def gate(W, name, kind="LSTM"):
    """The block of columns (or entries of a bias) of gate ``name`` of a numpy weight."""
    H = W.shape[-1] // GATES[kind]
    k = GATE_ORDER[kind].index(name)
    return W[..., k * H:(k + 1) * H]


def weights_from_torch(module, layer=0, reverse=False):
    """``(Wx, Wh, bx, bh)`` of one layer and direction, PyTorch's two biases kept apart."""
    s = suffix(layer, reverse)
    p = dict(module.named_parameters())
    Wx, Wh = _array(p[f"weight_ih_{s}"]).T.copy(), _array(p[f"weight_hh_{s}"]).T.copy()
    if f"bias_ih_{s}" in p:
        return Wx, Wh, _array(p[f"bias_ih_{s}"]), _array(p[f"bias_hh_{s}"])
    zeros = np.zeros(Wx.shape[1])
    return Wx, Wh, zeros, zeros.copy()


def rnn_weights_from_torch(module, layer=0, reverse=False):
    """``(Wx, Wh, b)`` of an ``nn.RNN``'s layer and direction, ``b = bias_ih + bias_hh``."""
    Wx, Wh, bx, bh = weights_from_torch(module, layer, reverse)
    return Wx, Wh, bx + bh


lstm_weights_from_torch = rnn_weights_from_torch  # (Wx (D, 4H), Wh (H, 4H), b (4H,)), i f g o
gru_weights_from_torch = weights_from_torch       # (Wx (D, 3H), Wh (H, 3H), bx, bh), r z n


def state_entries(Wx, Wh, bx, bh=None, layer=0, reverse=False):
    """The state_dict entries (numpy arrays) that give one layer and direction these weights.

    With ``bh`` None the whole bias goes to ``bias_ih`` and ``bias_hh`` is zero: the sum is
    all an RNN or LSTM sees."""
    s = suffix(layer, reverse)
    Wx, Wh, bx = (np.asarray(a, dtype=np.float64) for a in (Wx, Wh, bx))
    bh = np.zeros_like(bx) if bh is None else np.asarray(bh, dtype=np.float64)
    return {f"weight_ih_{s}": Wx.T.copy(), f"weight_hh_{s}": Wh.T.copy(),
            f"bias_ih_{s}": bx.copy(), f"bias_hh_{s}": bh.copy()}


def rnn_state(layers, bidirectional=False):
    """The state_dict (numpy arrays) of an ``nn.RNN``/``nn.LSTM`` whose layer ``k`` has the
    weights ``layers[k] = (Wx, Wh, b)``; bidirectional: ``layers[k] = ((fwd), (bwd))``."""
    state = {}
    for k, weights in enumerate(layers):
        if bidirectional:
            state.update(state_entries(*weights[0], layer=k))
            state.update(state_entries(*weights[1], layer=k, reverse=True))
        else:
            state.update(state_entries(*weights, layer=k))
    return state


def gru_state(layers):
    """The state_dict of an ``nn.GRU`` whose layer ``k`` has ``layers[k] = (Wx, Wh, bx, bh)``."""
    state = {}
    for k, (Wx, Wh, bx, bh) in enumerate(layers):
        state.update(state_entries(Wx, Wh, bx, bh, layer=k))
    return state


def module_with(kind, input_size, hidden_size, state, num_layers=1, bidirectional=False):
    """A float64 ``nn.RNN``/``LSTM``/``GRU`` (time-major) loaded with a numpy ``state``."""
    import torch  # imported when first needed: grading workers start faster

    module = getattr(torch.nn, kind)(input_size, hidden_size, num_layers=num_layers,
                                     bidirectional=bidirectional).double()
    module.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float64))
                            for k, v in state.items()})
    return module


def rnn_weights_to_torch(module, Wx, Wh, b, layer=0, reverse=False):
    """Copy numpy ``(Wx, Wh, b)`` into a layer and direction of ``module`` in place
    (``bias_hh`` becomes zero)."""
    import torch

    params = dict(module.named_parameters())
    with torch.no_grad():
        for name, value in state_entries(Wx, Wh, b, layer=layer, reverse=reverse).items():
            params[name].copy_(torch.from_numpy(value))
    return module
