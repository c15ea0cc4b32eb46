"""``progress=True`` on the allocating functions: a big fill cut into pieces behind a tqdm bar
gives the bits of one call (philoxinit._progress)."""
import inspect
import sys

import numpy as np
import pytest

import philoxinit as pxi
from philoxinit import _progress, reference as ref

DTYPES = ["float32", "float64", "float16", "bfloat16"]


def get_dtype(name):
    if name == "bfloat16":
        return np.dtype(pytest.importorskip("ml_dtypes").bfloat16)
    return np.dtype(name)


def bits(a):
    return a.view({8: np.uint64, 4: np.uint32, 2: np.uint16}[a.dtype.itemsize])


@pytest.mark.parametrize("shape", [(10,), (7, 5), (3, 4, 5), (2, 1, 6, 3), (1, 13), (13, 1),
                                   (), (2, 3, 4, 5, 6)])
def test_flat_boxes_cover_each_run_in_c_order(shape):
    whole = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    n = whole.size
    for begin in range(n + 1):
        for end in range(begin, n + 1):
            boxes = _progress.flat_boxes(shape, begin, end)
            pieces = [whole[box] for box in boxes]
            assert all(p.flags.c_contiguous and p.size for p in pieces)
            assert len(boxes) <= max(1, 2 * len(shape) - 1)
            got = np.concatenate([p.reshape(-1) for p in pieces]) if pieces else []
            assert np.array_equal(got, np.arange(begin, end)), (begin, end)


