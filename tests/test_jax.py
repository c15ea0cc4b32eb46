"""philoxinit.jax: JAX-signature initializers -- fans, KS vs jax.nn.initializers, keys, Flax."""
import math

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="philoxinit.jax needs JAX")
stats = pytest.importorskip("scipy.stats", reason="KS tests need scipy")

import jax.numpy as jnp  # noqa: E402

import philoxinit as pxi  # noqa: E402
import philoxinit.jax as pj  # noqa: E402

jinit = jax.nn.initializers
TN = 0.87962566103423978

# (shape, in_axis, out_axis, batch_axis)
FAN_CASES = [
    ((300, 200), -2, -1, ()),
    ((3, 3, 16, 32), -2, -1, ()),
    ((5, 64, 32), -2, -1, 0),
    ((4, 6, 8, 10), (0, 1), -1, ()),
    ((32, 64, 3), 1, 0, ()),
    ((2, 3, 24, 40), -2, -1, (0,)),
    ((6, 5, 4, 7), (1, 2), (0,), (3,)),
]


def _jax_fans(shape, in_axis, out_axis, batch_axis):
    from jax._src.nn.initializers import _compute_fans  # private: skip if it moves
    return _compute_fans(shape, in_axis, out_axis, batch_axis)


@pytest.mark.parametrize("case", FAN_CASES, ids=str)
def test_compute_fans_matches_jax(case):
    try:
        expected = _jax_fans(*case)
    except ImportError:
        pytest.skip("jax._src.nn.initializers._compute_fans is not available")
    assert pj.compute_fans(*case) == expected
    with pytest.raises(ValueError):
        pj.compute_fans((5,))


def _denominator(fans, mode):
    fan_in, fan_out = fans
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2,
            "fan_geo_avg": math.sqrt(fan_in * fan_out)}[mode]


VS = [(2.0, "fan_in", "truncated_normal"), (1.0, "fan_avg", "uniform"),
      (0.5, "fan_out", "normal"), (3.0, "fan_geo_avg", "uniform")]


