"""Wrong implementations of ``lstm_gru``: mistakes students really make with gated cells."""
from wrong import Wrong

WRONG = [
    Wrong("lstm_step_forward", "gates sliced in the order i, f, o, g (another library's order)",
          fails=("visible", "hidden"), message="result[0]", source='''
def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    c_next = f * c_prev + i * g
    h_next = o * np.tanh(c_next)
    return h_next, c_next, (x, h_prev, c_prev, Wx, Wh, i, f, g, o, np.tanh(c_next))
'''),
    Wrong("lstm_step_forward", "h_next from c_next without the tanh",
          fails=("visible", "hidden"), message="result[0]", source='''
def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
    g, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    c_next = f * c_prev + i * g
    h_next = o * c_next
    return h_next, c_next, (x, h_prev, c_prev, Wx, Wh, i, f, g, o, np.tanh(c_next))
'''),
    Wrong("lstm_forward", "every step starts from h0 and c0 instead of the previous states",
          fails=("visible", "hidden"), message="index (1, 0, 0)", source='''
def lstm_forward(x, h0, c0, Wx, Wh, b):
    hs, cs, cache = [], [], []
    for t in range(x.shape[0]):
        h, c, step = lstm_step_forward(x[t], h0, c0, Wx, Wh, b)
        hs.append(h); cs.append(c); cache.append(step)
    return np.stack(hs), np.stack(cs), cache
'''),
    Wrong("lstm_forward", "returns the states before each step (h0 first, the last one lost)",
          fails=("visible", "hidden"), message="result[0]", source='''
def lstm_forward(x, h0, c0, Wx, Wh, b):
    hs, cs, cache = [], [], []
    h, c = h0, c0
    for t in range(x.shape[0]):
        hs.append(h); cs.append(c)
        h, c, step = lstm_step_forward(x[t], h, c, Wx, Wh, b)
        cache.append(step)
    return np.stack(hs), np.stack(cs), cache
'''),
    Wrong("lstm_step_backward", "forgets that c_next also reaches the loss through h_next",
          fails=("visible", "hidden", "edges"), message="(dx)", source='''
def lstm_step_backward(dh_next, dc_next, cache):
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, tanh_c = cache
    dc = dc_next
    do = dh_next * tanh_c
    da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                         dc * i * (1 - g ** 2), do * o * (1 - o)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)
'''),
    Wrong("lstm_step_backward", "the tanh derivative 1 - tanh(c)**2 taken as 1 - c**2",
          fails=("visible", "hidden", "edges"), message="(dx)", source='''
def lstm_step_backward(dh_next, dc_next, cache):
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, tanh_c = cache
    c_next = f * c_prev + i * g
    dc = dc_next + dh_next * o * (1 - c_next ** 2)
    do = dh_next * tanh_c
    da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                         dc * i * (1 - g ** 2), do * o * (1 - o)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)
'''),
    Wrong("lstm_params_from_torch", "keeps only bias_ih_l0 (one of the two biases)",
          fails=("visible", "hidden"), message="result[2]", source='''
def lstm_params_from_torch(lstm):
    Wx = lstm.weight_ih_l0.detach().double().numpy().T.copy()
    Wh = lstm.weight_hh_l0.detach().double().numpy().T.copy()
    b = lstm.bias_ih_l0.detach().double().numpy().copy()
    return Wx, Wh, b
'''),
    Wrong("lstm_params_from_torch", "returns views of the parameters (no copy)",
          fails=("visible", "hidden"), message="shares memory", source='''
def lstm_params_from_torch(lstm):
    Wx = lstm.weight_ih_l0.detach().numpy().T
    Wh = lstm.weight_hh_l0.detach().numpy().T
    b = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy()
    return Wx, Wh, b
'''),
    Wrong("gru_step_forward", "the textbook GRU: reset applied to h_prev before the product",
          fails=("visible", "hidden"), message="gru_step_forward(", source='''
def gru_step_forward(x, h_prev, Wx, Wh, bx, bh):
    H = h_prev.shape[1]
    ax, ah = x @ Wx + bx, h_prev @ Wh + bh
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + (r * h_prev) @ Wh[:, 2 * H:] + bh[2 * H:])
    return (1 - z) * n + z * h_prev
'''),
    Wrong("gru_step_forward", "h_next = z * n + (1 - z) * h_prev (the update gate swapped)",
          fails=("visible", "hidden"), message="gru_step_forward(", source='''
def gru_step_forward(x, h_prev, Wx, Wh, bx, bh):
    H = h_prev.shape[1]
    ax, ah = x @ Wx + bx, h_prev @ Wh + bh
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    return z * n + (1 - z) * h_prev
'''),
    Wrong("gru_step_forward", "forgets the hidden bias bh",
          fails=("visible", "hidden"), message="gru_step_forward(", source='''
def gru_step_forward(x, h_prev, Wx, Wh, bx, bh):
    H = h_prev.shape[1]
    ax, ah = x @ Wx + bx, h_prev @ Wh
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    return (1 - z) * n + z * h_prev
'''),
    Wrong("gru_forward", "returns only the last state", fails=("visible", "hidden"),
          message="expected shape", source='''
def gru_forward(x, h0, Wx, Wh, bx, bh):
    h = h0
    for t in range(x.shape[0]):
        h = gru_step_forward(x[t], h, Wx, Wh, bx, bh)
    return h
'''),
    Wrong("gru_params_from_torch", "adds the two biases as for the LSTM",
          fails=("visible", "hidden"), message="result[2]", source='''
def gru_params_from_torch(gru):
    Wx = np.array(gru.weight_ih_l0.detach().numpy().T, dtype=np.float64)
    Wh = np.array(gru.weight_hh_l0.detach().numpy().T, dtype=np.float64)
    b = np.array((gru.bias_ih_l0 + gru.bias_hh_l0).detach().numpy(), dtype=np.float64)
    return Wx, Wh, b, np.zeros_like(b)
'''),
    Wrong("gru_params_from_torch", "float32 module weights returned as float32",
          fails=("hidden",), message="dtype float32", source='''
def gru_params_from_torch(gru):
    return tuple(p.detach().numpy().T.copy() if p.ndim == 2 else p.detach().numpy().copy()
                 for p in (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0))
'''),
    Wrong("count_params", "one bias per gate block instead of two", fails=("visible", "hidden"),
          message="expected the integer", source='''
def count_params(cell, input_size, hidden_size, num_layers=1, bidirectional=False):
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    dirs = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        D = input_size if layer == 0 else dirs * hidden_size
        total += dirs * G * hidden_size * (D + hidden_size + 1)
    return total
'''),
    Wrong("count_params", "upper layers read hidden_size inputs even when bidirectional",
          fails=("visible", "hidden"), message="expected the integer", source='''
def count_params(cell, input_size, hidden_size, num_layers=1, bidirectional=False):
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    dirs = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        D = input_size if layer == 0 else hidden_size
        total += dirs * G * hidden_size * (D + hidden_size + 2)
    return total
'''),
]
