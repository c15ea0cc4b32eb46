"""Hardening (issue "Hardening"): huge element indices, Ctrl-C, threads, memory, fuzzing.

* Huge indices: words and uniform values at element offsets past 2**31, 2**32 ... 2**62 - n
  against an independent pure-Python Philox4x32-10 (checked on the Random123 KAT vectors), and,
  opt-in (PHILOXINIT_HUGE=1), a 5*10**9-element float16 np.memmap.
* Interrupts: SIGINT to a child in a multi-second fill raises KeyboardInterrupt within 0.5 s;
  every 65536-element chunk then holds either its final values or its old contents.
* Concurrency: fills from 8 Python threads give the sequential bits; the GIL is released.
* Memory: a fill of a contiguous 2 GiB buffer allocates nothing in proportion to it.
* Fuzzing: any argument either gives the reference's values or raises TypeError/ValueError.
"""
from __future__ import annotations

import concurrent.futures
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import exact_arith
import philoxinit as pxi
from philoxinit import reference as ref
from philoxinit import rules

try:
    import ml_dtypes
except ImportError:  # pragma: no cover - depends on the environment
    ml_dtypes = None

DATA = Path(__file__).parent / "data"
CHUNK = 1 << 16  # the core's interrupt/threading unit (cpp/src/fill.cpp kChunk)
MASK32 = 0xFFFFFFFF
OFFSET_LIMIT = 1 << 62
U64 = 1 << 64

# ----------------------------------------------------------------- independent Philox4x32-10

_M0, _M1, _W0, _W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85


def philox4x32(ctr, key, rounds=10):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for _ in range(rounds):
        p0, p1 = _M0 * c0, _M1 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & MASK32
        k0, k1 = (k0 + _W0) & MASK32, (k1 + _W1) & MASK32
    return c0, c1, c2, c3


def py_words(seed: int, stream: int, first: int, n: int) -> list:
    """Words first .. first+n-1 of (seed, stream) (docs/stream.md §2), Python ints only."""
    key = (seed & MASK32, seed >> 32)
    out, cache = [], {}
    for w in range(first, first + n):
        b = w >> 2
        if b not in cache:
            cache[b] = philox4x32((b & MASK32, b >> 32, stream & MASK32, stream >> 32), key)
        out.append(cache[b][w & 3])
    return out