@pytest.mark.parametrize("case", FAN_CASES, ids=str)
@pytest.mark.parametrize("vs", VS, ids=str)
def test_variance_scaling_std_and_bounds(vs, case):
    """JAX's formula on JAX's fans (``_compute_fans``, checked above): std and bounds."""
    scale, mode, dist = vs
    shape, in_axis, out_axis, batch_axis = case
    kw = dict(in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    ours = np.asarray(pj.variance_scaling(scale, mode, dist, **kw)(jax.random.key(1), shape),
                      np.float64)
    assert ours.shape == shape
    std = math.sqrt(scale / _denominator(pj.compute_fans(shape, **kw), mode))
    assert ours.std() == pytest.approx(std, rel=5 / math.sqrt(ours.size))
    if dist == "uniform":
        assert 0.98 * math.sqrt(3) * std < np.abs(ours).max() < math.sqrt(3) * std
    elif dist == "truncated_normal":
        assert 0.97 * 2 * std / TN < np.abs(ours).max() <= 2 * std / TN * (1 + 1e-6)


# jax's own initializer compiles per configuration (a tuple in_axis takes ~20 s on CPU), so the
# comparison with its output runs on one configuration per distribution.
@pytest.mark.parametrize("vs, case", list(zip(VS, [FAN_CASES[i] for i in (1, 2, 4, 5)])), ids=str)
def test_variance_scaling_ks_against_jax(vs, case):
    scale, mode, dist = vs
    shape, in_axis, out_axis, batch_axis = case
    kw = dict(in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    ours = np.asarray(pj.variance_scaling(scale, mode, dist, **kw)(jax.random.key(1), shape),
                      np.float64)
    theirs = np.asarray(jinit.variance_scaling(scale, mode, dist, **kw)(jax.random.key(1), shape),
                        np.float64)
    assert ours.shape == theirs.shape == shape
    assert ours.std() == pytest.approx(theirs.std(), rel=8 / math.sqrt(ours.size))
    assert stats.ks_2samp(ours.ravel(), theirs.ravel()).pvalue > 1e-3


NAMED = [("glorot_uniform", (3, 3, 16, 32)), ("glorot_normal", (256, 96)),
         ("lecun_uniform", (256, 96)), ("lecun_normal", (3, 3, 16, 32)),
         ("he_uniform", (3, 3, 16, 32)), ("he_normal", (256, 96)),
         ("xavier_uniform", (64, 300)), ("kaiming_normal", (5, 5, 8, 24))]


@pytest.mark.parametrize("name, shape", NAMED, ids=str)
def test_named_rules_ks_against_jax(name, shape):
    key = jax.random.key(3)
    ours = np.asarray(getattr(pj, name)()(key, shape), np.float64)
    theirs = np.asarray(getattr(jinit, name)()(key, shape), np.float64)
    assert ours.dtype == np.float64 and getattr(pj, name)()(key, shape).dtype == jnp.float32
    assert stats.ks_2samp(ours.ravel(), theirs.ravel()).pvalue > 1e-3
    assert ours.std() == pytest.approx(theirs.std(), rel=0.08)


@pytest.mark.parametrize("ours, theirs", [
    (pj.uniform(), jinit.uniform()), (pj.uniform(0.5), jinit.uniform(0.5)),
    (pj.normal(), jinit.normal()), (pj.normal(0.3), jinit.normal(0.3)),
    (pj.truncated_normal(), jinit.truncated_normal()),
    (pj.truncated_normal(0.5, lower=-1.0, upper=3.0),
     jinit.truncated_normal(0.5, lower=-1.0, upper=3.0)),
    (pj.orthogonal(), jinit.orthogonal()), (pj.orthogonal(2.0, column_axis=0),
                                            jinit.orthogonal(2.0, column_axis=0)),
], ids=["uniform", "uniform.5", "normal", "normal.3", "tn", "tn-asym", "orth", "orth-col0"])
def test_other_initializers_ks_against_jax(ours, theirs):
    shape = (48, 8, 20)
    a = np.asarray(ours(jax.random.key(4), shape), np.float64)
    b = np.asarray(theirs(jax.random.key(4), shape), np.float64)
    assert a.shape == shape
    assert stats.ks_2samp(a.ravel(), b.ravel()).pvalue > 1e-3
    assert a.std() == pytest.approx(b.std(), rel=0.08)


def test_uniform_and_truncated_bounds():
    a = np.asarray(pj.uniform(0.5)(0, (10_000,)))
    assert a.min() >= 0 and a.max() < 0.5
    t = np.asarray(pj.truncated_normal(0.5, lower=-1.0, upper=3.0)(0, (10_000,)))
    assert t.min() >= -0.5 and t.max() <= 1.5


@pytest.mark.parametrize("shape, column_axis", [((64, 32), -1), ((16, 48), -1),
                                                ((3, 3, 8, 16), -1), ((10, 4, 5), 0)], ids=str)
def test_orthogonal_is_orthogonal(shape, column_axis):
    w = np.asarray(pj.orthogonal(1.5, column_axis)(jax.random.key(0), shape), np.float64)
    m = np.moveaxis(w, column_axis, -1).reshape(-1, shape[column_axis])
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, 2.25 * np.eye(len(gram)), atol=1e-5)
    assert np.all(np.asarray(pj.orthogonal()(0, (0, 4))) == 0)
    with pytest.raises(ValueError):
        pj.orthogonal()(0, (5,))


def test_key_types_map_deterministically():
    shape = (64, 32)
    init = pj.glorot_uniform(stream="dense/kernel")
    a = np.asarray(init(jax.random.key(7), shape))
    assert np.array_equal(a, np.asarray(init(jax.random.PRNGKey(7), shape)))
    assert np.array_equal(a, np.asarray(init(7, shape)))
    assert np.array_equal(a, np.asarray(init(np.uint64(7), shape)))
    # the values are philoxinit's: seed 7, the builder's stream, JAX's glorot limit
    limit = math.sqrt(3.0 * 1.0 / ((64 + 32) / 2))
    assert np.array_equal(a, pxi.uniform(shape, low=-limit, high=limit, seed=7, stream="dense/kernel"))
    # key words -> seed = word0 << 32 | word1
    k1, k2 = jax.random.split(jax.random.key(7))
    w = np.asarray(jax.random.key_data(k1))
    assert pj.key_to_seed(k1) == (int(w[0]) << 32) | int(w[1])
    b = np.asarray(init(k1, shape))
    assert not np.array_equal(a, b) and not np.array_equal(b, np.asarray(init(k2, shape)))
    assert np.array_equal(b, np.asarray(init(jax.random.wrap_key_data(jax.random.key_data(k1)),
                                             shape)))
    # stream: default 0; another stream, other values
    assert np.array_equal(np.asarray(pj.glorot_uniform()(7, shape)),
                          pxi.uniform(shape, low=-limit, high=limit, seed=7, stream=0))
    assert not np.array_equal(a, np.asarray(pj.glorot_uniform(stream="x")(7, shape)))
    # other implementations: BLAKE2b of the words, deterministic
    rbg = jax.random.key(7, impl="rbg")
    assert pj.key_to_seed(rbg) == pj.key_to_seed(jax.random.key(7, impl="rbg"))
    assert np.array_equal(np.asarray(init(rbg, shape)),
                          np.asarray(init(jax.random.key(7, impl="rbg"), shape)))
    assert pj.key_to_seed(rbg) != pj.key_to_seed(jax.random.key(8, impl="rbg"))


def test_bad_keys_and_tracing():
    init = pj.normal()
    with pytest.raises(ValueError):
        init(-1, (3,))
    with pytest.raises(TypeError):
        init(True, (3,))
    with pytest.raises(TypeError):
        init(np.zeros(2, np.float32), (3,))
    with pytest.raises(ValueError):
        init(jax.random.split(jax.random.key(0), 3), (3,))
    with pytest.raises(TypeError):
        pj.uniform(dtype=jnp.complex64)(0, (3,))  # JAX refuses complex uniform too
    with pytest.raises(ValueError):
        pj.variance_scaling(1.0, "fan_max", "uniform")
    with pytest.raises(ValueError):
        pj.variance_scaling(1.0, "fan_in", "untruncated_normal")


def test_traced_keys_jit_eval_shape_vmap():
    init = pj.lecun_normal(stream="t")
    key, shape = jax.random.key(5), (16, 8)
    eager = np.asarray(init(key, shape))
    assert np.array_equal(np.asarray(jax.jit(lambda k: init(k, shape))(key)), eager)
    legacy = jax.random.PRNGKey(5)
    assert np.array_equal(np.asarray(jax.jit(lambda k: init(k, shape))(legacy)), eager)
    abstract = jax.eval_shape(lambda k: init(k, shape, jnp.bfloat16), key)
    assert abstract.shape == shape and abstract.dtype == jnp.bfloat16
    keys = jax.random.split(key, 3)
    batched = np.asarray(jax.vmap(lambda k: init(k, shape))(keys))
    assert batched.shape == (3,) + shape
    for i in range(3):
        assert np.array_equal(batched[i], np.asarray(init(keys[i], shape)))
    with pytest.raises(TypeError):
        jax.jit(pj.key_to_seed)(key)


def test_dtypes():
    key = jax.random.key(0)
    init = pj.he_normal()
    ref = np.asarray(init(key, (40, 24)))
    assert ref.dtype == np.float32
    for dt in [jnp.float16, jnp.bfloat16, jnp.float32]:
        assert init(key, (40, 24), dt).dtype == dt
    bf = np.asarray(init(key, (40, 24), jnp.bfloat16))
    assert np.array_equal(bf, ref.astype(jnp.bfloat16))  # float32 rounded, bit for bit
    assert pj.he_normal(dtype=jnp.float16)(key, (4, 4)).dtype == jnp.float16
    if not jax.config.jax_enable_x64:  # float64 is canonicalized to float32, as jnp does
        assert init(key, (4, 4), jnp.float64).dtype == jnp.float32


def test_flax_model():
    nn = pytest.importorskip("flax.linen", reason="the Flax test needs flax")

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Conv(16, (3, 3), padding="VALID", kernel_init=pj.he_normal(), name="conv")(x)
            x = x.reshape((x.shape[0], -1))
            x = nn.Dense(64, kernel_init=pj.glorot_uniform(), name="fc1")(x)
            return nn.Dense(10, kernel_init=pj.orthogonal(), param_dtype=jnp.bfloat16,
                            name="fc2")(nn.relu(x))

    x = jnp.ones((2, 10, 10, 3))
    params = Net().init(jax.random.key(0), x)["params"]
    conv, fc1, fc2 = params["conv"]["kernel"], params["fc1"]["kernel"], params["fc2"]["kernel"]
    assert conv.shape == (3, 3, 3, 16) and conv.dtype == jnp.float32
    assert fc1.shape == (1024, 64) and fc1.dtype == jnp.float32
    assert fc2.shape == (64, 10) and fc2.dtype == jnp.bfloat16
    s = math.sqrt(2 / 27)
    c = np.asarray(conv, np.float64)
    assert np.abs(c).max() <= 2 * s / TN * (1 + 1e-6) and c.std() == pytest.approx(s, rel=0.12)
    limit = math.sqrt(6 / (1024 + 64))
    f = np.asarray(fc1, np.float64)
    assert np.abs(f).max() < limit and f.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)
    o = np.asarray(fc2, np.float64)
    np.testing.assert_allclose(o.T @ o, np.eye(10), atol=0.05)
    # deterministic: same root key -> same params; another root key -> others
    again = Net().init(jax.random.PRNGKey(0), x)["params"]
    assert np.array_equal(np.asarray(again["fc1"]["kernel"]), np.asarray(fc1))
    other = Net().init(jax.random.key(1), x)["params"]
    assert not np.array_equal(np.asarray(other["fc1"]["kernel"]), np.asarray(fc1))
    assert Net().apply({"params": params}, x).shape == (2, 10)  # apply re-checks shapes via eval_shape
    jitted = jax.jit(Net().init)(jax.random.key(0), x)["params"]  # host fill via pure_callback
    assert np.array_equal(np.asarray(jitted["conv"]["kernel"]), c.astype(np.float32))


