"""fill_batch: every job gets the bits of its single-call twin; bad jobs write nothing."""
import numpy as np
import pytest

import philoxinit as pxi
from philoxinit._batch import FillJob, fill_batch
from test_api import compare

ml_dtypes = pytest.importorskip("ml_dtypes")

DTYPES = [np.float32, np.float64, np.float16, ml_dtypes.bfloat16]


def _random_job(rng, i):
    """A random job and the single call that must give the same bits."""
    dtype = DTYPES[rng.integers(len(DTYPES))]
    size = int(rng.choice([0, 1, 3, 17, 1000, 4099, 70_000, 200_003]))
    dist = ["uniform", "normal", "trunc_normal", "constant"][rng.integers(4)]
    params = {"uniform": (-float(rng.random()), float(rng.random()) + 0.1),
              "normal": (float(rng.normal()), float(rng.random()) + 0.01),
              "trunc_normal": (0.0, 1.0, -float(rng.random()) - 0.5, float(rng.random()) + 0.5),
              "constant": (float(rng.normal()),)}[dist]
    seed = int(rng.integers(0, 2**63))
    stream = f"layers.{i}.weight" if rng.random() < 0.5 else int(rng.integers(0, 2**63))
    offset = int(rng.integers(0, 2**40)) if rng.random() < 0.3 else 0
    shape, global_shape, index = (size,), None, None
    if dist != "constant" and size >= 17 and rng.random() < 0.3:
        # A shard: rows 1..3 and columns 2..(2+size//17) of a bigger matrix.
        cols = size // 17
        shape, global_shape, index = (3, cols), (5, cols + 4), (slice(1, 4), slice(2, 2 + cols))
    out = np.full(shape, np.nan, dtype)
    job = FillJob(out, dist, params, seed=seed, stream=stream, offset=offset,
                  global_shape=global_shape, index=index)

    def single():
        expect = np.full(shape, np.nan, dtype)
        if dist == "constant":
            return pxi.constant_(expect, *params)
        return getattr(pxi, dist + "_")(expect, *params, seed=seed, stream=stream, offset=offset,
                                        global_shape=global_shape, index=index)
    return job, single


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threads", [None, 1, 3])
def test_random_batches_equal_single_calls(seed, threads):
    rng = np.random.default_rng(seed)
    pairs = [_random_job(rng, i) for i in range(int(rng.integers(1, 40)))]
    fill_batch([job for job, _ in pairs], threads=threads)
    for i, (job, single) in enumerate(pairs):
        expect = single()
        assert job.out.tobytes() == expect.tobytes(), f"job {i}: {job!r}"


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("threads", [None, 2])
def test_hundreds_of_mixed_jobs_in_one_call_equal_single_calls_and_reference(seed, threads):
    # A model-sized batch: many small jobs sharing chunks, a few that span several chunks, and
    # shards with run_starts, all in one core call.
    rng = np.random.default_rng(100 + seed)
    pairs = [_random_job(rng, i) for i in range(300)]
    fill_batch([job for job, _ in pairs], threads=threads)
    checked_against_reference = 0
    for i, (job, single) in enumerate(pairs):
        assert job.out.tobytes() == single().tobytes(), f"job {i}: {job!r}"
        if job.dist != "constant" and 0 < job.out.size <= 4099:
            want = getattr(pxi.reference, job.dist + "_")(
                np.full(job.out.shape, np.nan, job.out.dtype), *job.params, seed=job.seed,
                stream=job.stream, offset=job.offset, global_shape=job.global_shape,
                index=job.index)
            compare(job.dist, job.out, want, job.params, f"job {i}: {job!r}")
            checked_against_reference += 1
    assert checked_against_reference >= 50


def test_many_small_jobs_and_an_empty_batch():
    outs = [np.empty(n, np.float32) for n in range(1, 300)]
    fill_batch([FillJob(o, "normal", (0.0, 0.02), seed=5, stream=f"b{i}") for i, o in enumerate(outs)])
    for i, o in enumerate(outs):
        assert o.tobytes() == pxi.normal(o.shape, mean=0.0, std=0.02, seed=5, stream=f"b{i}").tobytes()
    fill_batch([])


def test_same_bits_for_any_thread_count():
    def run(threads):
        outs = [np.empty(n, np.float32) for n in (5, 1 << 18, 33, 1 << 17)]
        fill_batch([FillJob(o, "uniform", (-1.0, 1.0), seed=2, stream=i) for i, o in enumerate(outs)],
                   threads=threads)
        return b"".join(o.tobytes() for o in outs)
    assert run(1) == run(2) == run(5)


def _ok_job():
    return FillJob(np.zeros(8, np.float32), "uniform", (0.0, 1.0), seed=0, stream=0)


@pytest.mark.parametrize("bad, error, words", [
    (lambda: "not a job", TypeError, "FillJob"),
    (lambda: FillJob([0.0], "uniform", (0.0, 1.0), 0, 0), TypeError, "out"),
    (lambda: FillJob(np.zeros(8, np.int32), "uniform", (0.0, 1.0), 0, 0), TypeError, "dtype"),
    (lambda: FillJob(np.zeros((4, 4), np.float32).T, "normal", (0.0, 1.0), 0, 0), ValueError,
     "C-contiguous"),
    (lambda: FillJob(np.zeros(8, np.float32), "gamma", (1.0,), 0, 0), ValueError, "dist"),
    (lambda: FillJob(np.zeros(8, np.float32), "normal", (0.0,), 0, 0), TypeError, "params"),
    (lambda: FillJob(np.zeros(8, np.float32), "normal", (0.0, -1.0), 0, 0), ValueError, "std"),
    (lambda: FillJob(np.zeros(8, np.float32), "uniform", (1.0, 0.0), 0, 0), ValueError, "low"),
    (lambda: FillJob(np.zeros(8, np.float32), "trunc_normal", (0.0, 1.0, 2.0, 1.0), 0, 0),
     ValueError, "a must be < b"),
    (lambda: FillJob(np.zeros(8, np.float32), "constant", ("x",), 0, 0), TypeError, "value"),
    (lambda: FillJob(np.zeros(8, np.float32), "uniform", (0.0, 1.0), -1, 0), ValueError, "seed"),
    (lambda: FillJob(np.zeros(8, np.float32), "uniform", (0.0, 1.0), 0, 1.5), TypeError, "stream"),
    (lambda: FillJob(np.zeros(8, np.float32), "uniform", (0.0, 1.0), 0, 0, offset=2**62),
     ValueError, "offset"),
    (lambda: FillJob(np.zeros(8, np.float32), "uniform", (0.0, 1.0), 0, 0, global_shape=(9,)),
     ValueError, "shape"),
])
def test_bad_job_names_index_and_argument_and_writes_nothing(bad, error, words):
    good = [_ok_job(), _ok_job()]
    with pytest.raises(error, match=r"jobs\[2\]") as info:
        fill_batch(good + [bad()] + [_ok_job()])
    assert words in str(info.value)
    assert all((job.out == 0).all() for job in good)


def test_read_only_out_and_bad_threads():
    ro = np.zeros(8, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"jobs\[0\].*read-only"):
        fill_batch([FillJob(ro, "normal", (0.0, 1.0), 0, 0)])
    with pytest.raises(ValueError, match="threads"):
        fill_batch([_ok_job()], threads=0)
    with pytest.raises(TypeError, match="jobs"):
        fill_batch(5)
