"""Checks of ``torch_lm`` (chapter: PyTorch shape conventions and perplexity).

Oracles independent of the reference wherever one exists: real ``nn.RNN/LSTM/GRU`` modules for
the shapes, ``scipy.stats.gmean`` and ``torch.exp(F.cross_entropy(...))`` for perplexity,
``nn.utils.rnn.pad_sequence`` for padding, each sequence run alone for packing, and each batch
row's whole stretch run in one call for the state that ``evaluate_perplexity`` carries.

``evaluate_perplexity``, ``train_lm`` and ``sample`` run on the notebook's provided ``PairLM``,
so a broken ``CharLM`` costs only its own points. ``train_lm`` is judged twice: a short float64
run whose history and trained weights must equal the reference's (the same steps in the same
order), and a real training run on a fresh draw of the synthetic source (the notebook's
``markov_source``, loaded from the reference) whose validation perplexity must land between the
source's floor and a ceiling (see ``_judge_training``).
"""
import math

import numpy as np

from .. import reference
from . import Call, Case, Check, Generator, Module, Ref, Tensor
from .compare import difference

CELLS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
RTOL, ATOL = 1e-6, 1e-9  # float64 throughout; a few Adam steps amplify rounding a little


def _ref(name):
    return reference.function("torch_lm", name)


# rnn_output_shapes --------------------------------------------------------------------------

def _shape_cases(rng):
    sizes = [(1, 1, 3, 5), (7, 4, 2, 2), (30, 2, 6, 9), (5, 1, 1, 4)]
    layouts = [(1, False, False), (2, False, True), (1, True, False), (3, True, True),
               (2, True, False)]
    cases = []
    for i, cell in enumerate(CELLS):
        for j, (layers, bi, bf) in enumerate(layouts):
            T, N, D, H = sizes[(i + j) % len(sizes)]
            cases.append(Case((cell, T, N, D, H),
                              f"{cell}, T={T}, N={N}, D={D}, H={H}, {layers} layer(s), "
                              f"bidirectional={bi}, batch_first={bf}",
                              kwargs=dict(num_layers=layers, bidirectional=bi, batch_first=bf)))
    cases.append(Case(("transformer", 2, 2, 2, 2), "an unknown cell", raises=ValueError))
    return cases


def _modules_shapes(cell, seq_len, batch, input_size, hidden_size, num_layers=1,
                    bidirectional=False, batch_first=False):
    import torch

    module = getattr(torch.nn, CELLS[cell])(input_size, hidden_size, num_layers,
                                            bidirectional=bidirectional, batch_first=batch_first)
    x = torch.zeros((batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size))
    with torch.no_grad():
        output, state = module(x)
    shapes = {"output": tuple(output.shape)}
    if cell == "lstm":
        shapes.update(h_n=tuple(state[0].shape), c_n=tuple(state[1].shape))
    else:
        shapes["h_n"] = tuple(state.shape)
    return shapes


# perplexity ---------------------------------------------------------------------------------

def _probs_cases(rng):
    cases = [Case((Tensor(rng.uniform(0.05, 1.0, size=s)),), f"probabilities of shape {s}")
             for s in ((1,), (7,), (3, 4), (2, 2, 5), (400,))]
    cases.append(Case((Tensor(np.ones(5)),), "all probabilities 1 (perplexity 1)"))
    return cases


def _gmean(probs):
    from scipy.stats import gmean

    return float(1.0 / gmean(probs.numpy().ravel()))


