"""philoxinit.keras: Keras 3 initializers (torch backend) -- bounds/std, KS vs Keras, saving."""
import os

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported anywhere

import math  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("torch", reason="the Keras tests run Keras on its torch backend")
keras = pytest.importorskip("keras", reason="philoxinit.keras needs Keras 3")
if keras.backend.backend() != "torch":
    pytest.skip(f"keras was already imported with the {keras.backend.backend()!r} backend",
                allow_module_level=True)
stats = pytest.importorskip("scipy.stats", reason="KS tests need scipy")

import philoxinit as pxi  # noqa: E402
import philoxinit.keras as pk  # noqa: E402
from keras.src.initializers.random_initializers import compute_fans as keras_fans  # noqa: E402

TN = 0.87962566103423978
SHAPES = [(300, 200), (3, 3, 16, 32), (5, 5, 3, 64), (2, 7, 40, 24)]


def np_(x):
    """A Keras tensor or variable (torch backend) as a float64 NumPy array."""
    return keras.ops.convert_to_tensor(x).detach().cpu().double().numpy()


# (philoxinit class, keras class, scale, mode, uniform?)
VS_RULES = [
    (pk.GlorotUniform, keras.initializers.GlorotUniform, 1.0, "fan_avg", True),
    (pk.GlorotNormal, keras.initializers.GlorotNormal, 1.0, "fan_avg", False),
    (pk.HeUniform, keras.initializers.HeUniform, 2.0, "fan_in", True),
    (pk.HeNormal, keras.initializers.HeNormal, 2.0, "fan_in", False),
    (pk.LecunUniform, keras.initializers.LecunUniform, 1.0, "fan_in", True),
    (pk.LecunNormal, keras.initializers.LecunNormal, 1.0, "fan_in", False),
]


def _fan(shape, mode):
    fan_in, fan_out = keras_fans(shape)
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


def test_fans_match_keras():
    for shape in SHAPES + [(), (7,), (2, 3, 4, 5, 6)]:
        assert pk.compute_fans(shape) == keras_fans(shape)
    assert pk.compute_fans((4, 5, 6), [0, 1], [2]) == keras_fans((4, 5, 6), [0, 1], [2])


@pytest.mark.parametrize("ours, _keras, scale, mode, is_uniform", VS_RULES,
                         ids=[r[0].__name__ for r in VS_RULES])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_named_rule_bounds_and_std(ours, _keras, scale, mode, is_uniform, shape):
    # Keras's documented formulas: uniform limit sqrt(3 scale / fan); truncated normal with
    # std sqrt(scale / fan) after truncation at 2 pre-truncation stds.
    w = np_(ours(seed=11, stream="w")(shape))
    assert w.shape == shape
    target_std = math.sqrt(scale / max(1.0, _fan(shape, mode)))
    if is_uniform:
        limit = math.sqrt(3.0) * target_std
        assert np.abs(w).max() < limit and np.abs(w).max() > 0.98 * limit
    else:
        bound = 2.0 * target_std / TN
        assert np.abs(w).max() <= bound * (1 + 1e-6) and np.abs(w).max() > 0.97 * bound
    assert abs(w.mean()) < 4 * target_std / math.sqrt(w.size)
    assert w.std() == pytest.approx(target_std, rel=4 / math.sqrt(w.size))


def test_basic_distributions_bounds_and_std():
    shape = (3, 3, 16, 32)
    w = np_(pk.RandomUniform(seed=1)(shape))
    assert w.min() >= -0.05 and w.max() < 0.05 and w.max() > 0.0499
    w = np_(pk.RandomUniform(-1.0, 3.0, seed=1)(shape))
    assert w.min() >= -1 and w.max() < 3 and w.mean() == pytest.approx(1.0, abs=0.05)
    w = np_(pk.RandomNormal(seed=1)(shape))
    assert w.std() == pytest.approx(0.05, rel=0.05) and abs(w.mean()) < 0.003
    w = np_(pk.RandomNormal(mean=2.0, stddev=0.5, seed=1)(shape))
    assert w.std() == pytest.approx(0.5, rel=0.05) and w.mean() == pytest.approx(2.0, abs=0.03)
    w = np_(pk.TruncatedNormal(mean=1.0, stddev=0.1, seed=1)(shape))
    assert w.min() >= 0.8 - 1e-7 and w.max() <= 1.2 + 1e-7
    assert w.std() == pytest.approx(0.1 * TN, rel=0.05)
    vs = pk.VarianceScaling(3.0, "fan_out", "untruncated_normal", seed=1)
    assert np_(vs(shape)).std() == pytest.approx(math.sqrt(3.0 / 288), rel=0.05)
    # Keras maps "normal" to "truncated_normal"
    assert pk.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    for bad in [dict(scale=0.0), dict(mode="fan_geo"), dict(distribution="cauchy")]:
        with pytest.raises(ValueError):
            pk.VarianceScaling(**bad)