# ---- issue 15: constants, delta_orthogonal, complex, array parameters ---------------------


def test_zeros_ones_constant_and_flax_builders():
    key = jax.random.key(0)
    assert np.array_equal(np.asarray(pj.zeros(key, (2, 3))), np.zeros((2, 3)))
    assert pj.zeros(key, (2, 3)).dtype == jnp.float32
    assert pj.ones(key, (4,), jnp.float16).dtype == jnp.float16
    assert np.array_equal(np.asarray(pj.ones(key, (4,))), np.ones(4))
    assert np.array_equal(np.asarray(pj.constant(-7.5)(key, (2, 2))), np.full((2, 2), -7.5))
    assert pj.constant(3, jnp.bfloat16)(key, (2,)).dtype == jnp.bfloat16
    assert np.array_equal(np.asarray(pj.constant(jnp.arange(3.0))(key, (2, 3))),
                          np.tile(np.arange(3.0), (2, 1)))
    assert pj.zeros_init() is pj.zeros and pj.ones_init() is pj.ones
    nn = pytest.importorskip("flax.linen", reason="the Flax part needs flax")
    params = nn.Dense(5, kernel_init=pj.ones_init(), bias_init=pj.zeros_init()).init(
        key, jnp.ones((1, 3)))["params"]
    assert np.array_equal(np.asarray(params["kernel"]), np.ones((3, 5)))
    assert np.array_equal(np.asarray(params["bias"]), np.zeros(5))


