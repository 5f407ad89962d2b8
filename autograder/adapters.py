"""The one mapping between PyTorch's recurrent modules and the course's numpy weights.

The course's numpy weights multiply from the right (``x @ Wx``, ``Wx (D, G*H)``, ``Wh (H, G*H)``)
while PyTorch stores ``weight_ih_l{k} (G*H, D)`` and computes ``x @ weight_ih.T``; the gate
blocks are stacked in the same order in both, so a transpose moves them over unchanged
(``G = 1`` for the RNN, ``4`` in the LSTM's order i, f, g, o, ``3`` in the GRU's order r, z, n;
see the ``torch.nn.RNN``, ``LSTM`` and ``GRU`` docs). The RNN and the LSTM add PyTorch's two
biases into one ``b``; the GRU keeps both (``bx``, ``bh``), because ``bh_n`` sits inside
``r * (h @ Wh_n + bh_n)``.

The checks use these functions to build oracles and module states, and the book teaches the
same functions. A chapter page must run as a downloaded notebook, without this repository, so
it defines the ones it uses in a code cell whose first line is
``# the course's adapter (autograder/adapters.py)``, copied from here verbatim (d2l's ``#@save``
habit, with this file as the source). ``tests/test_book_adapter.py`` fails when a copy differs
from this file, or when a page transposes or slices PyTorch's weights on its own: edit here,
then paste into the pages it names. So each function stays short and self-contained: it needs
``np`` (and torch, imported where needed), none of the others. Everything returned is a fresh
float64 array (never a view of a parameter), except ``gate``'s view.
"""
import numpy as np


def gate(a, name, kind="LSTM"):
    """Gate ``name``'s block of ``a`` along its last axis, in PyTorch's order.

    ``a`` is in the course's layout: a weight ``Wx (D, G*H)`` or ``Wh (H, G*H)``, a bias
    ``(G*H,)`` or a pre-activation ``x @ Wx + h @ Wh + b (N, G*H)``; ``kind`` is ``"LSTM"``
    (blocks i, f, g, o) or ``"GRU"`` (r, z, n). Returns a view of ``a``, of numpy arrays and
    torch tensors alike: writing into it writes into ``a``.
    """
    order = {"LSTM": "ifgo", "GRU": "rzn"}[kind]
    H = a.shape[-1] // len(order)
    k = order.index(name)
    return a[..., k * H:(k + 1) * H]


def weights_from_torch(module, layer=0, reverse=False):
    """The course's numpy weights of one layer and direction of a PyTorch recurrent module.

    ``module`` is an ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU`` (parameters named ``weight_ih_l0``
    up to ``bias_hh_l1_reverse``) or one of their cells (``weight_ih``, ...), of any float dtype.
    Returns fresh float64 arrays ``(Wx, Wh, b)``: ``Wx = weight_ih.T`` of shape ``(D, G*H)``,
    ``Wh = weight_hh.T`` of shape ``(H, G*H)`` and ``b = bias_ih + bias_hh`` of shape
    ``(G*H,)``; for a GRU ``(Wx, Wh, bx, bh)``, the two biases apart. Missing biases are zeros.
    """
    end = "" if hasattr(module, "weight_ih") else f"_l{layer}" + "_reverse" * reverse
    p = {name: t.detach().cpu().numpy().astype(np.float64)  # astype copies
         for name, t in module.named_parameters()}
    Wx, Wh = p["weight_ih" + end].T.copy(), p["weight_hh" + end].T.copy()
    bx = p.get("bias_ih" + end, np.zeros(Wx.shape[1]))
    bh = p.get("bias_hh" + end, np.zeros(Wx.shape[1]))
    if "GRU" in type(module).__name__:  # bh's n block sits inside the reset gate
        return Wx, Wh, bx, bh
    return Wx, Wh, bx + bh


def state_entries(Wx, Wh, bx, bh=None, layer=0, reverse=False):
    """The ``state_dict`` entries (numpy arrays) that give one layer and direction of a PyTorch
    module the course's weights: the inverse of ``weights_from_torch``.

    With ``bh`` None all of ``bx`` goes to ``bias_ih`` and ``bias_hh`` is zero: their sum is
    all an RNN or an LSTM sees. ``layer=None`` names a cell's parameters (``weight_ih``, ...).
    """
    end = "" if layer is None else f"_l{layer}" + "_reverse" * reverse
    bh = np.zeros(np.shape(bx)) if bh is None else bh
    return {"weight_ih" + end: np.array(Wx, dtype=np.float64).T.copy(),
            "weight_hh" + end: np.array(Wh, dtype=np.float64).T.copy(),
            "bias_ih" + end: np.array(bx, dtype=np.float64),
            "bias_hh" + end: np.array(bh, dtype=np.float64)}


def module_with(kind, input_size, hidden_size, state, num_layers=1, bidirectional=False):
    """A float64 ``torch.nn.<kind>`` loaded with a numpy ``state``.

    ``kind`` is ``"RNN"``, ``"LSTM"`` or ``"GRU"`` (time-major, tanh) or one of their cells,
    ``"RNNCell"``, ``"LSTMCell"`` or ``"GRUCell"`` (which take no layers or directions).
    """
    import torch  # here, not at the top: the grader's numpy-only workers never load it

    shape = {} if kind.endswith("Cell") else {"num_layers": num_layers,
                                              "bidirectional": bidirectional}
    module = getattr(torch.nn, kind)(input_size, hidden_size, **shape).double()
    module.load_state_dict({name: torch.from_numpy(np.asarray(value, dtype=np.float64))
                            for name, value in state.items()})
    return module


def rnn_state(layers, bidirectional=False):
    """The state_dict (numpy arrays) of an ``nn.RNN`` or ``nn.LSTM`` whose layer ``k`` has the
    weights ``layers[k] = (Wx, Wh, b)``; bidirectional: ``layers[k] = (fwd, bwd)``."""
    state = {}
    for k, weights in enumerate(layers):
        directions = weights if bidirectional else [weights]
        for reverse, (Wx, Wh, b) in enumerate(directions):
            state.update(state_entries(Wx, Wh, b, layer=k, reverse=bool(reverse)))
    return state
