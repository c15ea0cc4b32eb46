"""The facade's fast paths (dtype caches, int/str stream shortcuts, common-window checks) give
the same values and the same errors as the full checks, before and after a dtype or a stream
name has been seen."""
import enum
import hashlib

import numpy as np
import pytest

import philoxinit as pxi
from philoxinit import _streams
from philoxinit._checks import _GRIDS, check_dist_params


def _blake(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8")).digest()[:8], "little")


def test_read_only_and_foreign_byte_order_refused_after_the_dtype_was_accepted():
    pxi.uniform_(np.empty(4, np.float32))  # float32 is now in the accepted-dtype cache
    ro = np.zeros(4, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        pxi.uniform_(ro)
    assert (ro == 0).all()
    swapped = np.zeros(4, np.dtype(np.float32).newbyteorder())
    with pytest.raises(TypeError, match="byte order"):
        pxi.normal_(swapped)
    with pytest.raises(TypeError, match="dtype float16, float32"):
        pxi.uniform_(np.zeros(4, np.int32))


def test_str_streams_match_blake2b_through_the_cache_and_its_clearing(monkeypatch):
    monkeypatch.setattr(_streams, "_STR_STREAMS", {})
    monkeypatch.setattr(_streams, "_STR_STREAMS_MAX", 3)
    names = [f"layers.{i}.weight" for i in range(10)] + ["", "é", "layers.0.weight"]
    for _ in range(2):  # the second pass hits the cache for the names still in it
        for name in names:
            assert pxi.stream_id(name) == _blake(name), name
    assert len(_streams._STR_STREAMS) <= 3

    class Name(str):
        pass
    assert pxi.stream_id(Name("layers.3.weight")) == _blake("layers.3.weight")
    with pytest.raises(ValueError, match="UTF-8"):
        pxi.stream_id("\ud800")


class Seed(enum.IntEnum):
    A = 5


@pytest.mark.parametrize("value", [np.uint64(5), np.int32(5), Seed.A])
def test_int_like_seed_stream_offset_equal_plain_ints(value):
    want = pxi.uniform((64,), seed=5, stream=5, offset=5)
    assert pxi.uniform((64,), seed=value, stream=value, offset=value).tobytes() == want.tobytes()


@pytest.mark.parametrize("bad, error, words", [
    (dict(seed=True), TypeError, "seed must be an int"),
    (dict(seed=2**64), ValueError, "seed must be in"),
    (dict(seed=-1), ValueError, "seed must be in"),
    (dict(stream=False), TypeError, "stream must be an int"),
    (dict(stream=2**64), ValueError, "stream must be in"),
    (dict(offset=-1), ValueError, "offset must be >= 0"),
    (dict(offset=2**62 - 3), ValueError, "offset \\+ size"),
    (dict(offset=1.0), TypeError, "offset must be an int"),
])
def test_bad_ints_still_refused(bad, error, words):
    with pytest.raises(error, match=words):
        pxi.uniform_(np.empty(4, np.float32), **bad)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_trunc_windows_holding_zero_accepted_the_others_fully_checked(dtype):
    # The shortcut accepts [a, b] holding 0 within the dtype's range (every full check passes
    # for those); every other window still meets the full checks and their messages.
    pytest.importorskip("ml_dtypes", reason="bfloat16 outputs need ml_dtypes")
    grid = _GRIDS[dtype]
    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b = -float(rng.random()) * grid.max, float(rng.random()) * grid.max
        std = float(rng.random()) * min(1.0, grid.max) + 1e-3
        assert check_dist_params("trunc_normal", (0.0, std, a, b), dtype) == (0.0, std, a, b)
    with pytest.raises(ValueError, match="no float16 value"):
        check_dist_params("trunc_normal", (0.0, 1.0, 1.0001, 1.0002), "float16")
    with pytest.raises(ValueError, match="beyond the"):
        check_dist_params("trunc_normal", (0.0, grid.max / 2, -1.0, 2.0 * grid.max), dtype)
    assert check_dist_params("trunc_normal", (0.0, 1.0, -np.inf, np.inf), dtype)[2:] == (-np.inf, np.inf)
    assert check_dist_params("trunc_normal", (0.0, 1.0, 0.5, 1.5), dtype) == (0.0, 1.0, 0.5, 1.5)
    with pytest.raises(ValueError, match="12 standard deviations"):
        check_dist_params("trunc_normal", (0.0, 1.0, 13.0, 14.0), dtype)


# ---- the plain-call fast path of _fill and its accepted-parameter cache ------------------------

def test_bad_params_refused_after_equal_good_ones_were_accepted():
    out = np.zeros(8, np.float32)
    pxi.uniform_(np.empty(8, np.float32), 1.0, 2.0)  # (1.0, 2.0) is now in the cache
    pxi.normal_(np.empty(8, np.float32), 0.0, 1.0)
    for call, error, words in [
        (lambda: pxi.uniform_(out, True, 2.0), TypeError, "low must be a real number"),
        (lambda: pxi.uniform_(out, 1.0, np.bool_(True)), TypeError, "high must be a real number"),
        (lambda: pxi.uniform_(out, 2.0, 1.0), ValueError, "low must be <= high"),
        (lambda: pxi.uniform_(out, float("nan"), 2.0), ValueError, "low must be finite"),
        (lambda: pxi.normal_(out, 0.0, -1.0), ValueError, "std must be >= 0"),
        (lambda: pxi.normal_(out, 0.0, 1e38), ValueError, "std is too large"),
        (lambda: pxi.trunc_normal_(out, 0.0, 1.0, 2.0, 2.0), ValueError, "a must be < b"),
        (lambda: pxi.uniform_(out, 1.0, 2.0, offset=0.0), TypeError, "offset must be an int"),
        (lambda: pxi.uniform_(out, 1.0, 2.0, seed=-1), ValueError, "seed must be in"),
        (lambda: pxi.uniform_(out, 1.0, 2.0, stream=1.5), TypeError, "stream"),
    ]:
        with pytest.raises(error, match=words):
            call()
        assert (out == 0).all()
    # float16 has its own range: the cache is per dtype
    pxi.normal_(np.empty(8, np.float32), 0.0, 2e4)
    with pytest.raises(ValueError, match="too large"):
        pxi.normal_(np.zeros(8, np.float16), 0.0, 2e4)


def _draw_case(rng):
    dist = ["uniform", "normal", "trunc_normal"][rng.integers(3)]
    scale = float(10.0 ** rng.uniform(-4, 1))
    if dist == "uniform":
        low = float(rng.uniform(-1, 1)) * scale
        params = (low, low + scale)
    elif dist == "normal":
        params = (float(rng.uniform(-1, 1)), scale)
    else:
        params = (0.0, scale, -2.0 * scale, float(rng.uniform(0.5, 3)) * scale)
    shape = tuple(int(d) for d in rng.integers(1, 40, size=rng.integers(1, 4)))
    dtype = [np.float32, np.float64, np.float16][rng.integers(3)]
    return dist, params, shape, dtype, int(rng.integers(0, 2**63)), int(rng.integers(0, 2**40))


def test_fast_path_equals_the_full_path_and_the_reference():
    from philoxinit import reference
    from test_api import compare, fill
    rng = np.random.default_rng(2026_12_02)
    for _ in range(60):
        dist, params, shape, dtype, seed, stream = _draw_case(rng)
        fast = fill(pxi, dist, np.empty(shape, dtype), params, seed=seed, stream=stream)
        # threads=1 and a Fortran-ordered output both take the full path
        full = fill(pxi, dist, np.empty(shape, dtype), params, seed=seed, stream=stream,
                    threads=1)
        fortran = fill(pxi, dist, np.empty(shape, dtype, order="F"), params, seed=seed,
                       stream=stream)
        assert fast.tobytes() == full.tobytes() == np.ascontiguousarray(fortran).tobytes()
        want = fill(reference, dist, np.empty(shape, dtype), params, seed=seed, stream=stream)
        compare(dist, fast, want, params, f"{dist}{params} {shape} {np.dtype(dtype)}")


def test_signed_zero_params_pass_through_the_cache_unchanged():
    from philoxinit import reference
    plus = pxi.normal_(np.empty(256, np.float32), 0.0, 0.0, seed=1)  # caches (0.0, 0.0)
    minus = pxi.normal_(np.empty(256, np.float32), -0.0, 0.0, seed=1)  # equal key, other bits
    want = reference.normal_(np.empty(256, np.float32), -0.0, 0.0, seed=1)
    assert not np.signbit(plus).any()
    assert np.signbit(minus).any()
    assert minus.tobytes() == want.tobytes()


def test_accepted_params_cache_stays_bounded(monkeypatch):
    from philoxinit import _checks
    monkeypatch.setattr(_checks, "_ACCEPTED_PARAMS", set())
    monkeypatch.setattr(_checks, "_ACCEPTED_PARAMS_MAX", 3)
    out = np.empty(16, np.float32)
    for k in range(10):
        std = 0.01 * (k + 1)
        got = pxi.normal_(out, 0.0, std, seed=4, stream=k).copy()
        assert got.tobytes() == pxi.normal_(np.empty(16, np.float32), 0.0, std, seed=4,
                                            stream=k, threads=1).tobytes()
    assert len(_checks._ACCEPTED_PARAMS) <= 3


def test_small_fills_back_to_back_equal_single_thread_fills():
    # Back to back, fills under one chunk per thread run on the awake pool's two threads
    # (cpp/src/fill.cpp); every one must still be bit for bit its single-thread fill.
    rng = np.random.default_rng(17)
    sizes = [int(n) for n in rng.integers(1, 3 * 2**15, size=200)] + [2**14] * 50
    outs = [np.empty(n, np.float32) for n in sizes]
    for k, out in enumerate(outs):
        [pxi.uniform_, pxi.normal_][k % 2](out, seed=11, stream=k)
    for k, out in enumerate(outs):
        alone = [pxi.uniform_, pxi.normal_][k % 2](np.empty_like(out), seed=11, stream=k,
                                                     threads=1)
        assert out.tobytes() == alone.tobytes(), (k, out.size)
