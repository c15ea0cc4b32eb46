"""philoxinit fills vs NumPy, torch and plain ``fill`` (pytest-benchmark).

    pytest benchmarks/ --benchmark-only                  # 2**20 and 2**26 elements
    PHILOXINIT_BENCH_BIG=1 pytest benchmarks/ --benchmark-only   # + 2**30 (4 GiB buffers)

One benchmark group per rule and size (``uniform n=2^26`` ...). Each group has philoxinit with
1 thread and with all threads, ``np.random.default_rng()`` (PCG64) and
``np.random.Generator(np.random.Philox())`` filling the same float32 buffer with ``out=``,
torch's own ``torch.nn.init`` function (when installed) and ``buf.fill(1.0)`` on the same
buffer, the memory-bandwidth ceiling. See benchmarks/README.md for reading the ratios.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_THREADS, SIZES, SMALL, buffer, run, size_id

import philoxinit as pxi

# rule -> (philoxinit function, NumPy Generator method, 2-D?)
RULES = {
    "uniform": (pxi.uniform_, "random", False),
    "normal": (pxi.normal_, "standard_normal", False),
    "trunc_normal": (pxi.trunc_normal_, "standard_normal", False),
    "xavier_uniform": (pxi.xavier_uniform_, "random", True),
    "kaiming_normal": (pxi.kaiming_normal_, "standard_normal", True),
}
COLS = 4096


def shape_of(rule: str, n: int) -> tuple:
    """The benchmark shape: ``(n // 4096, 4096)`` for the 2-D rules, ``(n,)`` otherwise."""
    return (n // COLS, COLS) if RULES[rule][2] else (n,)


def cases(rules=RULES, sizes=SIZES, group_suffix=""):
    """``pytest.param(rule, n)`` with the ``"<rule> n=2^k"`` benchmark group as a mark."""
    return [pytest.param(rule, n, id=f"{rule}-{size_id(n)}",
                         marks=pytest.mark.benchmark(group=f"{rule}{group_suffix} n={size_id(n)}"))
            for rule in rules for n in sizes]


# ---- one group per rule and size ---------------------------------------------------------

@pytest.mark.parametrize("threads", [1, ALL_THREADS], ids=["philoxinit-1t", "philoxinit-all"])
@pytest.mark.parametrize("rule,n", cases())
def test_philoxinit(benchmark, rule, n, threads):
    """philoxinit's in-place fill of the float32 buffer, 1 thread and all threads."""
    fn = RULES[rule][0]
    out = buffer(n).reshape(shape_of(rule, n))
    benchmark.extra_info["threads"] = threads
    run(benchmark, lambda: fn(out, seed=0, stream=rule, threads=threads), n)


@pytest.mark.parametrize("bitgen", ["pcg64", "philox"], ids=["numpy-pcg64", "numpy-philox"])
@pytest.mark.parametrize("rule,n", cases())
def test_numpy(benchmark, rule, n, bitgen):
    """``Generator.random`` / ``standard_normal`` (out=, float32); PCG64 or Philox, 1 thread."""
    rng = (np.random.default_rng(0) if bitgen == "pcg64"
           else np.random.Generator(np.random.Philox(0)))
    method = getattr(rng, RULES[rule][1])
    out = buffer(n)
    run(benchmark, lambda: method(out=out, dtype=np.float32), n, role=f"numpy-{bitgen}")


@pytest.mark.parametrize("rule,n", cases())
def test_fill(benchmark, rule, n):
    """``buf.fill(1.0)`` of the same buffer: the memory-bandwidth ceiling."""
    out = buffer(n)
    run(benchmark, lambda: out.fill(1.0), n, role="fill")


# ---- output dtype: float32 vs float16 / bfloat16 / float64 for normal ---------------------

DTYPES = ["float32", "float16", "bfloat16", "float64"]


def _dtype(name: str):
    if name == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes")
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule,n", cases(["normal"], group_suffix=" by dtype"))
def test_normal_dtype(benchmark, rule, n, dtype):
    """``normal_`` (all threads) writing each output dtype; bytes differ, values/s compare."""
    dt = _dtype(dtype)
    out = buffer(n, dt)
    run(benchmark, lambda: pxi.normal_(out, seed=0, stream="dtype", threads=ALL_THREADS), n,
        dt.itemsize, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule,n", cases(["normal"], group_suffix=" by dtype"))
def test_normal_dtype_fill(benchmark, rule, n, dtype):
    """``buf.fill(1.0)`` per output dtype (that dtype's bandwidth ceiling; bfloat16 through a
    uint16 view, since ml_dtypes' own fill converts element by element)."""
    dt = _dtype(dtype)
    out = buffer(n, dt)
    if dtype == "bfloat16":  # ml_dtypes' fill converts per element (~3 G/s): write the bits
        bits = out.view(np.uint16)
        run(benchmark, lambda: bits.fill(0x3F80), n, dt.itemsize, role="fill", dtype=dtype)
    else:
        run(benchmark, lambda: out.fill(1.0), n, dt.itemsize, role="fill", dtype=dtype)


@pytest.mark.parametrize("rule,n", cases(["normal"], group_suffix=" by dtype"))
def test_normal_dtype_numpy(benchmark, rule, n):
    """NumPy PCG64 ``standard_normal(out=, dtype=float32)``: the reference row of the group."""
    rng = np.random.default_rng(0)
    out = buffer(n)
    run(benchmark, lambda: rng.standard_normal(out=out, dtype=np.float32), n,
        role="numpy-pcg64")


# ---- raw Philox words --------------------------------------------------------------------

@pytest.mark.parametrize("threads", [1, ALL_THREADS], ids=["philoxinit-1t", "philoxinit-all"])
@pytest.mark.parametrize("rule,n", cases(["random_raw"]))
def test_random_raw(benchmark, rule, n, threads):
    """``pxi.random_raw(n)``: n uint32 words, into a new array (allocation included)."""
    run(benchmark, lambda: pxi.random_raw(n, seed=0, stream=0, threads=threads), n)


@pytest.mark.parametrize("bitgen", ["pcg64", "philox"], ids=["numpy-pcg64", "numpy-philox"])
@pytest.mark.parametrize("rule,n", cases(["random_raw"]))
def test_random_raw_numpy(benchmark, rule, n, bitgen):
    """NumPy ``bit_generator.random_raw(n // 2)``: the same bytes as n uint32, allocation included."""
    bg = np.random.PCG64(0) if bitgen == "pcg64" else np.random.Philox(0)
    run(benchmark, lambda: bg.random_raw(n // 2), n, role=f"numpy-{bitgen}")


@pytest.mark.parametrize("rule,n", cases(["random_raw"]))
def test_random_raw_fill(benchmark, rule, n):
    """``fill`` of a preallocated uint32 buffer of n words (no allocation): the ceiling."""
    out = buffer(n, np.uint32)
    run(benchmark, lambda: out.fill(1), n, role="fill")


# ---- torch (last: its OpenMP pool must not compete with the rows above) --------------------

@pytest.mark.parametrize("rule,n", cases())
def test_torch(benchmark, torch, rule, n):
    """torch's own ``torch.nn.init.<rule>_`` on a float32 CPU tensor of the same shape.

    ``trunc_normal_`` (~0.01 G/s) runs at the smallest size only.
    """
    if rule == "trunc_normal" and n > SMALL:
        pytest.skip(f"torch trunc_normal_ runs at ~0.01 G/s; timed at n={size_id(SMALL)} only")
    t = _torch_buffer(torch, n).view(shape_of(rule, n))
    init = getattr(torch.nn.init, rule + "_")
    benchmark.extra_info["threads"] = torch.get_num_threads()
    run(benchmark, lambda: init(t), n, role="torch")


_TORCH_BUFFERS: dict = {}


def _torch_buffer(torch, n: int):
    if n not in _TORCH_BUFFERS:
        _TORCH_BUFFERS.clear()
        _TORCH_BUFFERS[n] = torch.zeros(n, dtype=torch.float32)
    return _TORCH_BUFFERS[n]
