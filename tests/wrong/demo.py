from wrong import Wrong

WRONG = [
    Wrong("module_weights", "forgets the transpose", '''
def module_weights(layer):
    return layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy()
''', message="expected shape"),
    Wrong("softmax_rows", "normalises over the first axis", '''
def softmax_rows(logits):
    return torch.softmax(logits, dim=0)
''', message="entries differ"),
    Wrong("draw", "ignores the generator", '''
def draw(probs, n, generator):
    return torch.multinomial(probs, n, replacement=True).tolist()
''', message="result"),
    Wrong("total_log_prob", "conditions on one item too many", '''
def total_log_prob(prob, seq):
    return float(sum(np.log(prob(tuple(seq[:t + 1]), seq[t])) for t in range(len(seq))))
''', message="KeyError"),
    Wrong("scaled", "ignores shift", '''
def scaled(x, *, scale, shift=0.0):
    return x * scale
''', message="entries differ"),
    Wrong("square_backward", "forgets the factor 2", '''
def square_backward(dy, cache):
    (x,) = cache
    return x * dy
''', message="entries differ"),
    Wrong("Squash", "forgets the tanh", '''
class Squash(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.lin = nn.Linear(d_in, d_out)

    def forward(self, x):
        return self.lin(x)
''', message="entries differ"),
    Wrong("sgd_step", "steps up the gradient", '''
def sgd_step(layer, x, target, lr):
    loss = ((layer(x) - target) ** 2).mean()
    layer.zero_grad()
    loss.backward()
    with torch.no_grad():
        for p in layer.parameters():
            p += lr * p.grad
    return float(loss)
''', message="after the call"),
    Wrong("sgd_step", "forgets to update the layer (changes a copy)", '''
def sgd_step(layer, x, target, lr):
    import copy
    layer = copy.deepcopy(layer)
    loss = ((layer(x) - target) ** 2).mean()
    return float(loss)
''', message="after the call"),
    Wrong("as_column", "returns a view", '''
def as_column(v):
    return v.reshape(-1, 1)
''', message="shares memory"),
    Wrong("scaled", "scales its input in place", '''
def scaled(x, *, scale, shift=0.0):
    x *= scale
    return x + shift
''', message="modified its argument 'x'"),
]