@pytest.mark.parametrize("shape", [(64, 32), (16, 48), (3, 3, 8, 16)], ids=str)
def test_orthogonal(shape):
    w = np_(pk.Orthogonal(gain=1.5, seed=2)(shape)).reshape(-1, shape[-1])
    if w.shape[0] >= w.shape[1]:
        np.testing.assert_allclose(w.T @ w, 2.25 * np.eye(w.shape[1]), atol=1e-5)
    else:
        np.testing.assert_allclose(w @ w.T, 2.25 * np.eye(w.shape[0]), atol=1e-5)
    with pytest.raises(ValueError):
        pk.Orthogonal()((5,))


KS_CASES = [(ours, theirs, {}) for ours, theirs, *_ in VS_RULES] + [
    (pk.RandomUniform, keras.initializers.RandomUniform, {}),
    (pk.RandomNormal, keras.initializers.RandomNormal, {"mean": 0.5}),
    (pk.TruncatedNormal, keras.initializers.TruncatedNormal, {"stddev": 0.2}),
    (pk.VarianceScaling, keras.initializers.VarianceScaling,
     {"scale": 0.5, "mode": "fan_out", "distribution": "untruncated_normal"}),
    (pk.VarianceScaling, keras.initializers.VarianceScaling,
     {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform"}),
    (pk.Orthogonal, keras.initializers.Orthogonal, {"gain": 2.0}),
]


@pytest.mark.parametrize("ours, theirs, kwargs", KS_CASES,
                         ids=[f"{c[0].__name__}{i}" for i, c in enumerate(KS_CASES)])
@pytest.mark.parametrize("shape", [(3, 3, 16, 32), (256, 96)], ids=str)
def test_ks_against_keras(ours, theirs, kwargs, shape):
    a = np_(ours(seed=5, **kwargs)(shape)).ravel()
    b = np_(theirs(seed=5, **kwargs)(shape)).ravel()
    assert stats.ks_2samp(a, b).pvalue > 1e-3


def test_determinism_and_streams():
    shape = (32, 16)
    a = np_(pk.HeNormal(seed=3, stream="dense_1/kernel")(shape))
    assert np.array_equal(a, np_(pk.HeNormal(seed=3, stream="dense_1/kernel")(shape)))
    assert not np.array_equal(a, np_(pk.HeNormal(seed=3, stream="dense_2/kernel")(shape)))
    assert not np.array_equal(a, np_(pk.HeNormal(seed=4, stream="dense_1/kernel")(shape)))
    # the values are philoxinit's own, bit for bit
    assert np.array_equal(a, pxi.he_normal(shape, seed=3, stream="dense_1/kernel"))
    assert np.array_equal(np_(pk.GlorotUniform(seed=9, stream=7)((3, 3, 4, 8))),
                          pxi.glorot_uniform((3, 3, 4, 8), seed=9, stream=7))
    # a fixed stream repeats on every call
    init = pk.LecunUniform(seed=3, stream=12)
    assert np.array_equal(np_(init(shape)), np_(init(shape)))
    # int seed, no stream: Keras's semantics -- every call and every clone repeats (stream 0)
    one = pk.GlorotNormal(seed=3)
    c0 = np_(one(shape))
    assert np.array_equal(c0, np_(one(shape))) and np.array_equal(c0, np_(one.clone()(shape)))
    assert np.array_equal(c0, pxi.glorot_normal(shape, seed=3, stream=0))


def test_dtypes():
    shape = (40, 24)
    init = pk.GlorotUniform(seed=1, stream="x")
    ref = np_(init(shape))
    assert init(shape).dtype == keras.ops.convert_to_tensor(np.zeros(1, np.float32)).dtype
    for name in ["float16", "bfloat16", "float64"]:
        t = init(shape, dtype=name)
        assert keras.backend.standardize_dtype(t.dtype) == name
    bf = np_(init(shape, dtype="bfloat16"))
    import ml_dtypes
    assert np.array_equal(bf, ref.astype(np.float32).astype(ml_dtypes.bfloat16).astype(np.float64))
    with pytest.raises(ValueError):
        init(shape, dtype="int32")


@pytest.mark.parametrize("init", [
    pk.RandomUniform(-0.1, 0.2, seed=4, stream="u"), pk.RandomNormal(0.1, 0.3, seed=5),
    pk.TruncatedNormal(0.0, 0.2, seed=6, stream=99),
    pk.VarianceScaling(2.0, "fan_avg", "uniform", seed=7, stream="vs"),
    pk.GlorotUniform(seed=2**64 - 1, stream="big"), pk.GlorotNormal(seed=8), pk.HeUniform(seed=1),
    pk.HeNormal(stream="h"), pk.LecunUniform(seed=3), pk.LecunNormal(seed=4),
    pk.Orthogonal(gain=0.5, seed=9, stream="o"),
], ids=lambda i: type(i).__name__)
def test_config_round_trip(init):
    cfg = init.get_config()
    assert "seed" in cfg and "stream" in cfg
    clone = type(init).from_config(cfg)
    assert type(clone) is type(init) and clone.get_config() == cfg
    shape = (12, 10)
    same = np.array_equal(np_(clone(shape)), np_(type(init).from_config(cfg)(shape)))
    assert same == (cfg["seed"] is not None)  # Keras: unseeded clones draw new seeds
    # through Keras's registry (the serialized form names package "philoxinit")
    ser = keras.initializers.serialize(init)
    assert ser["registered_name"] == f"philoxinit>{type(init).__name__}"
    back = keras.initializers.deserialize(ser)
    assert type(back) is type(init) and back.get_config() == cfg


def _model():
    return keras.Sequential([
        keras.Input((10, 10, 3)),
        keras.layers.Conv2D(16, 3, name="conv",
                            kernel_initializer=pk.HeNormal(seed=1, stream="conv/kernel")),
        keras.layers.Flatten(),
        keras.layers.Dense(64, name="fc1", activation="relu",
                           kernel_initializer=pk.GlorotUniform(seed=1, stream="fc1/kernel"),
                           bias_initializer=pk.RandomNormal(0.0, 0.01, seed=1, stream="fc1/bias")),
        keras.layers.Dense(10, name="fc2", kernel_initializer=pk.Orthogonal(seed=1, stream="fc2")),
    ])


def test_keras_model_statistics_save_and_load(tmp_path):
    model = _model()
    kernel = lambda name: np_(model.get_layer(name).kernel)  # noqa: E731
    conv, fc1, fc2 = kernel("conv"), kernel("fc1"), kernel("fc2")
    assert conv.shape == (3, 3, 3, 16) and fc1.shape == (1024, 64) and fc2.shape == (64, 10)
    # statistics: He normal std sqrt(2/27) cut at 2 pre-truncation stds; Glorot limit
    s = math.sqrt(2 / 27)
    assert np.abs(conv).max() <= 2 * s / TN * (1 + 1e-6)
    assert conv.std() == pytest.approx(s, rel=0.12)
    limit = math.sqrt(6 / (1024 + 64))
    assert np.abs(fc1).max() < limit and fc1.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)
    np.testing.assert_allclose(fc2.T @ fc2, np.eye(10), atol=1e-5)
    assert np_(model.get_layer("fc1").bias).std() == pytest.approx(0.01, rel=0.3)
    # named streams: the weights do not depend on build order, and equal philoxinit's
    assert np.array_equal(conv, pxi.he_normal((3, 3, 3, 16), seed=1, stream="conv/kernel"))
    assert np.array_equal(fc1, pxi.glorot_uniform((1024, 64), seed=1, stream="fc1/kernel"))
    assert all(np.array_equal(np_(a), np_(b)) for a, b in zip(model.weights, _model().weights))

    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert len(loaded.weights) == len(model.weights)
    for a, b in zip(model.weights, loaded.weights):
        assert np.array_equal(np_(a), np_(b))
    for name in ["conv", "fc1", "fc2"]:
        ours, theirs = model.get_layer(name), loaded.get_layer(name)
        assert type(theirs.kernel_initializer) is type(ours.kernel_initializer)
        assert theirs.kernel_initializer.get_config() == ours.kernel_initializer.get_config()
    assert isinstance(loaded.get_layer("fc1").bias_initializer, pk.RandomNormal)
    x = np.random.default_rng(0).standard_normal((2, 10, 10, 3)).astype(np.float32)
    np.testing.assert_array_equal(np_(model(x)), np_(loaded(x)))


def test_import_philoxinit_does_not_import_keras():
    import subprocess
    import sys
    code = ("import sys, philoxinit; import philoxinit.rules, philoxinit.reference; "
            "assert 'keras' not in sys.modules and 'jax' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- issue 15: Keras's seed semantics, class tree, clones, variable paths ----------------


def test_seed_none_and_seed_generator_follow_keras():
    shape = (16, 8)
    keras.utils.set_random_seed(123)
    a = pk.RandomNormal()
    assert isinstance(a.seed, int) and a.get_config()["seed"] is None
    va = np_(a(shape))
    assert np.array_equal(va, np_(a(shape)))  # unseeded: the same values on every call
    assert np.array_equal(va, pxi.normal(shape, mean=0.0, std=0.05, seed=a.seed, stream=0))
    clone = pk.RandomNormal.from_config(a.get_config())
    assert clone.seed != a.seed and not np.array_equal(va, np_(clone(shape)))
    keras.utils.set_random_seed(123)  # Keras's global seed makes the unseeded draw repeat
    assert pk.RandomNormal().seed == a.seed
    gen = pk.GlorotUniform(seed=keras.random.SeedGenerator(7))
    g0, g1 = np_(gen(shape)), np_(gen(shape))
    assert not np.array_equal(g0, g1)
    again = pk.GlorotUniform(seed=keras.random.SeedGenerator(7))
    assert np.array_equal(g0, np_(again(shape))) and np.array_equal(g1, np_(again(shape)))
    back = pk.GlorotUniform.from_config(gen.get_config())  # a serialized SeedGenerator
    assert isinstance(back.seed, keras.random.SeedGenerator)
    with pytest.raises(ValueError):
        pk.RandomUniform(seed="seven")


@pytest.mark.parametrize("ours, theirs, kwargs", [
    (pk.GlorotUniform, keras.initializers.GlorotUniform, {}),
    (pk.HeNormal, keras.initializers.HeNormal, {"input_axes": [0], "output_axes": [1, 2]}),
    (pk.VarianceScaling, keras.initializers.VarianceScaling,
     {"scale": 2.0, "mode": "fan_out", "distribution": "uniform"}),
    (pk.RandomUniform, keras.initializers.RandomUniform, {"minval": -1.0}),
    (pk.TruncatedNormal, keras.initializers.TruncatedNormal, {"stddev": 0.3}),
    (pk.Orthogonal, keras.initializers.Orthogonal, {"gain": 2.0}),
    (pk.Constant, keras.initializers.Constant, {"value": 3.0}),
    (pk.Identity, keras.initializers.Identity, {"gain": 2.0}),
], ids=lambda x: getattr(x, "__name__", None))
def test_from_config_of_keras_configs_and_class_tree(ours, theirs, kwargs):
    cfg = theirs(**kwargs).get_config()
    init = ours.from_config(cfg)
    assert isinstance(init, theirs)
    assert {k: v for k, v in init.get_config().items() if k != "stream"} == cfg


def test_variance_scaling_tree_and_axes():
    for cls in [pk.GlorotUniform, pk.GlorotNormal, pk.HeUniform, pk.HeNormal, pk.LecunUniform,
                pk.LecunNormal, pk.VarianceScaling]:
        assert isinstance(cls(), keras.initializers.VarianceScaling)
    shape = (64, 8, 16)
    w = np_(pk.HeNormal(seed=1, input_axes=[0], output_axes=[1, 2])(shape))
    assert w.std() == pytest.approx(math.sqrt(2 / 64), rel=0.05)
    s = math.sqrt(2 / 64) / TN  # fans from the axes: fan_in = 64 (not 64 * 8)
    assert np.array_equal(w, pxi.trunc_normal(shape, mean=0.0, std=s, a=-2 * s, b=2 * s,
                                              seed=1, stream=0))


def _mha_kernels(init):
    mha = keras.layers.MultiHeadAttention(num_heads=8, key_dim=16, kernel_initializer=init)
    mha.build((None, 10, 32), (None, 10, 32))
    return [np_(d.kernel) for d in (mha.query_dense, mha.key_dense, mha.value_dense)]


def test_multi_head_attention_fans_and_clones():
    q, k, v = _mha_kernels(pk.LecunNormal())
    assert q.shape == (32, 8, 16)
    # EinsumDense sets input_axes/output_axes: fan_in = 32, std 1/sqrt(32) = 0.177
    assert q.std() == pytest.approx(1 / math.sqrt(32), rel=0.05)
    assert not np.array_equal(q, k) and not np.array_equal(k, v)  # unseeded clones differ
    # seeded: Keras's own MultiHeadAttention gives identical q/k/v kernels; so do the twins
    theirs = _mha_kernels(keras.initializers.LecunNormal(seed=0))
    ours = _mha_kernels(pk.LecunNormal(seed=0))
    assert np.array_equal(theirs[0], theirs[1]) and np.array_equal(ours[0], ours[1])


def test_dense_layers_seeded_and_shared_unseeded_instances():
    def dense_pair(first, second):
        model = keras.Sequential([keras.Input((8,)),
                                  keras.layers.Dense(8, kernel_initializer=first),
                                  keras.layers.Dense(8, kernel_initializer=second)])
        return [np_(layer.kernel) for layer in model.layers], model
    # two GlorotUniform(seed=0): identical kernels, as with Keras's own
    (a, b), _ = dense_pair(pk.GlorotUniform(seed=0), pk.GlorotUniform(seed=0))
    (ka, kb), _ = dense_pair(keras.initializers.GlorotUniform(seed=0),
                             keras.initializers.GlorotUniform(seed=0))
    assert np.array_equal(a, b) and np.array_equal(ka, kb)
    shared = pk.GlorotUniform(seed=0)  # one int-seeded instance: also identical, like Keras
    (a, b), _ = dense_pair(shared, shared)
    assert np.array_equal(a, b)
    # one unseeded instance shared: each variable's stream is its path
    shared = pk.GlorotUniform()
    (a, b), model = dense_pair(shared, shared)
    assert not np.array_equal(a, b)
    for layer, value in zip(model.layers, (a, b)):
        assert np.array_equal(value, pxi.glorot_uniform((8, 8), seed=shared.seed,
                                                        stream=layer.kernel.path))
    # a standalone call (no variable): stream 0
    assert np.array_equal(np_(shared((8, 8))), pxi.glorot_uniform((8, 8), seed=shared.seed))


def test_constant_initializers_and_get():
    assert np.array_equal(np_(pk.Zeros()((2, 3))), np.zeros((2, 3)))
    assert np.array_equal(np_(pk.Ones()((2, 3))), np.ones((2, 3)))
    assert np.array_equal(np_(pk.Constant(6.0)((2, 3))), np.full((2, 3), 6.0))
    assert np.array_equal(np_(pk.Constant(np.arange(3.0))((2, 3))), np.tile(np.arange(3.0), (2, 1)))
    assert np.array_equal(np_(pk.Identity(2.0)((3, 4))), 2 * np.eye(3, 4))
    np.testing.assert_allclose(np_(pk.STFT("real")((8, 1, 5))),
                               np_(keras.initializers.STFT("real")((8, 1, 5))))
    for init in [pk.Zeros(), pk.Ones(), pk.Constant(2.0), pk.Identity(), pk.STFT()]:
        ser = keras.initializers.serialize(init)
        assert ser["registered_name"] == f"philoxinit>{type(init).__name__}"
        assert type(keras.initializers.deserialize(ser)) is type(init)
    for name, cls in [("glorot_normal", pk.GlorotNormal), ("HeUniform", pk.HeUniform),
                      ("OrthogonalInitializer", pk.Orthogonal), ("zero", pk.Zeros),
                      ("normal", pk.RandomNormal), ("STFTInitializer", pk.STFT)]:
        assert type(pk.get(name)) is cls
    assert pk.get(None) is None
    with pytest.raises(ValueError):
        pk.get("typo")
