"""Wrong implementations of the ``bptt`` assignment: mistakes students really make in BPTT.

Each must lose the points of its own function only, with a message that points at the mistake.
"""
from wrong import Wrong

WRONG = [
    Wrong("rnn_step_backward", "tanh' taken at h_prev instead of h_next (off by one step)",
          fails=("visible", "hidden"), message="dx", source='''
def rnn_step_backward(dh_next, cache):
    x, h_prev, Wx, Wh, h_next = cache
    da = dh_next * (1 - h_prev ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)
'''),
    Wrong("rnn_step_backward", "tanh applied twice: 1 - tanh(h_next)**2 instead of 1 - h_next**2",
          fails=("visible", "hidden"), message="dx", source='''
def rnn_step_backward(dh_next, cache):
    x, h_prev, Wx, Wh, h_next = cache
    da = dh_next * (1 - np.tanh(h_next) ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)
'''),
    Wrong("rnn_step_backward", "db averaged over the batch instead of summed",
          fails=("visible", "hidden"), message="db", source='''
def rnn_step_backward(dh_next, cache):
    x, h_prev, Wx, Wh, h_next = cache
    da = dh_next * (1 - h_next ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.mean(axis=0)
'''),
    Wrong("rnn_step_backward", "missing transpose: dWh = da.T @ h_prev, the transpose of the gradient",
          fails=("visible", "hidden"), message="dWh", source='''
def rnn_step_backward(dh_next, cache):
    x, h_prev, Wx, Wh, h_next = cache
    da = dh_next * (1 - h_next ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, da.T @ h_prev, da.sum(axis=0)
'''),
    Wrong("rnn_backward", "dhs[t] added after going back through step t instead of before",
          fails=("visible", "hidden"), message="time step", source='''
def rnn_backward(dhs, cache):
    T, N, H = dhs.shape
    x0, _, Wx, Wh, _ = cache[0]
    dx = np.zeros((T, N, x0.shape[1]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    dh = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[t], dh, dWx_t, dWh_t, db_t = rnn_step_backward(dh, cache[t])
        dh = dh + dhs[t]
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dh, dWx, dWh, db
'''),
    Wrong("rnn_backward", "the loop stops at t = 1 (range(T - 1, 0, -1)): step 0 is never visited",
          fails=("visible", "hidden"), message="time step t = 0", source='''
def rnn_backward(dhs, cache):
    T, N, H = dhs.shape
    x0, _, Wx, Wh, _ = cache[0]
    dx = np.zeros((T, N, x0.shape[1]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    dh = np.zeros((N, H))
    for t in range(T - 1, 0, -1):
        x, h_prev, _, _, h_next = cache[t]
        da = (dhs[t] + dh) * (1 - h_next ** 2)
        dx[t] = da @ Wx.T
        dh = da @ Wh.T
        dWx += x.T @ da
        dWh += h_prev.T @ da
        db += da.sum(axis=0)
    return dx, dh, dWx, dWh, db
'''),
    Wrong("rnn_backward", "the gradient through the recurrence is dropped (dh_prev never carried)",
          fails=("visible", "hidden"), message="time step", source='''
def rnn_backward(dhs, cache):
    T, N, H = dhs.shape
    x0, _, Wx, Wh, _ = cache[0]
    dx = np.zeros((T, N, x0.shape[1]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    for t in reversed(range(T)):
        x, h_prev, _, _, h_next = cache[t]
        da = dhs[t] * (1 - h_next ** 2)
        dx[t] = da @ Wx.T
        dh0 = da @ Wh.T
        dWx += x.T @ da
        dWh += h_prev.T @ da
        db += da.sum(axis=0)
    return dx, dh0, dWx, dWh, db
'''),
    Wrong("rnn_backward", "weight gradients overwritten at each step instead of summed",
          fails=("visible", "hidden"), message="dWx", source='''
def rnn_backward(dhs, cache):
    T, N, H = dhs.shape
    x0, _, Wx, Wh, _ = cache[0]
    dx = np.zeros((T, N, x0.shape[1]))
    dh = np.zeros((N, H))
    for t in reversed(range(T)):
        x, h_prev, _, _, h_next = cache[t]
        da = (dhs[t] + dh) * (1 - h_next ** 2)
        dx[t] = da @ Wx.T
        dh = da @ Wh.T
        dWx, dWh, db = x.T @ da, h_prev.T @ da, da.sum(axis=0)
    return dx, dh, dWx, dWh, db
'''),
    Wrong("clip_grad_norm", "clips only above max_norm, with max_norm / total_norm and no 1e-6",
          fails=("visible", "hidden"), message="above max_norm", source='''
def clip_grad_norm(grads, max_norm):
    total = np.sqrt(sum((g ** 2).sum() for g in grads))
    if total > max_norm:
        return [g * (max_norm / total) for g in grads], total
    return [g.copy() for g in grads], total
'''),
    Wrong("clip_grad_norm", "each array clipped by its own norm, not the global one",
          fails=("visible", "hidden"), message="result[0]", source='''
def clip_grad_norm(grads, max_norm):
    total = np.sqrt(sum((g ** 2).sum() for g in grads))
    return [g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for g in grads], total
'''),
    Wrong("clip_grad_norm", "scales the caller's arrays in place",
          fails=("visible", "hidden"), message="input", source='''
def clip_grad_norm(grads, max_norm):
    total = np.sqrt(sum((g ** 2).sum() for g in grads))
    for g in grads:
        g *= min(1.0, max_norm / (total + 1e-6))
    return list(grads), total
'''),
    Wrong("tbptt_batches", "rows overlap: row i starts at i * time_size instead of i * jump",
          fails=("visible", "hidden"), message="result[0][0]", source='''
def tbptt_batches(ids, batch_size, time_size):
    jump = (len(ids) - 1) // batch_size
    out = []
    for k in range(jump // time_size):
        xs = np.zeros((time_size, batch_size), dtype=np.int64)
        ts = np.zeros((time_size, batch_size), dtype=np.int64)
        for i in range(batch_size):
            for t in range(time_size):
                xs[t, i] = ids[i * time_size + k * time_size + t]
                ts[t, i] = ids[i * time_size + k * time_size + t + 1]
        out.append((xs, ts))
    return out
'''),
    Wrong("tbptt_batches", "jump = len(ids) // batch_size, forgetting that the last id is only a target",
          fails=("hidden",), message="data_size 23", source='''
def tbptt_batches(ids, batch_size, time_size):
    jump = len(ids) // batch_size
    out = []
    for k in range(jump // time_size):
        start = np.arange(batch_size) * jump + k * time_size
        where = start[None, :] + np.arange(time_size)[:, None]
        out.append((ids[where], ids[where + 1]))
    return out
'''),
    Wrong("tbptt_batches", "batch-major (batch_size, time_size) instead of time-major",
          fails=("visible", "hidden"), message="shape", source='''
def tbptt_batches(ids, batch_size, time_size):
    jump = (len(ids) - 1) // batch_size
    out = []
    for k in range(jump // time_size):
        start = np.arange(batch_size) * jump + k * time_size
        where = start[:, None] + np.arange(time_size)[None, :]
        out.append((ids[where], ids[where + 1]))
    return out
'''),
    Wrong("hidden_jacobian_norms", "the step Jacobian without the transpose: diag(1 - h^2) @ Wh",
          fails=("visible", "hidden"), message="result", source='''
def hidden_jacobian_norms(x, h0, Wx, Wh, b):
    hs, _ = rnn_forward(x, h0, Wx, Wh, b)
    T, H = hs.shape[0], hs.shape[2]
    J = np.eye(H)
    norms = np.zeros(T)
    norms[T - 1] = np.sqrt(H)
    for t in range(T - 2, -1, -1):
        J = J @ (np.diag(1 - hs[t + 1, 0] ** 2) @ Wh)
        norms[t] = np.linalg.norm(J)
    return norms
'''),
    Wrong("hidden_jacobian_norms", "tanh' taken at hs[t] instead of hs[t + 1] (off by one step)",
          fails=("visible", "hidden"), message="result", source='''
def hidden_jacobian_norms(x, h0, Wx, Wh, b):
    hs, _ = rnn_forward(x, h0, Wx, Wh, b)
    T, H = hs.shape[0], hs.shape[2]
    J = np.eye(H)
    norms = np.zeros(T)
    norms[T - 1] = np.sqrt(H)
    for t in range(T - 2, -1, -1):
        J = J @ (np.diag(1 - hs[t, 0] ** 2) @ Wh.T)
        norms[t] = np.linalg.norm(J)
    return norms
'''),
]