def _perplexity_cases(rng):
    cases = []
    for lead, V in (((1,), 2), ((6,), 5), ((4, 3), 7), ((2, 3, 4), 11), ((1, 1), 3)):
        logits = Tensor(rng.normal(scale=2.0, size=lead + (V,)))
        targets = rng.integers(0, V, size=lead)
        cases.append(Case((logits, Tensor(targets, "int64")), f"logits {lead + (V,)}, no ignore_index"))
        pad = int(targets.ravel()[0])  # present at least once; more than one target kept below
        if (targets != pad).any():
            cases.append(Case((logits, Tensor(targets, "int64")),
                              f"logits {lead + (V,)}, ignore_index={pad} (some targets ignored)",
                              kwargs={"ignore_index": pad}))
    targets = rng.integers(0, 4, size=(5, 2))
    targets[3:, 1] = -1  # a padded column
    cases.append(Case((Tensor(rng.normal(size=(5, 2, 4))), Tensor(targets, "int64")),
                      "logits (5, 2, 4), padding -1 ignored", kwargs={"ignore_index": -1}))
    cases.append(Case((Tensor(rng.normal(size=(3, 4))), Tensor(rng.integers(0, 4, size=3), "int64")),
                      "logits (3, 4), ignore_index=-1 absent from the targets",
                      kwargs={"ignore_index": -1}))
    return cases


def _cross_entropy(logits, targets, ignore_index=None):
    import torch
    import torch.nn.functional as F

    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                         ignore_index=-100 if ignore_index is None else ignore_index)
    return float(torch.exp(ce))


# pad_batch, run_packed ----------------------------------------------------------------------

def _seqs(rng, lengths, V=10):
    return [Tensor(rng.integers(0, V, size=n), "int64") for n in lengths]


def _pad_cases(rng):
    cases = []
    for lengths, pad in (([3, 1, 2], 0), ([1], 5), ([4, 4, 4], -1), ([1, 6, 2, 9, 3], 99),
                         ([2, 1], 0)):
        cases.append(Case((_seqs(rng, lengths), pad), f"lengths {lengths}, pad_id={pad}"))
    return cases


def _pad_sequence(seqs, pad_id):
    import torch

    return (torch.nn.utils.rnn.pad_sequence(seqs, padding_value=pad_id),
            torch.tensor([len(s) for s in seqs]))


def _module(cell, D, H, layers, bi, seed):
    return Module(CELLS[cell], dict(input_size=D, hidden_size=H, num_layers=layers,
                                    bidirectional=bi), seed=seed)


def _packed_cases(rng):
    configs = [(1, False), (2, False), (1, True), (2, True)]
    shapes = [(5, 3, 2, 4, [2, 5, 1]), (1, 1, 3, 2, [1]), (8, 4, 3, 3, [3, 8, 8, 1]),
              (6, 2, 4, 5, [4, 2])]  # the last: every length shorter than T
    cases = []
    for i, cell in enumerate(CELLS):
        for j, (layers, bi) in enumerate(configs):
            T, N, D, H, lengths = shapes[(i + j) % len(shapes)]
            padded = Tensor(rng.normal(size=(T, N, D)))  # padding is noise, not zeros
            cases.append(Case((_module(cell, D, H, layers, bi, 10 * i + j), padded,
                               Tensor(lengths, "int64")),
                              f"{CELLS[cell]}, {layers} layer(s), bidirectional={bi}, T={T}, "
                              f"lengths {lengths}"))
    return cases


def _each_alone(rnn, padded, lengths):
    import torch

    T, N, _ = padded.shape
    directions = 2 if rnn.bidirectional else 1
    output = torch.zeros(T, N, directions * rnn.hidden_size, dtype=padded.dtype)
    finals = []
    with torch.no_grad():
        for i in range(N):
            out, state = rnn(padded[:int(lengths[i]), i:i + 1])
            output[:int(lengths[i]), i] = out[:, 0]
            finals.append(state)
    if isinstance(finals[0], tuple):
        return output, tuple(torch.cat([s[k] for s in finals], dim=1) for k in range(2))
    return output, torch.cat(finals, dim=1)


# CharLM -------------------------------------------------------------------------------------

def _charlm_state(rng, V, E, H, layers, cell):
    import torch

    torch.manual_seed(0)  # only the names and shapes matter here
    model = _ref("CharLM")(V, E, H, num_layers=layers, cell=cell)
    return {k: Tensor(rng.normal(scale=0.5, size=tuple(v.shape)))
            for k, v in model.state_dict().items()}


def _initial_state(rng, cell, layers, N, H):
    h = Tensor(rng.normal(scale=0.5, size=(layers, N, H)))
    return (h, Tensor(rng.normal(scale=0.5, size=(layers, N, H)))) if cell == "lstm" else h