RANDOM_CASES = [
    ("uniform_", (-1.0, 3.0), {}),
    ("normal_", (0.1, 0.02), {}),
    ("trunc_normal_", (0.0, 1.0, -0.5, 3.0), {}),
    ("xavier_uniform_", (1.5,), {}),
    ("xavier_normal_", (), {}),
    ("kaiming_normal_", (), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_uniform_", (), {}),
    ("glorot_normal_", (), {}),
    ("he_uniform_", (), {"layout": "torch"}),
    ("variance_scaling_", (2.0, "fan_avg", "uniform"), {}),
]


def _kwargs(fn, args, kw):
    """All keyword arguments of ``fn`` bound as the twin binds them (defaults applied)."""
    sig = inspect.signature(fn)
    bound = sig.bind(np.empty(1, np.float32), *args, **kw)
    bound.apply_defaults()
    out = dict(bound.arguments)
    out.pop("out")
    return out


@pytest.mark.parametrize("mod", [pxi, ref], ids=["native", "reference"])
@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("name,args,kw", RANDOM_CASES, ids=[c[0] for c in RANDOM_CASES])
def test_pieces_give_the_bits_of_one_call(mod, dtype_name, name, args, kw):
    dtype = get_dtype(dtype_name)
    fn = getattr(mod, name)
    kw = {**kw, "seed": 2**40 + 3, "stream": "blocks.3.w", "offset": 17}
    for shape, piece in [((24, 10, 3), 7), ((5, 33), 40), ((150, 2), 64), ((6, 4, 3, 3), 1)]:
        one = fn(np.empty(shape, dtype), *args, **kw)
        done = []
        got = _progress.fill_in_pieces(fn, np.full(shape, np.nan, dtype), _kwargs(fn, args, kw),
                                       done.append, piece=piece)
        assert np.array_equal(bits(got), bits(one)), (shape, piece)
        assert sum(done) == one.size and len(done) > 1


@pytest.mark.parametrize("name,args,kw", RANDOM_CASES[:4] + RANDOM_CASES[5:6],
                         ids=[c[0] for c in RANDOM_CASES[:4] + RANDOM_CASES[5:6]])
def test_pieces_of_a_shard(name, args, kw):
    # the caller's own global_shape/index: each piece is a shard of the shard
    fn = getattr(pxi, name)
    g, index = (40, 12, 6), (slice(5, 29), slice(2, 9))
    full = fn(np.empty(g, np.float32), *args, seed=9, stream="s", **kw)
    kw = {**kw, "seed": 9, "stream": "s", "global_shape": g, "index": index}
    one = fn(np.empty((24, 7, 6), np.float32), *args, **kw)
    assert np.array_equal(bits(one), bits(np.ascontiguousarray(full[index])))
    got = _progress.fill_in_pieces(fn, np.empty((24, 7, 6), np.float32), _kwargs(fn, args, kw),
                                   lambda n: None, piece=10)
    assert np.array_equal(bits(got), bits(one))


@pytest.mark.parametrize("name,args", [("constant_", (0.3,)), ("zeros_", ()), ("ones_", ())])
def test_pieces_of_constants(name, args):
    fn = getattr(pxi, name)
    one = fn(np.empty((17, 3), np.float16), *args)
    got = _progress.fill_in_pieces(fn, np.empty((17, 3), np.float16),
                                   _kwargs(fn, args, {}), lambda n: None, piece=5)
    assert np.array_equal(bits(got), bits(one))


BIG = _progress.PROGRESS_MIN_ELEMENTS + 1  # the smallest fill that shows a bar


@pytest.mark.parametrize("call", [
    lambda p: pxi.xavier_uniform((4097, 4097), seed=1, stream="w", progress=p),
    lambda p: pxi.normal((BIG,), np.float16, 0.0, 0.02, seed=2, stream=5, offset=3, progress=p),
    lambda p: pxi.trunc_normal((2, 3, BIG // 6 + 1), std=0.02, a=-0.04, b=0.04, progress=p),
    lambda p: pxi.ones((BIG,), progress=p),
], ids=["xavier_uniform", "normal-f16-offset", "trunc_normal-3d", "ones"])
def test_progress_true_same_bits_and_a_bar(call, capsys):
    pytest.importorskip("tqdm")
    one = call(False)
    assert capsys.readouterr().err == ""
    got = call(True)
    err = capsys.readouterr().err
    assert np.array_equal(bits(got), bits(one))
    assert got.flags.c_contiguous and got.dtype == one.dtype and got.shape == one.shape
    assert "100%" in err and "val" in err  # tqdm's bar, on stderr


def test_progress_small_fill_no_bar(capsys):
    a = pxi.normal((1000, 1000), seed=0, progress=True)
    assert capsys.readouterr().err == ""
    assert np.array_equal(bits(a), bits(pxi.normal((1000, 1000), seed=0)))


def test_progress_without_tqdm_is_silent(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError
    a = pxi.uniform((BIG,), seed=4, stream="u", progress=True)
    assert capsys.readouterr().err == ""
    assert np.array_equal(bits(a), bits(pxi.uniform((BIG,), seed=4, stream="u")))


def test_progress_errors_match_one_call():
    pytest.importorskip("tqdm")
    for kwargs, exc in [({"std": -1.0}, ValueError), ({"seed": -1}, ValueError),
                        ({"stream": 1.5}, TypeError), ({"index": (slice(0, 2),)}, ValueError),
                        ({"global_shape": (BIG + 1,), "index": (slice(0, 5),)}, ValueError)]:
        with pytest.raises(exc) as plain:
            pxi.normal((BIG,), **kwargs)
        with pytest.raises(exc) as progress:
            pxi.normal((BIG,), progress=True, **kwargs)
        assert str(plain.value) == str(progress.value)


def test_progress_keyword_on_every_twin():
    for mod in (pxi, ref):
        for name in mod.__all__:
            if name.endswith("_") and hasattr(mod, name[:-1]):
                twin = inspect.signature(getattr(mod, name[:-1])).parameters
                assert twin["progress"].kind is inspect.Parameter.KEYWORD_ONLY
                assert twin["progress"].default is False
                assert "progress" not in inspect.signature(getattr(mod, name)).parameters


def test_piece_ends_fixed_and_timed():
    assert list(_progress.piece_ends(10, 1, piece=4)) == [4, 8, 10]
    assert list(_progress.piece_ends(100, 30, piece=40)) == [30, 60, 100]  # whole rows
    assert list(_progress.piece_ends(100, 300, piece=40)) == [40, 80, 100]    # rows too big
    # timed: sized from the previous piece's speed, at least MIN_PIECE, growing at most 8x
    m = _progress.MIN_PIECE
    gen = _progress.piece_ends(100 * m, 1)
    ends = [next(gen)]
    ends.append(gen.send(1e-9))          # very fast: grow 8x
    ends.append(gen.send(10.0))          # very slow: back to MIN_PIECE
    ends.append(gen.send(_progress.PIECE_SECONDS / 2))  # 2x
    assert np.diff([0] + ends).tolist() == [m, 8 * m, m, 2 * m]


def test_init_module_progress(capsys):
    torch = pytest.importorskip("torch")
    pytest.importorskip("tqdm")
    import philoxinit.torch as pt
    torch.manual_seed(0)
    a, b = torch.nn.Linear(4100, 4100), torch.nn.Linear(4100, 4100)  # 16.8M + 4100 > 2**24
    ra = pt.init_module(a, seed=3)
    assert capsys.readouterr().err == ""
    rb = pt.init_module(b, seed=3, progress=True)
    assert "init_module" in capsys.readouterr().err
    assert ra == rb
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    pt.init_module(torch.nn.Linear(10, 10), seed=3, progress=True)  # small: no bar
    assert capsys.readouterr().err == ""
