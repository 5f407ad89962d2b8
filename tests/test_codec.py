"""The codec and the verdict: what comes back from a kernel is judged strictly, forged or
malformed results are rejected with a reason, and the tolerance is exactly what it says."""
import base64
import json

import numpy as np
import pytest
import torch

from autograder import checks, codec, probe
from autograder.checks import compare
from autograder.checks.spec import Generator, Module, Table, Tensor, form

GOOD = np.arange(6.0).reshape(2, 3)


def _outcome(ok, after=None):
    return {"ok": ok, "after": after or {}, "before": {}, "aliases": []}


def _judge(got_form, want=GOOD, **kw):
    return compare.verdict(_outcome(got_form), _outcome(codec.encode(want)), before={}, **kw)


@pytest.mark.parametrize("forged, reason", [
    ({**codec.encode(GOOD), "dtype": "object"}, "bad array header"),
    ({**codec.encode(GOOD), "dtype": "float32"}, "does not match its shape"),
    ({**codec.encode(GOOD), "shape": [3, 3]}, "does not match its shape"),
    ({**codec.encode(GOOD), "shape": [-2, -3]}, "bad array header"),
    ({**codec.encode(GOOD), "data": "not base64!"}, "not base64"),
    ({"t": "pickle", "v": base64.b64encode(b"cos\nsystem\n").decode()}, "unknown form"),
    ({"t": "tensor", "torch_dtype": "bfloat17", **codec.encode(GOOD)} | {"t": "tensor"},
     "unknown tensor dtype"),
    ({"t": "module", "cls": "RNN", "kwargs": codec.encode({})}, "unknown form"),  # never live
    ({"t": "generator_state", "draws": ["1"] * 1000}, "malformed generator state"),
])
def test_forged_results_are_rejected_with_a_reason(forged, reason):
    message = _judge(forged)
    assert message and "could not read the result" in message and reason in message, message


def test_excessive_nesting_is_rejected():
    deep = codec.encode(1.0)
    for _ in range(codec.MAX_DEPTH + 5):
        deep = {"t": "list", "v": [deep]}
    assert "nested too deeply" in _judge(deep)
    # and the kernel's encoder cuts a deep result short instead of recursing without end
    value = []
    for _ in range(100):
        value = [value]
    assert "too deep" in json.dumps(codec.encode(value))


def test_malformed_outcomes_are_rejected():
    for bad in (None, [], {"raised": "ValueError"}, {"raised": []}, {"ok": codec.encode(GOOD)}):
        assert compare.verdict(bad, _outcome(codec.encode(GOOD)), before={})


@pytest.mark.parametrize("rtol, atol", [(compare.RTOL, compare.ATOL), (1e-6, 1e-9)])
def test_tolerance_is_exactly_the_declared_one(rtol, atol):
    want = np.array([1.0, 1000.0, 0.0])
    bound = atol + rtol * np.abs(want)
    inside = want + 0.9 * bound
    outside = want.copy()
    outside[1] += 10 * bound[1]
    assert _judge(codec.encode(inside), want, rtol=rtol, atol=atol) is None
    message = _judge(codec.encode(outside), want, rtol=rtol, atol=atol)
    assert message and "index 1" in message
    zero = want.copy()
    zero[2] += 10 * atol  # near zero only atol counts
    assert _judge(codec.encode(zero), want, rtol=rtol, atol=atol)


def test_specs_are_built_alike_on_both_sides():
    state = {"weight": np.ones((2, 3)), "bias": np.zeros(2)}
    module = codec.decode(form(Module("Linear", dict(in_features=3, out_features=2), state=state)),
                          live=True)
    assert isinstance(module, torch.nn.Linear) and module.weight.dtype == torch.float64
    assert torch.equal(module.weight, torch.ones(2, 3, dtype=torch.float64))
    seeded = [codec.decode(form(Module("RNN", dict(input_size=2, hidden_size=3), seed=4)), live=True)
              for _ in range(2)]
    assert all(torch.equal(a, b) for a, b in zip(seeded[0].parameters(), seeded[1].parameters()))
    t = codec.decode(form(Tensor([[1, 2]], dtype="int64")), live=True)
    assert t.dtype == torch.int64 and t.tolist() == [[1, 2]]
    g = codec.decode(form(Generator(3)), live=True)
    assert torch.equal(torch.rand(2, generator=g), torch.rand(2, generator=torch.Generator().manual_seed(3)))
    f = codec.decode(form(Table({((), 1): 0.5, ((1,), 2): 0.25})), live=True)
    assert f((), 1) == 0.5 and f([1], np.int64(2)) == 0.25 and f(np.array([1]), 2) == 0.25
    with pytest.raises(KeyError):
        f((2,), 1)


def test_a_module_off_the_allow_list_is_refused():
    bad = form(Module("Transformer", {}))
    with pytest.raises(codec.DecodeError, match="allow-list"):
        codec.decode(bad, live=True)


def test_results_come_back_as_plain_wrappers():
    g = torch.Generator().manual_seed(0)
    back = codec.decode(json.loads(json.dumps(codec.encode(
        [torch.ones(2, requires_grad=True), torch.nn.Linear(2, 1), g]))))
    tensor, module, generator = back
    assert isinstance(tensor, codec.Tensor) and tensor.requires_grad
    assert isinstance(module, codec.ModuleState) and set(module.state) == {"weight", "bias"}
    assert isinstance(generator, codec.GeneratorState) and len(generator.draws) == 4
    torch.rand(1, generator=g)
    assert codec.decode(codec.encode(g)).draws != generator.draws


def test_aliasing_is_found_through_views_of_tensors_and_parameters():
    layer = torch.nn.Linear(3, 2).double()
    x = np.arange(4.0)
    outcome = probe.execute([lambda r: (lambda a, m: (a[1:], m.weight.detach().numpy().T), (x, layer), {})],
                            None)
    assert outcome["aliases"] == ["result[0] shares memory with argument 0",
                                  "result[1] shares memory with argument 1.weight"]
    fresh = probe.execute([lambda r: (lambda a: a.copy(), (x,), {})], None)
    assert fresh["aliases"] == []


def test_expected_values_are_cached_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_GRADER_CACHE", str(tmp_path))
    checks.expected.cache_clear()
    first = checks.expected("sequences", "one_hot", "hidden")
    files = list(tmp_path.rglob("*.json"))
    assert len(files) == 1
    checks.expected.cache_clear()
    files[0].write_text(json.dumps({**first, "marker": 1}))  # a second run reads the file
    assert checks.expected("sequences", "one_hot", "hidden").get("marker") == 1
    checks.expected.cache_clear()