def _fma(a: float, b: float, c: float) -> float:
    """Correctly rounded float64 fma (math.fma is Python 3.13+)."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def py_uniform64(w_lo: int, w_hi: int, low: float, high: float) -> float:
    u = ((w_lo | (w_hi << 32)) >> 11) * 2.0**-53
    return min(_fma(u, high - low, low), math.nextafter(high, -math.inf))


def test_python_philox_matches_kat():
    lines = [ln.split() for ln in (DATA / "philox4x32_kat.txt").read_text().splitlines()
             if ln.startswith("philox4x32 ")]
    assert lines
    for f in lines:
        rounds, nums = int(f[1]), [int(x, 16) for x in f[2:]]
        assert philox4x32(tuple(nums[:4]), tuple(nums[4:6]), rounds) == tuple(nums[6:10]), f


HUGE_OFFSETS = [2**31 - 5, 2**31 + 3, 2**32 - 6, 2**32 + 1, 2**33 - 3, 2**34 - 7, 2**34 + 5,
                2**35 + 11, 2**40 + 1, 2**48 - 2, 2**53 + 3, 2**60 + 1, 2**61 - 9]
SEED_STREAMS = [(0, 0), (2**64 - 1, 2**64 - 1), (0x123456789ABCDEF, "layers.7.attn.q_proj.weight")]


@pytest.mark.parametrize("seed,stream", SEED_STREAMS)
@pytest.mark.parametrize("n", [1, 13, 70])
def test_huge_offsets_raw_and_uniform(seed, stream, n):
    sid = pxi.stream_id(stream)
    rng = np.random.default_rng(seed % 1000 + n)
    sampled = [int(k) for k in rng.integers(2**31, OFFSET_LIMIT - n, 6, dtype=np.int64)]
    for k in HUGE_OFFSETS + sampled + [OFFSET_LIMIT - n]:
        words = py_words(seed, sid, k, n)
        got = pxi.random_raw(n, seed=seed, stream=stream, offset=k)
        assert got.tolist() == words, ("random_raw", k)
        f32 = pxi.uniform_(np.empty(n, np.float32), seed=seed, stream=stream, offset=k)
        assert f32.tolist() == [float(exact_arith.uniform32(w, 0.0, 1.0)) for w in words], ("f32", k)
        f32b = pxi.uniform_(np.empty(n, np.float32), -3.0, 0.7, seed=seed, stream=stream, offset=k)
        want = np.array([exact_arith.uniform32(w, -3.0, 0.7) for w in words], np.float32)
        assert f32b.view(np.uint32).tolist() == want.view(np.uint32).tolist(), ("f32 [-3, .7)", k)
        # float64 uses words 2(k+i), 2(k+i)+1: word indices up to 2**63.
        w64 = py_words(seed, sid, 2 * k, 2 * n)
        f64 = pxi.uniform_(np.empty(n, np.float64), -2.5, 1e3, seed=seed, stream=stream, offset=k)
        want64 = [py_uniform64(w64[2 * i], w64[2 * i + 1], -2.5, 1e3) for i in range(n)]
        assert f64.tolist() == want64, ("f64", k)


def test_huge_offsets_past_limit_refused():
    for call in (lambda: pxi.random_raw(2, offset=OFFSET_LIMIT - 1),
                 lambda: pxi.uniform_(np.empty(2, np.float64), offset=OFFSET_LIMIT - 1),
                 lambda: pxi.uniform_(np.empty(1, np.float32), offset=OFFSET_LIMIT)):
        with pytest.raises(ValueError):
            call()
    assert pxi.random_raw(0, offset=OFFSET_LIMIT).size == 0


def test_huge_global_index_shards():
    """A shard of a tensor with more than 2**62 / 2 elements: runs start beyond 2**32."""
    g = (2**40, 3, 8)
    for index, shape in [((slice(2**39, 2**39 + 2), slice(1, 3), slice(5, 8)), (2, 2, 3)),
                         ((slice(2**40 - 3, None),), (3, 3, 8)),
                         ((slice(-2, None), slice(0, 1), slice(2, 4)), (2, 1, 2))]:
        out = pxi.uniform_(np.empty(shape, np.float32), seed=9, stream=4, global_shape=g,
                           index=index)
        idx = np.indices(shape).reshape(len(shape), -1)
        starts = [s.indices(d)[0] for s, d in zip(index + (slice(None),) * 3, g)]
        flat = [sum((starts[d] + int(idx[d, e])) * math.prod(g[d + 1:]) for d in range(3))
                for e in range(idx.shape[1])]
        want = [float(exact_arith.uniform32(py_words(9, 4, f, 1)[0], 0.0, 1.0)) for f in flat]
        assert out.reshape(-1).tolist() == want, index


def _huge_skip_reason():
    if os.environ.get("PHILOXINIT_HUGE") != "1":
        return "opt-in: set PHILOXINIT_HUGE=1 to fill a 5*10**9-element float16 memmap (~10 GB disk)"
    return None


@pytest.mark.skipif(_huge_skip_reason() is not None, reason=str(_huge_skip_reason()))
def test_huge_float16_memmap(tmp_path):
    n = 5 * 10**9
    need = 2 * n + (1 << 30)
    free = shutil.disk_usage(tmp_path).free
    if free < need:
        pytest.skip(f"needs ~{need / 1e9:.0f} GB free in {tmp_path}, has {free / 1e9:.1f} GB")
    path = tmp_path / "huge.f16"
    with open(path, "wb") as f:  # sparse: only the fill writes pages
        f.truncate(2 * n)
    mm = np.memmap(path, dtype=np.float16, mode="r+", shape=(n,))
    pxi.uniform_(mm, seed=77, stream="huge")
    rng = np.random.default_rng(0)
    positions = sorted(set([0, n - 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1,
                            4 * 10**9 + 17] + rng.integers(0, n, 200).tolist()))
    assert positions[-1] < n
    for p in positions:
        w = int(pxi.random_raw(1, seed=77, stream="huge", offset=p)[0])
        want = np.float16(np.float32((w >> 8) * 2.0**-24))
        assert mm[p].view(np.uint16) == want.view(np.uint16), p
    del mm


# ----------------------------------------------------------------------------- interrupts

_INTERRUPT_CHILD = r"""
import sys, time
import numpy as np
import philoxinit as pxi
threads = None if sys.argv[1] == "None" else int(sys.argv[1])
CHUNK = 1 << 16
probe = np.empty(1 << 22, np.float64)
t = time.perf_counter(); pxi.normal_(probe, seed=1, threads=threads)
rate = probe.size / (time.perf_counter() - t)
# >= ~2.5 s of work (the signal comes after ~1 s), at most 4 GiB
n = int(min(max(rate * 6, 1 << 24), 1 << 29)) // CHUNK * CHUNK + 12345
buf = np.full(n, np.nan, np.float64)
print("ready", n, flush=True)
t_start = time.monotonic()
try:
    pxi.normal_(buf, 0.5, 2.0, seed=42, stream="interrupt", threads=threads)
