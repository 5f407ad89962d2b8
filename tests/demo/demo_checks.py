"""Checks of the tests' demo assignment: one check per scenario form (see demo.md)."""
import numpy as np

from autograder.checks import Call, Case, Check, Generator, Module, Ref, Table, Tensor


def _linear_state(rng, d_in, d_out):
    return {"weight": rng.normal(size=(d_out, d_in)), "bias": rng.normal(size=d_out)}


def _module_weights(rng):
    return [Case((Module("Linear", dict(in_features=d, out_features=h),
                         state=_linear_state(rng, d, h)),), f"Linear({d}, {h})")
            for d, h in ((1, 1), (3, 2), (5, 7))]


def _torch_weights(layer):
    return layer.weight.detach().numpy().T.copy(), layer.bias.detach().numpy().copy()


def _softmax(rng):
    return [Case((Tensor(rng.normal(size=s)),), f"logits of shape {s}") for s in ((4,), (2, 3), (2, 2, 5))]


def _draw(rng):
    out = []
    for V, n, seed in ((3, 1, 0), (5, 10, 1), (2, 50, 7)):
        p = rng.uniform(0.1, 1.0, size=V)
        out.append(Case((Tensor(p / p.sum()), n, Generator(seed)), f"V={V}, n={n}", changes=(2,)))
    return out


def _bigram_table(rng, seq, V):
    P0, P = rng.dirichlet(np.ones(V)), rng.dirichlet(np.ones(V), size=V)
    entries = {}
    for t in range(len(seq)):
        prefix = tuple(seq[:t])
        entries[(prefix, seq[t])] = float(P0[seq[t]] if t == 0 else P[seq[t - 1], seq[t]])
    return Table(entries)


def _log_prob(rng):
    out = []
    for T in (0, 1, 6):
        seq = rng.integers(0, 3, size=T).tolist()
        out.append(Case((_bigram_table(rng, seq, 3), seq), f"a sequence of {T} items"))
    return out


def _scaled(rng):
    x = rng.normal(size=(3, 2))
    return [Case((x,), "scale only", kwargs={"scale": 2.5}),
            Case((x,), "scale and shift", kwargs={"scale": -1.0, "shift": 0.5})]


def _square_chain(rng):
    out = []
    for shape in ((3,), (2, 4)):
        x, dy = rng.normal(size=shape), rng.normal(size=shape)
        out.append(Case(label=f"x of shape {shape}", steps=(
            Call("square_forward", (x,)), Call("square_backward", (dy, Ref(0, 1))))))
    return out


def _squash(rng):
    out = []
    for d, h, n in ((2, 3, 1), (4, 2, 5)):
        state = _linear_state(rng, d, h)
        out.append(Case(label=f"Squash({d}, {h}) on {n} rows", steps=(
            Call("Squash", (d, h)),
            Call("double", on=Ref(0)),
            Call("load_state_dict", ({f"lin.{k}": Tensor(v) for k, v in state.items()},), on=Ref(0)),
            Call("__call__", (Tensor(rng.normal(size=(n, d))),), on=Ref(0)))))
    return out


def _sgd(rng):
    out = []
    for d, h, n in ((2, 1, 4), (3, 2, 6)):
        layer = Module("Linear", dict(in_features=d, out_features=h), state=_linear_state(rng, d, h))
        out.append(Case((layer, Tensor(rng.normal(size=(n, d))), Tensor(rng.normal(size=(n, h))), 0.1),
                        f"Linear({d}, {h}), {n} rows", changes=(0,)))
    return out


def _column(rng):
    return [Case((rng.normal(size=n),), f"n={n}") for n in (1, 4)]


CHECKS = [
    Check("module_weights", _module_weights, oracles={"torch's own weights": _torch_weights},
          visible=lambda: [Case((Module("Linear", dict(in_features=2, out_features=3), seed=0),),
                                "Linear(2, 3), seed 0")]),
    Check("softmax_rows", _softmax,
          visible=lambda: [Case((Tensor([[0.0, 1.0], [2.0, 2.0]]),), "a 2 x 2 batch")]),
    Check("draw", _draw,
          visible=lambda: [Case((Tensor([0.5, 0.25, 0.25]), 4, Generator(0)), "four draws",
                                changes=(2,))]),
    Check("total_log_prob", _log_prob,
          visible=lambda: [Case((Table({((), 1): 0.5, ((1,), 0): 0.25}), [1, 0]), "two items"),
                           Case((Table({}), []), "the empty sequence")]),
    Check("scaled", _scaled,
          visible=lambda: [Case((np.array([1.0, 2.0]),), "shift 1", kwargs={"scale": 3.0, "shift": 1.0})]),
    Check("square_forward", lambda rng: [Case((rng.normal(size=(2, 3)),), "a (2, 3) array")],
          select=((0,),),
          visible=lambda: [Case((np.array([1.0, -2.0]),), "[1, -2]")]),
    Check("square_backward", _square_chain, depends=("square_forward",),
          visible=lambda: [Case(label="x = [1, -2], dy = [1, 1]", steps=(
              Call("square_forward", (np.array([1.0, -2.0]),)),
              Call("square_backward", (np.array([1.0, 1.0]), Ref(0, 1)))))]),
    Check("Squash", _squash, visible=lambda: [Case(label="Squash(1, 1), weight 1, bias 0", steps=(
        Call("Squash", (1, 1)), Call("double", on=Ref(0)),
        Call("load_state_dict", ({"lin.weight": Tensor([[1.0]]), "lin.bias": Tensor([0.0])},),
             on=Ref(0)),
        Call("__call__", (Tensor([[0.5]]),), on=Ref(0))))]),
    Check("sgd_step", _sgd, visible=lambda: [Case(
        (Module("Linear", dict(in_features=1, out_features=1), seed=0), Tensor([[1.0]]),
         Tensor([[0.0]]), 0.5), "one row", changes=(0,))]),
    Check("as_column", _column, visible=lambda: [Case((np.array([1.0, 2.0]),), "[1, 2]")]),
]