@pytest.mark.parametrize("shape", [(3, 8, 8), (3, 5, 4, 6), (1, 3, 3, 2, 2)], ids=str)
def test_delta_orthogonal(shape):
    w = np.asarray(pj.delta_orthogonal(2.0, stream="d")(jax.random.key(1), shape), np.float64)
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    m = w[centre]
    np.testing.assert_allclose(m @ m.T, 4.0 * np.eye(shape[-2]), atol=1e-5)
    assert np.abs(w).sum() == pytest.approx(np.abs(m).sum())
    assert np.array_equal(m, np.asarray(pj.orthogonal(2.0, stream="d")(jax.random.key(1),
                                                                        shape[-2:]), np.float64))
    for bad in [(4, 4), (3, 3, 5, 4)]:
        with pytest.raises(ValueError):
            pj.delta_orthogonal()(0, bad)


COMPLEX_CASES = [(pj.normal(0.5), "normal", lambda shape: 0.5),
                 (pj.variance_scaling(2.0, "fan_in", "normal"), "normal",
                  lambda shape: math.sqrt(2.0 / shape[0])),
                 (pj.variance_scaling(1.0, "fan_avg", "uniform"), "uniform",
                  lambda shape: math.sqrt(2.0 / sum(shape))),
                 (pj.he_normal(), "trunc_normal",
                  lambda shape: math.sqrt(2.0 / shape[0]) / 0.95311164380491208)]


