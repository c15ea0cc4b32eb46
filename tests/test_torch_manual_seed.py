"""The twins in torch's convention: new values per call without stream=, manual_seed makes the
sequence reproducible, an explicit stream= is order-free; torch's deprecated aliases."""
import random
import threading
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="philoxinit.torch needs PyTorch")
import torch.nn.init as tinit  # noqa: E402

import philoxinit as pxi  # noqa: E402
import philoxinit.torch as pt  # noqa: E402

RANDOM_TWINS = {
    "uniform_": {}, "normal_": {}, "trunc_normal_": {"std": 0.5}, "xavier_uniform_": {},
    "xavier_normal_": {}, "kaiming_uniform_": {"a": 5 ** 0.5}, "kaiming_normal_": {},
    "orthogonal_": {}, "sparse_": {"sparsity": 0.25},
}


@pytest.fixture(autouse=True)
def _restore_counter():
    yield
    pt.manual_seed(0)


@pytest.mark.parametrize("name", sorted(RANDOM_TWINS))
def test_kth_call_is_stream_k_under_the_seed(name):
    fn, kw = getattr(pt, name), RANDOM_TWINS[name]
    seed = random.Random(name).randrange(2 ** 40)
    pt.manual_seed(seed)
    calls = [fn(torch.empty(12, 7), **kw) for _ in range(4)]
    for k, got in enumerate(calls):
        want = fn(torch.empty(12, 7), **kw, seed=seed, stream=k)
        assert torch.equal(got, want), f"call {k}"
    assert not torch.equal(calls[0], calls[1])
    pt.manual_seed(seed)
    assert torch.equal(fn(torch.empty(12, 7), **kw), calls[0])     # reproducible


def test_layers_in_a_loop_differ_and_repeat_per_seed():
    def layers():
        ws = [torch.empty(32, 32) for _ in range(3)]
        for w in ws:
            pt.xavier_uniform_(w)
        return ws

    pt.manual_seed(11)
    a = layers()
    pt.manual_seed(11)
    b = layers()
    assert not torch.equal(a[0], a[1]) and not torch.equal(a[1], a[2])
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    pt.manual_seed(12)
    assert not torch.equal(layers()[0], a[0])


def test_explicit_stream_is_order_free_and_leaves_the_counter():
    pt.manual_seed(3)
    first = pt.normal_(torch.empty(100))
    named = pt.normal_(torch.empty(100), stream="fc.weight")
    second = pt.normal_(torch.empty(100))
    assert torch.equal(second, pt.normal_(torch.empty(100), seed=3, stream=1))
    assert torch.equal(named, pt.normal_(torch.empty(100), seed=3, stream="fc.weight"))
    assert not torch.equal(first, named)
    # seed= without stream= takes the counter too, under that seed
    pt.manual_seed(3)
    t = pt.uniform_(torch.empty(50), seed=99)
    assert torch.equal(t, pt.uniform_(torch.empty(50), seed=99, stream=0))
    assert pt.initial_seed() == 3


def test_same_values_as_the_numpy_api_and_torch_rng_unused():
    pt.manual_seed(21)
    torch.manual_seed(0)
    state = torch.get_rng_state()
    got = pt.uniform_(torch.empty(64), -1.0, 1.0)
    assert torch.equal(torch.get_rng_state(), state)
    want = pxi.uniform_(np.empty(64, np.float32), -1.0, 1.0, seed=21, stream=0)
    np.testing.assert_array_equal(got.numpy(), want)


def test_counter_is_shared_by_threads_without_losing_a_stream():
    pt.manual_seed(5)
    results, lock = [], threading.Lock()

    def work():
        for _ in range(25):
            t = pt.normal_(torch.empty(8))
            with lock:
                results.append(t)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    expected = {pt.normal_(torch.empty(8), seed=5, stream=k).numpy().tobytes() for k in range(100)}
    assert {t.numpy().tobytes() for t in results} == expected


def test_manual_seed_checks_its_argument():
    with pytest.raises((TypeError, ValueError), match="seed"):
        pt.manual_seed("abc")
    with pytest.raises((TypeError, ValueError), match="seed"):
        pt.manual_seed(-1)


def _torch_deprecated_names():
    return sorted(n for n in dir(tinit) if not n.startswith("_") and not n.endswith("_")
                  and callable(getattr(tinit, n)) and hasattr(tinit, n + "_")
                  and getattr(getattr(tinit, n), "__name__", "") == n)


def test_deprecated_aliases_match_torch_names_and_warn_like_torch():
    names = _torch_deprecated_names()
    assert names, "torch.nn.init has no deprecated aliases?"
    for name in names:
        ours = getattr(pt, name)
        args = {"constant": (0.5,), "sparse": (0.3,)}.get(name, ())
        shape = (4, 3, 3) if name == "dirac" else (6, 5)
        with warnings.catch_warnings(record=True) as theirs_w:
            warnings.simplefilter("always")
            getattr(tinit, name)(torch.empty(shape), *args)
        with warnings.catch_warnings(record=True) as ours_w:
            warnings.simplefilter("always")
            got = ours(torch.empty(shape), *args, **({} if name in ("constant", "eye", "dirac")
                                                   else {"seed": 1, "stream": "w"}))
        assert [w.category for w in ours_w] == [FutureWarning], name
        assert str(ours_w[0].message) == str(theirs_w[0].message), name
        assert ours_w[0].filename == __file__          # stacklevel: the caller's line
        new = getattr(pt, name + "_")
        want = new(torch.empty(shape), *args, **({} if name in ("constant", "eye", "dirac")
                                                 else {"seed": 1, "stream": "w"}))
        assert torch.equal(got, want), name