except KeyboardInterrupt:
    caught = time.monotonic()
    print("caught", repr(caught), repr(caught - t_start), flush=True)
else:
    print("completed", time.monotonic() - t_start, flush=True)
    sys.exit(3)
nchunks = -(-n // CHUNK)
pad = np.full(nchunks * CHUNK, np.nan); pad[:n] = buf
nan = np.isnan(pad).reshape(nchunks, CHUNK)
nan[-1, n - (nchunks - 1) * CHUNK:] = nan[-1, 0]  # the last chunk's padding follows its data
full, untouched = ~nan.any(1), nan.all(1)
assert (full | untouched).all(), np.flatnonzero(~(full | untouched))[:10]
assert full.any() and untouched.any(), (full.sum(), untouched.sum())
# every written chunk equals the complete fill's chunk, bit for bit
done = np.flatnonzero(full)
breaks = np.flatnonzero(np.diff(done) != 1)
for run in np.split(done, breaks + 1):
    a, b = int(run[0]) * CHUNK, min(n, (int(run[-1]) + 1) * CHUNK)
    want = pxi.normal_(np.empty(b - a), 0.5, 2.0, seed=42, stream="interrupt", offset=a)
    assert np.array_equal(buf[a:b].view(np.uint64), want.view(np.uint64)), (a, b)
print("chunks", int(full.sum()), int(untouched.sum()), len(breaks) + 1, flush=True)
small = pxi.uniform(1000, seed=3)
assert np.array_equal(small, pxi.reference.uniform(1000, seed=3))
print("OK", flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("threads", [None, 1])
def test_sigint_interrupts_fill_quickly(threads):
    proc = subprocess.Popen([sys.executable, "-c", _INTERRUPT_CHILD, str(threads)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("ready"), (line, proc.stderr.read())
        time.sleep(1.0)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, (proc.returncode, out, err)
    lines = dict(ln.split(" ", 1) for ln in out.splitlines() if " " in ln)
    caught_at = float(lines["caught"].split()[0])
    latency = caught_at - sent
    print(f"threads={threads}: n={line.split()[1]} latency={latency * 1e3:.1f} ms; "
          f"chunks written/untouched/runs: {lines['chunks']}")
    assert latency < 0.5, latency
    assert out.rstrip().endswith("OK"), out


# ---------------------------------------------------------------------------- concurrency

_CONFIGS = [  # (seed, stream, dist, dtype, size, threads)
    (0, 0, "uniform", "float32", 1 << 20, None),
    (1, "a.weight", "normal", "float32", 3 << 19, 1),
    (2**64 - 1, 7, "trunc_normal", "float64", 1 << 19, 2),
    (5, "b", "uniform", "float16", 1 << 20, None),
    (6, 2**40, "normal", "float64", 1 << 19, 1),
    (7, "ünï", "trunc_normal", "float32", 1 << 20, 3),
    (8, 0, "normal", "bfloat16", 1 << 20, None),
    (2**33, 3, "uniform", "float64", 1 << 19, 1),
]
_DIST_ARGS = {"uniform": (-0.5, 2.0), "normal": (0.25, 3.0), "trunc_normal": (0.0, 1.0, -1.5, 2.5)}


def _run_config(cfg, repeats=1):
    seed, stream, dist, dtype, size, threads = cfg
    dt = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    out = None
    for _ in range(repeats):
        out = np.empty(size, dt)
        getattr(pxi, dist + "_")(out, *_DIST_ARGS[dist], seed=seed, stream=stream,
                                 offset=seed % 1000, threads=threads)
    return out


def test_threads_concurrent_fills_match_sequential():
    configs = [c for c in _CONFIGS if c[3] != "bfloat16" or ml_dtypes is not None]
    sequential = [_run_config(c) for c in configs]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for _ in range(3):
            concurrent_ = list(pool.map(lambda c: _run_config(c, repeats=2), configs))
            for c, a, b in zip(configs, sequential, concurrent_):
                assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), c


def _count_for(stop) -> int:
    count = 0
    while not stop():
        count += 1
    return count


@pytest.mark.parametrize("fill_on", ["main", "worker"])
def test_fill_releases_gil(fill_on):
    buf = np.empty(1 << 26, np.float32)
    pxi.normal_(buf, threads=1)  # touch the pages
    # how long the fill takes, then a pure-Python counter's solo rate over that long
    t = time.perf_counter()
    pxi.normal_(buf, seed=1, threads=1)
    duration = max(time.perf_counter() - t, 0.05)
    end = time.perf_counter() + duration
    solo = _count_for(lambda: time.perf_counter() >= end) / duration

    done = threading.Event()
    result = {}

    def fill():
        t0 = time.perf_counter()
        pxi.normal_(buf, seed=2, threads=1)
        result["fill_s"] = time.perf_counter() - t0
        done.set()

    def count():
        t0 = time.perf_counter()
        result["n"] = _count_for(done.is_set)
        result["count_s"] = time.perf_counter() - t0

    other = threading.Thread(target=count if fill_on == "main" else fill)
    other.start()
    (fill if fill_on == "main" else count)()
    other.join()
    rate = result["n"] / result["count_s"]
    print(f"fill on {fill_on}: {result['fill_s']:.2f} s; counter {rate / solo:.0%} of solo rate")
    assert rate > 0.3 * solo, (rate, solo, result)


# ---------------------------------------------------------------------------------- memory

_MEMORY_CHILD = r"""
import resource, sys
import numpy as np
import philoxinit as pxi
try:
    import ml_dtypes
except ImportError:
    ml_dtypes = None
GIB = 1 << 30
import time
T0 = time.perf_counter()
def status(field):  # /proc/self/status, in bytes
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
def peak():
    # VmHWM: the peak RSS of this process image. ru_maxrss (KiB on Linux) is the same unless
    # the parent's RSS was larger: Linux carries it over fork + exec into ru_maxrss.
    return max(status("VmHWM"), 0)
pxi.normal_(np.empty(1 << 16, np.float32)); pxi.reference.uniform(4)  # warm up lazily-made state
base = status("VmRSS")
print("base", base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, flush=True)
DISTS = [("uniform_", ()), ("normal_", (0.0, 0.02)), ("trunc_normal_", (0.0, 1.0, -2.0, 2.0)),
         ("constant_", (0.5,))]
RULES = ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
         "glorot_uniform_", "glorot_normal_", "he_uniform_", "he_normal_", "lecun_uniform_",
         "lecun_normal_", "variance_scaling_", "zeros_", "ones_"]
raw = np.empty(2 * GIB, np.uint8)  # one 2 GiB buffer, viewed as each dtype in turn
for dtype, full_dists in [("float32", DISTS[:3]), ("float16", DISTS[1:2]), ("float64", DISTS[:1])]:
    dt = np.dtype(dtype)
    buf = raw.view(dt)
    # whole-buffer fills (the first touches every page) ...
    for name, args in full_dists:
        getattr(pxi, name)(buf, *args, seed=1)
        print(dtype, name, "2GiB", peak() - base, round(time.perf_counter() - T0, 1), flush=True)
    # ... then every dist and rule on a 128 MiB (2-d) view: a temporary of that size would
    # lift the peak past the 64 MiB slack.
    view = buf[: (GIB // 8) // dt.itemsize].reshape(1024, -1)
    for name, args in DISTS:
        getattr(pxi, name)(view, *args, **({} if name == "constant_" else {"seed": 2}))
    for name in RULES:
        getattr(pxi, name)(view, **({} if name in ("zeros_", "ones_") else {"seed": 3}))
    print(dtype, "all", "128MiB", peak() - base, round(time.perf_counter() - T0, 1), flush=True)
    del buf, view
print("done", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, flush=True)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units (KiB) as on Linux")
def test_fill_peak_rss_2gib():
    res = subprocess.run([sys.executable, "-c", _MEMORY_CHILD], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    limit = 2 * (1 << 30) + 64 * (1 << 20)
    rows = [ln.split() for ln in res.stdout.splitlines() if ln and ln.split()[0] not in ("base", "done")]
    assert len(rows) == 8 and "done" in res.stdout, res.stdout
    for dtype, name, size, extra, _ in rows:
        print(f"{dtype} {name} ({size}): peak RSS - baseline = {int(extra) / 2**20:.1f} MiB")
        assert int(extra) <= limit, (dtype, name, int(extra) / 2**20)


# --------------------------------------------------------------------------------- fuzzing

_FORMAT = {"float16": (10, -14), "bfloat16": (7, -126), "float32": (23, -126),
           "float64": (52, -1022)}


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64, 16: np.uint64}[a.dtype.itemsize])


def _ulp(x, name):
    mant, emin = _FORMAT[name]
    ax = np.abs(np.asarray(x, dtype=np.float64))
    _, e = np.frexp(ax)
    e = np.where(ax == 0, emin, np.maximum(e - 1, emin))
    return np.ldexp(1.0, (e - mant).astype(np.int64))


def assert_matches_reference(fast, want, dist, params):
    """Bits for uniform/constant, the docs/stream.md §5 bound (as tests/test_api.py) otherwise."""
    assert fast.shape == want.shape and fast.dtype == want.dtype
    fb, wb = _bits(fast).reshape(-1), _bits(want).reshape(-1)
    diff = fb != wb
    if not diff.any():
        return
    assert dist in ("normal", "trunc_normal"), (dist, params, np.flatnonzero(diff)[:5])
    name = fast.dtype.name
    mean, std = params[0], params[1]
    f = np.ascontiguousarray(fast).reshape(-1)[diff].astype(np.float64)
    r = np.ascontiguousarray(want).reshape(-1)[diff].astype(np.float64)
    if name in ("float16", "bfloat16"):
        # both round a float32 to 16 bits: at the top of the range one side may round to inf
        big = float(np.finfo(fast.dtype).max)
        edge = (np.isinf(f) & (np.abs(r) == big) | np.isinf(r) & (np.abs(f) == big)) \
            & (np.sign(f) == np.sign(r))
        f, r = f[~edge], r[~edge]
    assert np.isfinite(f).all() and np.isfinite(r).all(), (f, r)
    z = np.abs(r - mean) / std if std > 0 else np.zeros_like(r)
    if name == "float64":
        tol = 1e-14 * std * np.maximum(1.0, z) + 2 * _ulp(r, "float64")
    else:
        tol = 2e-6 * std * np.maximum(1.0, z) + 2 * _ulp(r, "float32")
        if name in ("float16", "bfloat16"):
            tol = tol + np.maximum(_ulp(f, name), _ulp(r, name))
    bad = np.abs(f - r) > tol
    assert not bad.any(), (dist, params, name, f[bad][:4], r[bad][:4])


_OUT_DTYPES = ["float16", "float32", "float64", "bfloat16", "int32", "complex64", "bool", ">f4",
               ">f8", "uint16"]
_reals = st.one_of(
    st.floats(-10, 10), st.floats(-1e4, 1e4), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.02, 1e-45, 5e-324, 3.4e38, 3.5e38, -3.5e38, 65504.0,
                     1e300, -1e300, 1.7e308, math.inf, -math.inf, math.nan]),
    st.integers(-5, 5), st.sampled_from([2**70, True, np.float32(0.5), np.int64(3), "1", None, 1j]))
_seeds = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 2**64 - 1, 2**32]),
                   st.sampled_from([-1, 2**64, 2**100, 1.0, "0", None, True, np.uint64(2**63)]))
_streams = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([-1, 2**64, -2**70, 0.5, None, b"x"]),
                     st.text(max_size=12), st.sampled_from(["\ud800", "\u0000", "층.weight", "🦊" * 30]))
_threads = st.one_of(st.sampled_from([None, 1, 2, 3, 8]),
                     st.sampled_from([0, -1, 4096, 4097, 2**40, 1.5, True, "2", np.int32(2)]))


@st.composite
def _offsets(draw, size):
    top = OFFSET_LIMIT - size
    return draw(st.one_of(st.integers(0, 100), st.integers(0, 2**40),
                          st.integers(max(0, top - 50), top + 3),
                          st.sampled_from([-1, 2**64, 1.0, None, np.int64(5), True])))


@st.composite
def _shard(draw, shape):
    """(global_shape, index): often consistent with ``shape``, sometimes not."""
    kind = draw(st.sampled_from(["none", "none", "good", "good", "good", "good", "random", "bad"]))
    if kind == "none":
        return None, None
    if kind == "bad":
        return draw(st.sampled_from([(None, (slice(0, 1),)), ((4, -1), None), ((2.0, 3), None),
                                     ((4, 4), [slice(0, 1)]), ((4, 4), (slice(0, 2), 1)),
                                     ("ab", None), (((1 << 62), 4), None)]))
    if kind == "random":
        g = tuple(draw(st.lists(st.integers(0, 6), min_size=0, max_size=3)))
        idx = tuple(slice(draw(st.one_of(st.none(), st.integers(-8, 8))),
                          draw(st.one_of(st.none(), st.integers(-8, 8))),
                          draw(st.sampled_from([None, 1, 2, -1, -2])))
                    for _ in range(draw(st.integers(0, len(g) + 1))))
        return g, idx
    g, idx = [], []
    for d in shape:
        extra = draw(st.integers(0, 5))
        start = draw(st.integers(0, extra))
        g.append(d + extra)
        neg = draw(st.booleans()) and d + extra > 0
        s = start - (d + extra) if neg else start
        stop = None if start + d == d + extra and draw(st.booleans()) else (
            (start + d) - (d + extra) if neg and start + d < d + extra else start + d)
        idx.append(slice(s, stop, draw(st.sampled_from([None, 1]))))
    return tuple(g), tuple(idx)


_FUNCS = ["uniform_", "normal_", "trunc_normal_", "constant_", "random_raw", "uniform", "normal",
          "variance_scaling_", "xavier_normal_", "kaiming_uniform_"]


def _call(mod, name, out, kwargs):
    fn = getattr(mod, name)
    if name == "random_raw":
        return fn(**kwargs)
    if name in ("uniform", "normal"):
        return fn(**kwargs)
    return fn(out, **kwargs)


_valid_reals = st.one_of(st.floats(-10, 10), st.sampled_from([0.0, 1.0, -1.0, 0.02, 1e-30]),
                        st.floats(-1e4, 1e4), st.integers(-5, 5))
_pos_reals = st.one_of(st.floats(1e-3, 100), st.sampled_from([1.0, 0.02, 2.0, 1e-6]), st.integers(1, 5))


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(data=st.data())
def test_fuzz_values_or_type_value_error(data):
    draw = data.draw
    wild_rate = draw(st.sampled_from([0, 0, 8, 4, 1]))  # 0: all valid; k: each argument wild w.p. 1/k

    def pick(valid, wild):
        return draw(wild if wild_rate and draw(st.integers(1, wild_rate)) == 1 else valid)

    name = draw(st.sampled_from(_FUNCS))
    shape = tuple(draw(st.lists(st.integers(0, 9), max_size=3)))
    if draw(st.integers(0, 9)) == 0:
        shape = (draw(st.integers(0, 5000)),)
    dtype_name = pick(st.sampled_from(_OUT_DTYPES[:4]), st.sampled_from(_OUT_DTYPES))
    if dtype_name == "bfloat16":
        dtype = ml_dtypes.bfloat16 if ml_dtypes is not None else "float32"
    else:
        dtype = dtype_name
    layout = pick(st.sampled_from(["c", "c", "noncontig"]), st.sampled_from(["readonly", "list"]))
    out = np.full(shape, 7, dtype) if np.dtype(dtype).kind != "b" else np.zeros(shape, dtype)
    if layout == "noncontig" and out.ndim:
        out = np.full(shape[:-1] + (2 * shape[-1],), 7, dtype)[..., ::2]
    elif layout == "readonly":
        out.flags.writeable = False
    elif layout == "list":
        out = out.tolist()
    size = int(np.prod(shape, dtype=np.int64))
    top = OFFSET_LIMIT - size
    kwargs = {"seed": pick(st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 2**64 - 1])), _seeds),
              "stream": pick(st.one_of(st.integers(0, 2**64 - 1), st.text(max_size=12),
                                       st.sampled_from(["층.weight", "🦊" * 30, "\u0000"])), _streams),
              "offset": pick(st.one_of(st.integers(0, 100), st.integers(0, 2**40),
                                       st.integers(max(0, top - 50), top)), _offsets(size)),
              "threads": pick(st.sampled_from([None, 1, 2, 3, 8]), _threads)}
    dist, params = None, ()
    if name in ("uniform_", "uniform"):
        lo, hi = sorted([draw(_valid_reals), draw(_valid_reals)])
        dist, params = "uniform", (pick(st.just(lo), _reals), pick(st.just(hi), _reals))
        kwargs.update(low=params[0], high=params[1])
    elif name in ("normal_", "normal"):
        dist, params = "normal", (pick(_valid_reals, _reals),
                                  pick(st.one_of(_pos_reals, st.just(0.0)), _reals))
        kwargs.update(mean=params[0], std=params[1])
    elif name == "trunc_normal_":
        m, sd = pick(_valid_reals, _reals), pick(_pos_reals, _reals)
        lo, hi = sorted([draw(st.floats(-4, 4)), draw(st.floats(-4, 4))])
        a_b = draw(st.sampled_from(["window", "inf"]))
        try:
            a, b = (float(m) + lo * float(sd), float(m) + (hi + 0.1) * float(sd)) if a_b == "window" \
                else (-math.inf, math.inf)
        except (TypeError, ValueError):
            a, b = -2.0, 2.0
        dist, params = "trunc_normal", (m, sd, pick(st.just(a), _reals), pick(st.just(b), _reals))
        kwargs.update(mean=params[0], std=params[1], a=params[2], b=params[3])
    elif name == "constant_":
        dist, params = "constant", (pick(_valid_reals, _reals),)
        kwargs = {"val": params[0], "threads": kwargs["threads"]}
    elif name == "variance_scaling_":
        dist = "rule"
        kwargs.update(scale=pick(_pos_reals, _reals),
                      mode=pick(st.sampled_from(["fan_in", "fan_out", "fan_avg"]), st.just("x")),
                      distribution=pick(st.sampled_from(["uniform", "truncated_normal", "normal",
                                                         "Uniform", "untruncated_normal"]),
                                        st.sampled_from(["bad", 3])),
                      layout=pick(st.sampled_from(["keras", "torch"]), st.just("x")))
    elif name == "xavier_normal_":
        dist = "rule"
        kwargs.update(gain=pick(_pos_reals, _reals))
    elif name == "kaiming_uniform_":
        dist = "rule"
        kwargs.update(a=pick(_valid_reals, _reals), mode=pick(st.sampled_from(["fan_in", "fan_out"]),
                                                              st.just("fan_avg")),
                      nonlinearity=pick(st.sampled_from(["relu", "leaky_relu", "tanh", "selu"]),
                                        st.just("x")))
    if name == "random_raw":
        kwargs["n"] = pick(st.just(size), st.sampled_from([-1, 1.0, None, True, 2**63]))
    if name in ("uniform", "normal"):
        kwargs["shape"] = pick(st.just(shape), st.sampled_from([(-1,), (2.5,), "ab", None]))
        kwargs["dtype"] = dtype
    if name not in ("constant_", "random_raw"):
        g, idx = draw(_shard(shape))
        if g is not None or idx is not None or draw(st.booleans()):
            kwargs.update(global_shape=g, index=idx)

    fast_out = out.copy() if isinstance(out, np.ndarray) else out
    if isinstance(out, np.ndarray) and not out.flags.writeable:
        fast_out.flags.writeable = False
    before = fast_out.copy() if isinstance(fast_out, np.ndarray) else None
    ref_out = out.copy() if isinstance(out, np.ndarray) else out
    if isinstance(out, np.ndarray) and not out.flags.writeable:
        ref_out.flags.writeable = False
    errors = []
    results = []
    for mod, o in ((pxi, fast_out), (ref, ref_out)):
        try:
            results.append(_call(mod, name, o, dict(kwargs)))
            errors.append(None)
        except (TypeError, ValueError) as exc:
            results.append(None)
            errors.append(exc)
        # anything else (SystemError, OverflowError, RuntimeError, ...) escapes and fails
    fast_err, ref_err = errors
    event(f"{name}: {type(fast_err).__name__ + str(fast_err)[:40] if fast_err is not None else 'values'}")
    if fast_err is not None:
        assert ref_err is not None and type(ref_err) is type(fast_err), (fast_err, ref_err)
        if before is not None:  # arguments are checked before anything is written
            assert np.array_equal(_bits(before), _bits(fast_out)), (name, kwargs, fast_err)
        return
    assert ref_err is None, ("reference raised, native did not", ref_err, kwargs)
    got, want = results
    if name not in ("random_raw", "uniform", "normal"):
        assert got is fast_out and want is ref_out
    if name == "random_raw":
        assert got.dtype == np.uint32 and np.array_equal(got, want)
        return
    if dist == "rule":
        shape_for_rule = tuple(kwargs.get("global_shape") or got.shape)
        if got.size == 0:
            return
        if name == "variance_scaling_":
            dist, params = rules.variance_scaling_params(
                shape_for_rule, kwargs["scale"], kwargs["mode"], kwargs["distribution"],
                kwargs["layout"])
        elif name == "xavier_normal_":
            dist, params = rules.xavier_normal_params(shape_for_rule, kwargs["gain"])
        else:
            dist, params = rules.kaiming_uniform_params(shape_for_rule, kwargs["a"], kwargs["mode"],
                                                        kwargs["nonlinearity"])
    elif dist == "constant":
        dist = "uniform"  # bit equality
    assert_matches_reference(got, want, dist, params)