def _charlm_case(rng, cell, V, E, H, layers, T, N, given_state):
    x = Tensor(rng.integers(0, V, size=(T, N)), "int64")
    call = (x, _initial_state(rng, cell, layers, N, H)) if given_state else (x,)
    return Case(label=f"CharLM({V}, {E}, {H}, num_layers={layers}, cell={cell!r}) on x {T}x{N}"
                      + (", a given state" if given_state else ", state None"), steps=(
        Call("CharLM", (V, E, H), {"num_layers": layers, "cell": cell}),
        Call("double", on=Ref(0)),
        Call("load_state_dict", (_charlm_state(rng, V, E, H, layers, cell),), on=Ref(0)),
        Call("__call__", call, on=Ref(0))))


def _charlm_cases(rng):
    cases = []
    for i, cell in enumerate(CELLS):
        cases.append(_charlm_case(rng, cell, 7, 3, 5, 1, 6, 2, False))
        cases.append(_charlm_case(rng, cell, 5, 4, 3, 2, 1, 1, True))
        cases.append(_charlm_case(rng, cell, 11, 2, 6, 1 + i % 2, 25, 3, True))
    return cases


# evaluate_perplexity, train_lm, sample: on the provided PairLM ------------------------------

def _pair_model(rng, V, scale):
    """The chain's first steps: a float64 PairLM with weights set by the check."""
    state = {"table.weight": Tensor(rng.normal(scale=scale, size=(V * V, V))),
             "echo": Tensor(np.array(rng.uniform(-0.8, 0.8)))}
    return (Call("PairLM", (V,)), Call("double", on=Ref(0)),
            Call("load_state_dict", (state,), on=Ref(0)))


def _ids(rng, V, n, form):
    ids = rng.integers(0, V, size=n)
    return {"list": ids.tolist(), "array": ids, "tensor": Tensor(ids, "int64")}[form]


def _evaluate_cases(rng):
    cases = []
    for V, n, N, T, form in ((4, 101, 4, 5, "array"), (6, 200, 1, 7, "list"),
                             (3, 97, 3, 4, "tensor"), (8, 64, 5, 1, "array"), (5, 23, 2, 11, "list")):
        cases.append(Case(label=f"PairLM, V={V}, {n} ids as {form}, batch_size={N}, time_size={T}",
                          steps=_pair_model(rng, V, 1.0) + (
                              Call("evaluate_perplexity", (Ref(0), _ids(rng, V, n, form), N, T)),)))
    return cases


