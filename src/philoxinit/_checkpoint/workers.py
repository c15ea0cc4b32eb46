"""``--workers N`` / ``--scheduler ADDRESS``: whole shard files written in parallel by dask.

Each task writes one shard file, start to end, into the temp name the main process chose for
it (:func:`philoxinit.checkpoint.files.write_file`); the main process renames them once all
are done. A file's bytes depend only on its layout, the seed and the source, so they are the
same for any number of workers, threads or machines. With ``--scheduler`` the workers must
see the output directory at the same path (a shared file system).
"""
from __future__ import annotations

import logging
import secrets
from typing import Optional


class ClusterError(RuntimeError):
    """The dask cluster could not be started or reached, or lost a worker (exit status 1)."""


def write_task(tmp_path: str, layout, source, threads: Optional[int]) -> int:
    """One shard: the task a worker runs; returns the bytes written."""
    from .files import write_file
    begin = getattr(source, "begin_file", None)
    if begin is not None:
        begin([e for e, _ in layout.placed])
    return write_file(tmp_path, layout, source, threads)


def write_parallel(jobs: list, source, threads: Optional[int], workers: Optional[int] = None,
                   scheduler: Optional[str] = None, on_done=None) -> None:
    """Write every ``(tmp_path, layout)`` of ``jobs`` on a dask cluster: a ``LocalCluster``
    of ``workers`` single-threaded processes, or the existing one at ``scheduler``.
    ``on_done(n_bytes)`` after each file. The first failure is raised (the others are
    cancelled)."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise ClusterError(f"--workers/--scheduler need dask distributed: {exc}") from None
    cluster = None
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=30)
    except Exception as exc:
        if cluster is not None:
            cluster.close()
        where = f"a dask LocalCluster of {workers} worker(s)" if scheduler is None else \
            f"the dask scheduler at {scheduler!r}"
        raise ClusterError(f"cannot start or reach {where}: {type(exc).__name__}: "
                           f"{' '.join(str(exc).split())}") from None
    futures = []
    try:
        shared = client.scatter(source, broadcast=True)
        token = secrets.token_hex(4)
        futures = [client.submit(write_task, tmp, layout, shared, threads, pure=False,
                                 key=f"philoxinit-checkpoint-{token}-{k}")
                   for k, (tmp, layout) in enumerate(jobs)]
        for future in as_completed(futures):
            try:
                n = future.result()
            except (OSError, KeyboardInterrupt):
                raise
            except Exception as exc:
                if type(exc).__name__ in ("KilledWorker", "CancelledError", "CommClosedError"):
                    raise ClusterError(f"the dask cluster lost the task writing "
                                       f"{jobs[futures.index(future)][1].filename}: "
                                       f"{type(exc).__name__}: {exc}") from None
                raise
            if on_done is not None:
                on_done(n)
    finally:
        for f in futures:
            if not f.done():
                f.cancel()
        client.close()
        if cluster is not None:
            cluster.close()
