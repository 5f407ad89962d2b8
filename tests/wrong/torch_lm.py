from wrong import Wrong

WRONG = [
    Wrong("rnn_output_shapes", "applies batch_first to h_n too", '''
def rnn_output_shapes(cell, seq_len, batch, input_size, hidden_size, num_layers=1,
                      bidirectional=False, batch_first=False):
    if cell not in ("rnn", "lstm", "gru"):
        raise ValueError(cell)
    d = 2 if bidirectional else 1
    if batch_first:
        shapes = {"output": (batch, seq_len, d * hidden_size),
                  "h_n": (batch, d * num_layers, hidden_size)}
    else:
        shapes = {"output": (seq_len, batch, d * hidden_size),
                  "h_n": (d * num_layers, batch, hidden_size)}
    if cell == "lstm":
        shapes["c_n"] = shapes["h_n"]
    return shapes
''', message="h_n"),
    Wrong("rnn_output_shapes", "forgets the directions in h_n", '''
def rnn_output_shapes(cell, seq_len, batch, input_size, hidden_size, num_layers=1,
                      bidirectional=False, batch_first=False):
    if cell not in ("rnn", "lstm", "gru"):
        raise ValueError(cell)
    d = 2 if bidirectional else 1
    steps = (batch, seq_len) if batch_first else (seq_len, batch)
    shapes = {"output": steps + (d * hidden_size,), "h_n": (num_layers, batch, hidden_size)}
    if cell == "lstm":
        shapes["c_n"] = shapes["h_n"]
    return shapes
''', message="bidirectional"),
    Wrong("perplexity_from_probs", "averages 1/p instead of log p", '''
def perplexity_from_probs(probs):
    return float((1.0 / probs).mean())
''', message="result: expected"),
    Wrong("perplexity", "counts the ignored targets in the mean", '''
def perplexity(logits, targets, ignore_index=None):
    flat = logits.reshape(-1, logits.shape[-1])
    t = targets.reshape(-1)
    if ignore_index is None:
        return float(torch.exp(F.cross_entropy(flat, t)))
    keep = t != ignore_index
    losses = F.cross_entropy(flat[keep], t[keep], reduction="none")
    return float(torch.exp(losses.sum() / t.numel()))
''', message="ignore_index"),
    Wrong("perplexity", "exp of the summed loss", '''
def perplexity(logits, targets, ignore_index=None):
    flat = logits.reshape(-1, logits.shape[-1])
    t = targets.reshape(-1)
    if ignore_index is not None:
        keep = t != ignore_index
        flat, t = flat[keep], t[keep]
    return float(torch.exp(F.cross_entropy(flat, t, reduction="sum")))
''', message="result: expected"),
    Wrong("pad_batch", "returns the batch batch-major (N, T_max)", '''
def pad_batch(seqs, pad_id):
    padded = nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=pad_id)
    return padded, torch.tensor([len(s) for s in seqs])
''', message="entries differ"),
    Wrong("run_packed", "runs the padded batch without packing", '''
def run_packed(rnn, padded, lengths):
    output, h_n = rnn(padded)
    mask = (torch.arange(padded.shape[0])[:, None] < lengths[None, :]).to(output.dtype)
    return output * mask[:, :, None], h_n
''', message="entries differ"),
    Wrong("run_packed", "unpacks without total_length", '''
def run_packed(rnn, padded, lengths):
    packed = nn.utils.rnn.pack_padded_sequence(padded, lengths, enforce_sorted=False)
    out, h_n = rnn(packed)
    output, _ = nn.utils.rnn.pad_packed_sequence(out)
    return output, h_n
''', fails=("hidden",), message="shape"),
    Wrong("CharLM", "ignores the state it is given", '''
class CharLM(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_size, num_layers=1, cell="lstm"):
        super().__init__()
        modules = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = modules[cell](embed_dim, hidden_size, num_layers)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embed(x))
        return self.head(out), state
''', fails=("hidden",), message="a given state"),
    Wrong("CharLM", "returns probabilities instead of logits", '''
class CharLM(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_size, num_layers=1, cell="lstm"):
        super().__init__()
        modules = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = modules[cell](embed_dim, hidden_size, num_layers)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embed(x), state)
        return torch.softmax(self.head(out), dim=-1), state
''', message="entries differ"),
    Wrong("CharLM", "a batch-first recurrent module", '''
class CharLM(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_size, num_layers=1, cell="lstm"):
        super().__init__()
        modules = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = modules[cell](embed_dim, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embed(x), state)
        return self.head(out), state
''', message="entries differ"),
    Wrong("evaluate_perplexity", "restarts the state at every batch", '''
def evaluate_perplexity(model, ids, batch_size, time_size):
    ids = np.asarray(torch.as_tensor(ids))
    total, count = 0.0, 0
    with torch.no_grad():
        for xs, ts in tbptt_batches(ids, batch_size, time_size):
            logits, _ = model(torch.as_tensor(xs))
            t = torch.as_tensor(ts).reshape(-1)
            total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t, reduction="sum"))
            count += t.numel()
    return math.exp(total / count)
''', message="result: expected"),
    Wrong("evaluate_perplexity", "averages the batches' perplexities", '''
def evaluate_perplexity(model, ids, batch_size, time_size):
    ids = np.asarray(torch.as_tensor(ids))
    ppls, state = [], None
    with torch.no_grad():
        for xs, ts in tbptt_batches(ids, batch_size, time_size):
            logits, state = model(torch.as_tensor(xs), state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.as_tensor(ts).reshape(-1))
            ppls.append(math.exp(float(loss)))
    return sum(ppls) / len(ppls)
''', message="result: expected"),
    Wrong("train_lm", "clips after the optimizer step", '''
def train_lm(model, ids, *, epochs, batch_size, time_size, lr, max_norm):
    ids = np.asarray(torch.as_tensor(ids))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        state, losses = None, []
        for xs, ts in tbptt_batches(ids, batch_size, time_size):
            if state is not None:
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            logits, state = model(torch.as_tensor(xs), state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.as_tensor(ts).reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            losses.append(loss.item())
        history.append(math.exp(sum(losses) / len(losses)))
    return history
''', fails=("visible", "hidden"), message="returned history"),
    Wrong("train_lm", "never detaches the state", '''
def train_lm(model, ids, *, epochs, batch_size, time_size, lr, max_norm):
    ids = np.asarray(torch.as_tensor(ids))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        state, losses = None, []
        for xs, ts in tbptt_batches(ids, batch_size, time_size):
            logits, state = model(torch.as_tensor(xs), state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.as_tensor(ts).reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            losses.append(loss.item())
        history.append(math.exp(sum(losses) / len(losses)))
    return history
''', fails=("visible", "hidden", "training"), message="RuntimeError"),
    Wrong("train_lm", "feeds the targets as inputs (the model sees what it predicts)", '''
def train_lm(model, ids, *, epochs, batch_size, time_size, lr, max_norm):
    ids = np.asarray(torch.as_tensor(ids))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        state, losses = None, []
        for xs, ts in tbptt_batches(ids, batch_size, time_size):
            if state is not None:
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            logits, state = model(torch.as_tensor(ts), state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.as_tensor(ts).reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            losses.append(loss.item())
        history.append(math.exp(sum(losses) / len(losses)))
    return history
''', fails=("visible", "hidden", "training"), message="history"),
    Wrong("train_lm", "returns the mean loss, not its exp", '''
def train_lm(model, ids, *, epochs, batch_size, time_size, lr, max_norm):
    ids = np.asarray(torch.as_tensor(ids))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        state, losses = None, []
        for xs, ts in tbptt_batches(ids, batch_size, time_size):
            if state is not None:
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            logits, state = model(torch.as_tensor(xs), state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.as_tensor(ts).reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            losses.append(loss.item())
        history.append(sum(losses) / len(losses))
    return history
''', fails=("visible", "hidden", "training"), message="returned history"),
    Wrong("sample", "divides the probabilities, not the logits, by the temperature", '''
def sample(model, prefix, length, temperature=1.0, generator=None):
    x = torch.as_tensor(prefix, dtype=torch.long).reshape(-1, 1)
    out = []
    with torch.no_grad():
        logits, state = model(x)
        for _ in range(length):
            last = logits[-1, 0]
            if temperature == 0:
                nxt = int(last.argmax())
            else:
                nxt = int(torch.multinomial(torch.softmax(last, dim=-1) / temperature, 1, generator=generator))
            out.append(nxt)
            logits, state = model(torch.tensor([[nxt]]), state)
    return out
''', fails=("hidden",), message="temperature=1.5"),
    Wrong("sample", "returns the prefix with the new ids", '''
def sample(model, prefix, length, temperature=1.0, generator=None):
    ids = [int(i) for i in torch.as_tensor(prefix).reshape(-1)]
    out = list(ids)
    with torch.no_grad():
        logits, state = model(torch.tensor(ids).reshape(-1, 1))
        for _ in range(length):
            last = logits[-1, 0]
            if temperature == 0:
                nxt = int(last.argmax())
            else:
                nxt = int(torch.multinomial(torch.softmax(last / temperature, dim=-1), 1, generator=generator))
            out.append(nxt)
            logits, state = model(torch.tensor([[nxt]]), state)
    return out
''', message="temperature"),
    Wrong("sample", "restarts from the prefix for every new id, without the state", '''
def sample(model, prefix, length, temperature=1.0, generator=None):
    ids = [int(i) for i in torch.as_tensor(prefix).reshape(-1)]
    out = []
    with torch.no_grad():
        for _ in range(length):
            logits, _ = model(torch.tensor(ids[-1:]).reshape(-1, 1))
            last = logits[-1, 0]
            if temperature == 0:
                nxt = int(last.argmax())
            else:
                nxt = int(torch.multinomial(torch.softmax(last / temperature, dim=-1), 1, generator=generator))
            out.append(nxt)
            ids.append(nxt)
    return out
''', message="temperature"),
]