@pytest.mark.parametrize("case", range(len(COMPLEX_CASES)))
def test_complex_dtypes_follow_the_contract_and_jax(case):
    init, dist, scale_of = COMPLEX_CASES[case]
    shape = (64, 48)
    z = init(jax.random.key(3), shape, jnp.complex64)
    assert z.dtype == jnp.complex64 and z.shape == shape
    want = pxi._api.complex_(np.empty(shape, np.complex64), dist, scale_of(shape), 2.0,
                             seed=pj.key_to_seed(jax.random.key(3)), stream=0)
    assert np.array_equal(np.asarray(z), want)
    # E|z|^2 as JAX's own complex sampler gives
    jax_init = {0: jinit.normal(0.5), 1: jinit.variance_scaling(2.0, "fan_in", "normal"),
                2: jinit.variance_scaling(1.0, "fan_avg", "uniform"), 3: jinit.he_normal()}[case]
    theirs = np.asarray(jax_init(jax.random.key(3), (256, 48), jnp.complex64))
    ours = np.asarray(init(jax.random.key(3), (256, 48), jnp.complex64))
    assert np.mean(np.abs(ours) ** 2) == pytest.approx(np.mean(np.abs(theirs) ** 2), rel=0.06)
    assert stats.ks_2samp(np.abs(ours).ravel(), np.abs(theirs).ravel()).pvalue > 1e-3
    for bad in [pj.uniform(), pj.truncated_normal(), pj.orthogonal()]:
        with pytest.raises(TypeError):
            bad(0, shape, jnp.complex64)


def test_array_valued_parameters():
    one = jnp.array(1.0, dtype=jnp.float32)
    for ours, plain in [(pj.normal(one, jnp.bfloat16), pj.normal(1.0, jnp.bfloat16)),
                        (pj.uniform(one, jnp.bfloat16), pj.uniform(1.0, jnp.bfloat16)),
                        (pj.truncated_normal(one, jnp.bfloat16),
                         pj.truncated_normal(1.0, jnp.bfloat16))]:
        a = ours(jax.random.key(2), (4, 4))
        assert a.dtype == jnp.bfloat16
        assert np.array_equal(np.asarray(a), np.asarray(plain(jax.random.key(2), (4, 4))))
    assert pj.normal(np.float32(0.5))(0, (3,)).dtype == jnp.float32
    with pytest.raises(ValueError, match="stddev"):
        pj.normal(jnp.ones(3))
    with pytest.raises(TypeError, match="stddev"):
        pj.normal("big")


def test_out_sharding_on_one_device():
    from jax.sharding import NamedSharding, PartitionSpec as P
    mesh = jax.make_mesh((1,), ("x",))
    key = jax.random.key(4)
    for init in [pj.glorot_uniform(), pj.normal(0.1), pj.orthogonal(), pj.constant(2.0)]:
        plain = np.asarray(init(key, (8, 4)))
        sharded = init(key, (8, 4), out_sharding=NamedSharding(mesh, P("x")))
        assert isinstance(sharded.sharding, NamedSharding)
        assert np.array_equal(np.asarray(sharded), plain)
    with jax.set_mesh(mesh):
        s = pj.he_normal()(key, (8, 4), out_sharding=P("x", None))
    assert np.array_equal(np.asarray(s), np.asarray(pj.he_normal()(key, (8, 4))))
    with pytest.raises(ValueError, match="mesh"):
        pj.he_normal()(key, (8, 4), out_sharding=P("x"))
    with pytest.raises(TypeError, match="out_sharding"):
        pj.he_normal()(key, (8, 4), out_sharding="x")