def _whole_stretches(model, ids, batch_size, time_size):
    """Each row's n * time_size steps in one call: what carrying the state must equal."""
    import torch
    import torch.nn.functional as F

    ids = torch.as_tensor(np.asarray(ids), dtype=torch.long)
    jump = (len(ids) - 1) // batch_size
    steps = (jump // time_size) * time_size
    total = 0.0
    with torch.no_grad():
        for i in range(batch_size):
            x = ids[i * jump:i * jump + steps].reshape(-1, 1)
            t = ids[i * jump + 1:i * jump + steps + 1]
            logits, _ = model(x)
            total += float(F.cross_entropy(logits[:, 0], t, reduction="sum"))
    return math.exp(total / (steps * batch_size))


def _built_pair(case):
    """The PairLM a chain's first steps describe, built here (for the oracle of a chain)."""
    import torch

    V = case.steps[0].args[0]
    model = _ref("PairLM")(V).double()
    state = case.steps[2].args[0]
    model.load_state_dict({k: torch.as_tensor(np.asarray(v.array)) for k, v in state.items()})
    return model


def _judge_evaluate(case, got, expected):
    message = difference(expected.result, got.result, rtol=RTOL, atol=ATOL)
    if message:
        return message
    args = case.steps[-1].args
    ids = args[1].array if isinstance(args[1], Tensor) else args[1]
    oracle = _whole_stretches(_built_pair(case), ids, args[2], args[3])
    message = difference(oracle, got.result, rtol=RTOL, atol=ATOL)
    return f"disagrees with each row's whole stretch run in one call: {message}" if message else None


def _train_case(rng, V, n, form, epochs, N, T, lr, max_norm, label):
    kwargs = dict(epochs=epochs, batch_size=N, time_size=T, lr=lr, max_norm=max_norm)
    return Case(label=label, changes=(0,), steps=_pair_model(rng, V, 0.3) + (
        Call("train_lm", (Ref(0), _ids(rng, V, n, form)), kwargs),))


def _train_cases(rng):
    return [
        _train_case(rng, 4, 61, "array", 2, 3, 5, 0.05, 0.5, "PairLM, V=4, 2 epochs, 4 batches of 5x3"),
        _train_case(rng, 5, 50, "list", 3, 1, 7, 0.1, 10.0, "batch_size=1, ids as a list, no clipping"),
        _train_case(rng, 3, 90, "tensor", 1, 4, 6, 0.02, 0.05, "ids as a tensor, clipping to 0.05"),
        _train_case(rng, 6, 40, "array", 2, 2, 1, 0.1, 0.2, "time_size=1"),
    ]


# The training run: a fresh draw of the source, a ceiling and a floor ------------------------
TRAINING = dict(vocab_size=6, branching=2, train=8000, valid=4000,
                fit=dict(epochs=5, batch_size=16, time_size=16, lr=0.1, max_norm=1.0))
FLOOR_SLACK = 0.97  # a finite sample's perplexity may fall this far below the exact floor
CONSISTENT = 0.10   # the last epoch's perplexity within 10% of the trained model's
_SOURCES = {}  # label -> (P, training ids, validation ids), rebuilt by the case generator


def _training_cases(rng):
    seed = int(rng.integers(2**31))
    P = _ref("markov_source")(TRAINING["vocab_size"], TRAINING["branching"], seed)
    train = _ref("sample_markov")(P, TRAINING["train"], seed + 1)
    valid = _ref("sample_markov")(P, TRAINING["valid"], seed + 2)
    label = (f"PairLM trained on {TRAINING['train']} ids of a fresh order-2 source "
             f"(V={TRAINING['vocab_size']}, seed {seed})")
    _SOURCES[label] = (P, train, valid)
    return [Case(label=label, changes=(0,), steps=(
        Call("PairLM", (TRAINING["vocab_size"],)),
        Call("train_lm", (Ref(0), train), TRAINING["fit"])))]


def _trained_model(state):
    import torch

    model = _ref("PairLM")(TRAINING["vocab_size"])
    model.load_state_dict({k: torch.as_tensor(np.asarray(v.array)) for k, v in state.state.items()})
    return model


def _judge_training(case, got, expected):
    """The training run: judged by what any correct training must reach, not by equality.

    - The history is a list of ``epochs`` finite floats.
    - Floor: no model can beat the source's entropy rate on average, so a perplexity below
      ``exp(entropy_rate(P))`` (less the noise of a finite sample) means the model saw its
      targets.
    - Consistency: the last epoch's value is the mean over that epoch of a model still improving,
      so it lies near the trained model's perplexity on the training ids.
    - Ceiling: ``exp(entropy_rate(P, context=1))``, the best perplexity of any model that looks
      only one id back; a training that learned the order-2 table beats it (the reference lands
      within about 3% of the floor, far below this ceiling).
    """
    P, train, valid = _SOURCES[case.label]
    history = got.result
    epochs = TRAINING["fit"]["epochs"]
    if (not isinstance(history, (list, tuple)) or len(history) != epochs
            or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in history)):
        return f"expected a list of {epochs} finite floats (one per epoch), got {history!r}"[:300]
    if min(history) < 1:
        return (f"the returned history holds {min(history):.4f}, and no perplexity is below 1: "
                "return exp of each epoch's mean batch loss")
    floor = math.exp(_ref("entropy_rate")(P))
    ceiling = math.exp(_ref("entropy_rate")(P, context=1))
    low = min(history)
    if low < FLOOR_SLACK * floor:
        return (f"an epoch's perplexity in the returned history, {low:.3f}, is below the source's floor {floor:.3f}, the "
                "lowest perplexity any model can reach on it: the model must be seeing the "
                "targets it predicts (are the inputs xs and the targets ts one step apart?)")
    model = _trained_model(got.after["0"])
    fit = TRAINING["fit"]
    final = _ref("evaluate_perplexity")(model, train, fit["batch_size"], fit["time_size"])
    if abs(math.log(history[-1] / final)) > math.log(1 + CONSISTENT):
        return (f"the last epoch's perplexity {history[-1]:.4f} does not match the trained "
                f"model, whose perplexity on the training ids is {final:.4f} (expected within "
                f"{CONSISTENT:.0%}): the returned values should be exp(mean batch loss) of each epoch")
    valid_ppl = _ref("evaluate_perplexity")(model, valid, 4, fit["time_size"])
    if valid_ppl < FLOOR_SLACK * floor:
        return (f"the trained model's perplexity on new text {valid_ppl:.3f} is below the "
                f"source's floor {floor:.3f}: impossible for an honest model")
    if valid_ppl > ceiling:
        return (f"the trained model's perplexity on new text is {valid_ppl:.3f}, above the "
                f"ceiling {ceiling:.3f} (the best a model that looks one id back can do; the "
                f"floor is {floor:.3f}): the training did not learn the source")
    return None


