"""Times the three ways of building the ~1.1e9-parameter decoder of test_bench_model.py once
each (best of 2), outside pytest: ``python benchmarks/model_construction.py``."""
import os
import pathlib
import sys
import time

os.environ.setdefault("PHILOXINIT_BENCH_BIG", "1")
sys.path.insert(0, str(pathlib.Path(__file__).parent))
import test_bench_model as m  # noqa: E402

for build in [m.build_meta_init_module, m.build_fast_init, m.build_torch_default]:
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        model = build()
        best = min(best, time.perf_counter() - start)
        params = sum(p.numel() for p in model.parameters())
        del model
    print(f"{build.__name__}: {params / 1e9:.3f} G params, {best:.2f} s", flush=True)
