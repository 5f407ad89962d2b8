"""Wrong implementations of the ``rnn`` assignment: mistakes students really make."""
from wrong import Wrong

WRONG = [
    Wrong("rnn_step_forward", "forgets the bias", fails=("visible", "hidden"),
          message="rnn_step_forward", source='''
def rnn_step_forward(x, h_prev, Wx, Wh, b):
    h_next = np.tanh(x @ Wx + h_prev @ Wh)
    return h_next, (x, h_prev, Wx, Wh, h_next)
'''),
    Wrong("rnn_step_forward", "multiplies by Wh transposed (PyTorch's weight_hh layout)",
          fails=("visible", "hidden"), message="rnn_step_forward", source='''
def rnn_step_forward(x, h_prev, Wx, Wh, b):
    h_next = np.tanh(x @ Wx + h_prev @ Wh.T + b)
    return h_next, (x, h_prev, Wx, Wh, h_next)
'''),
    Wrong("rnn_forward", "feeds h0 to every step instead of the previous state",
          fails=("visible", "hidden"), message="index (1, 0, 0)", source='''
def rnn_forward(x, h0, Wx, Wh, b):
    hs, cache = [], []
    for t in range(x.shape[0]):
        h, c = rnn_step_forward(x[t], h0, Wx, Wh, b)
        hs.append(h)
        cache.append(c)
    return np.stack(hs), cache
'''),
    Wrong("rnn_forward", "starts from zeros, ignoring h0", fails=("visible", "hidden"),
          message="non-zero h0", source='''
def rnn_forward(x, h0, Wx, Wh, b):
    h = np.zeros_like(h0)
    hs, cache = [], []
    for t in range(x.shape[0]):
        h, c = rnn_step_forward(x[t], h, Wx, Wh, b)
        hs.append(h)
        cache.append(c)
    return np.stack(hs), cache
'''),
    Wrong("rnn_forward", "off by one in time: stores the state before each step",
          fails=("visible", "hidden"), message="rnn_forward", source='''
def rnn_forward(x, h0, Wx, Wh, b):
    h = h0
    hs, cache = [], []
    for t in range(x.shape[0]):
        hs.append(h)
        h, c = rnn_step_forward(x[t], h, Wx, Wh, b)
        cache.append(c)
    return np.stack(hs), cache
'''),
    Wrong("rnn_forward", "writes the states into h0 in place", fails=("visible", "hidden"),
          message="h0", source='''
def rnn_forward(x, h0, Wx, Wh, b):
    T, N = x.shape[:2]
    hs = np.empty((T, N, h0.shape[1]))
    h, cache = h0, []
    for t in range(T):
        h_new, c = rnn_step_forward(x[t], h, Wx, Wh, b)
        h[...] = h_new
        hs[t] = h
        cache.append(c)
    return hs, cache
'''),
    Wrong("rnn_params_from_torch", "returns views of the parameters", fails=("visible", "hidden"),
          message="rnn_params_from_torch", source='''
def rnn_params_from_torch(rnn):
    Wx = rnn.weight_ih_l0.detach().numpy().T
    Wh = rnn.weight_hh_l0.detach().numpy().T
    b = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy()
    return Wx, Wh, b
'''),
    Wrong("rnn_params_from_torch", "keeps only bias_ih", fails=("visible", "hidden"),
          message="b", source='''
def rnn_params_from_torch(rnn):
    Wx = rnn.weight_ih_l0.detach().double().numpy().T.copy()
    Wh = rnn.weight_hh_l0.detach().double().numpy().T.copy()
    b = rnn.bias_ih_l0.detach().double().numpy().copy()
    return Wx, Wh, b
'''),
    Wrong("rnn_params_from_torch", "forgets to transpose weight_hh", fails=("visible", "hidden"),
          message="Wh", source='''
def rnn_params_from_torch(rnn):
    Wx = rnn.weight_ih_l0.detach().double().numpy().T.copy()
    Wh = rnn.weight_hh_l0.detach().double().numpy().copy()
    b = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().double().numpy().copy()
    return Wx, Wh, b
'''),
    Wrong("rnn_params_from_torch", "keeps float32 parameters as float32", fails=("hidden",),
          message="float32", source='''
def rnn_params_from_torch(rnn):
    Wx = rnn.weight_ih_l0.detach().numpy().T.copy()
    Wh = rnn.weight_hh_l0.detach().numpy().T.copy()
    b = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy().copy()
    return Wx, Wh, b
'''),
    Wrong("birnn_forward", "leaves the backward states in reading order (not flipped back)",
          fails=("visible", "hidden"), message="birnn_forward", source='''
def birnn_forward(x, h0, fwd, bwd):
    hs_f, _ = rnn_forward(x, h0[0], *fwd)
    hs_b, _ = rnn_forward(x[::-1], h0[1], *bwd)
    return np.concatenate([hs_f, hs_b], axis=-1), np.stack([hs_f[-1], hs_b[-1]])
'''),
    Wrong("birnn_forward", "runs the backward direction from the wrong end (x[0] first)",
          fails=("visible", "hidden"), message="birnn_forward", source='''
def birnn_forward(x, h0, fwd, bwd):
    hs_f, _ = rnn_forward(x, h0[0], *fwd)
    hs_b, _ = rnn_forward(x, h0[1], *bwd)
    return np.concatenate([hs_f, hs_b], axis=-1), np.stack([hs_f[-1], hs_b[-1]])
'''),
    Wrong("birnn_forward", "takes the backward h_n at t = T-1 instead of t = 0",
          fails=("visible", "hidden"), message="birnn_forward", source='''
def birnn_forward(x, h0, fwd, bwd):
    hs_f, _ = rnn_forward(x, h0[0], *fwd)
    hs_b, _ = rnn_forward(x[::-1], h0[1], *bwd)
    hs_b = hs_b[::-1]
    return np.concatenate([hs_f, hs_b], axis=-1), np.stack([hs_f[-1], hs_b[-1]])
'''),
    Wrong("stacked_rnn_forward", "starts every layer from h0[0]", fails=("visible", "hidden"),
          message="stacked_rnn_forward", source='''
def stacked_rnn_forward(x, h0, layers):
    out, h_n = x, []
    for Wx, Wh, b in layers:
        out, _ = rnn_forward(out, h0[0], Wx, Wh, b)
        h_n.append(out[-1])
    return out, np.stack(h_n)
'''),
    Wrong("stacked_rnn_forward", "returns every layer's states at t = 0 as h_n",
          fails=("visible", "hidden"), message="stacked_rnn_forward", source='''
def stacked_rnn_forward(x, h0, layers):
    out, h_n = x, []
    for k, (Wx, Wh, b) in enumerate(layers):
        out, _ = rnn_forward(out, h0[k], Wx, Wh, b)
        h_n.append(out[0])
    return out, np.stack(h_n)
'''),
]