def _judge_train(case, got, expected):
    if case.label in _SOURCES:
        return _judge_training(case, got, expected)
    message = difference(expected.result, got.result, rtol=RTOL, atol=ATOL)
    if message:
        return f"the returned history: {message}"
    message = difference(expected.after.get("0"), got.after.get("0"), rtol=RTOL, atol=ATOL)
    if message:
        return f"the model's weights after training: {message}"
    return None


def _sample_cases(rng):
    cases = []
    for V, prefix, length, temperature, form, seed in (
            (5, 3, 10, 0.0, "list", None), (4, 1, 1, 0.0, "tensor", None),
            (6, 4, 20, 1.0, "array", 1), (5, 1, 15, 0.5, "list", 2), (7, 2, 12, 1.5, "tensor", 3),
            (3, 5, 0, 1.0, "list", 4), (4, 2, 1, 1.0, "array", 5)):
        steps = _pair_model(rng, V, 2.0)
        ids = _ids(rng, V, prefix, form)
        if seed is None:
            call, changes = Call("sample", (Ref(0), ids, length, temperature)), ()
        else:
            call, changes = Call("sample", (Ref(0), ids, length, temperature, Generator(seed))), (4,)
        label = (f"V={V}, prefix of {prefix} ids as a {form}, length={length}, "
                 f"temperature={temperature}" + ("" if seed is None else f", Generator({seed})"))
        cases.append(Case(label=label, steps=steps + (call,), changes=changes))
    return cases


# The visible cases: small enough to read as the notebook's asserts --------------------------

def _visible_pair(table, echo):
    return (Call("PairLM", (2,)), Call("double", on=Ref(0)),
            Call("load_state_dict", ({"table.weight": Tensor(table), "echo": Tensor(np.array(echo))},),
                 on=Ref(0)))


_TABLE = [[0.0, 1.0], [1.0, 0.0], [0.5, -0.5], [0.0, 2.0]]

CHECKS = [
    Check("rnn_output_shapes", _shape_cases, oracles={"real nn.RNN/LSTM/GRU modules": _modules_shapes},
          visible=lambda: [
              Case(("lstm", 100, 30, 6, 200), "LSTM(6, 200) on (100, 30, 6)"),
              Case(("lstm", 100, 30, 6, 200), "bidirectional LSTM(6, 200) on (100, 30, 6)",
                   kwargs={"bidirectional": True}),
              Case(("gru", 5, 3, 2, 4), "GRU, 2 layers, batch_first",
                   kwargs={"num_layers": 2, "batch_first": True}),
              Case(("cnn", 5, 3, 2, 4), "an unknown cell", raises=ValueError)]),
    Check("perplexity_from_probs", _probs_cases, oracles={"1 / scipy.stats.gmean": _gmean},
          visible=lambda: [Case((Tensor([0.8, 0.8]),), "p = 0.8 twice"),
                           Case((Tensor([0.2]),), "p = 0.2"),
                           Case((Tensor([[0.5, 0.125]]),), "p = 0.5 and 0.125")]),
    Check("perplexity", _perplexity_cases,
          oracles={"torch.exp(F.cross_entropy(...))": _cross_entropy},
          visible=lambda: [
              Case((Tensor(np.zeros((3, 2, 4))), Tensor([[0, 1], [2, 3], [1, 1]], "int64")),
                   "uniform logits over V=4"),
              Case((Tensor([[0.0, 2.0], [1.0, 1.0], [3.0, 0.0]]), Tensor([1, 0, 0], "int64")),
                   "ignore_index=0", kwargs={"ignore_index": 0})]),
    Check("pad_batch", _pad_cases, oracles={"nn.utils.rnn.pad_sequence": _pad_sequence},
          visible=lambda: [Case(([Tensor([1, 2, 3], "int64"), Tensor([4], "int64"),
                                  Tensor([5, 6], "int64")], 0), "lengths 3, 1, 2")]),
    Check("run_packed", _packed_cases, oracles={"each sequence run alone": _each_alone},
          visible=lambda: [Case((Module("GRU", dict(input_size=1, hidden_size=2), seed=0),
                                 Tensor([[[1.0], [2.0]], [[0.5], [9.0]], [[9.0], [9.0]]]),
                                 Tensor([3, 1], "int64")), "GRU(1, 2), lengths 3 and 1")]),
    Check("CharLM", _charlm_cases,
          visible=lambda: [Case(label="CharLM(3, 2, 2), all weights 0.1, x = [[0], [2]]", steps=(
              Call("CharLM", (3, 2, 2)), Call("double", on=Ref(0)),
              Call("load_state_dict", ({k: Tensor(np.full(s, 0.1)) for k, s in (
                  ("embed.weight", (3, 2)), ("rnn.weight_ih_l0", (8, 2)),
                  ("rnn.weight_hh_l0", (8, 2)), ("rnn.bias_ih_l0", (8,)),
                  ("rnn.bias_hh_l0", (8,)), ("head.weight", (3, 2)), ("head.bias", (3,)))},),
                   on=Ref(0)),
              Call("__call__", (Tensor([[0], [2]], "int64"),), on=Ref(0))))]),
    Check("evaluate_perplexity", _evaluate_cases,
          judge=_judge_evaluate,
          visible=lambda: [Case(label="PairLM(2), ids [0, 1, 1, 0, 1, 0, 0], batch_size=2, time_size=1",
                                steps=_visible_pair(_TABLE, 0.5) + (
                                    Call("evaluate_perplexity", (Ref(0), [0, 1, 1, 0, 1, 0, 0], 2, 1)),))]),
    Check("train_lm", _train_cases, extra={"training": _training_cases},
          points={"visible": 1, "hidden": 2, "training": 2}, judge=_judge_train,
          visible=lambda: [Case(label="PairLM(2), ids [0, 1, 1, 0, 1, 0, 0], 2 epochs, batch_size=2, "
                                      "time_size=1, lr=0.1, max_norm=0.5", changes=(0,),
                                steps=_visible_pair(_TABLE, 0.5) + (
                                    Call("train_lm", (Ref(0), [0, 1, 1, 0, 1, 0, 0]),
                                         dict(epochs=2, batch_size=2, time_size=1, lr=0.1,
                                              max_norm=0.5)),))]),
    Check("sample", _sample_cases,
          visible=lambda: [
              Case(label="PairLM(2), prefix [0], 4 ids, temperature 0 (argmax)",
                   steps=_visible_pair(_TABLE, 0.5) + (Call("sample", (Ref(0), [0], 4, 0.0)),)),
              Case(label="PairLM(2), prefix [1, 0], 5 ids, temperature 1, Generator(0)",
                   changes=(4,), steps=_visible_pair(_TABLE, 0.5) + (
                       Call("sample", (Ref(0), [1, 0], 5, 1.0, Generator(0))),))]),
]
CHECKS = [Check(**{**c.__dict__, "rtol": RTOL, "atol": ATOL}) for c in CHECKS]
