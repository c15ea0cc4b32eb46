"""``philoxinit checkpoint``: randomly initialized weights written straight into safetensors.

::

    philoxinit checkpoint spec.json    --out model.safetensors --seed 0
    philoxinit checkpoint config.json  --out llama-dir/ --dtype bfloat16 --max-shard-size 5GB
    philoxinit checkpoint config.json  --out llama-dir/ --max-shard-size 2GB --workers 4

SPEC: a JSON list of tensors ``{"name", "shape", "dtype", "rule", "args"}`` (each filled by
``philoxinit.<rule>_`` on ``stream=<name>``), or a Hugging Face ``config.json`` of any
``model_type`` the installed transformers knows (see :mod:`.hf`; without transformers only the
built-in Llama/Mistral layout of :func:`.spec.tensors_from_llama`, and a note says so).

``--out DIR``: ``config.json`` (+ ``generation_config.json``) and ``model.safetensors``, or
shards ``model-0000k-of-0000n.safetensors`` + ``model.safetensors.index.json`` as
``save_pretrained`` names them (default ``--max-shard-size`` 50GB, as there). ``--out
FILE.safetensors``: one file. See docs/checkpoint.md for the safety rules (:mod:`.files`).

Exit status: 0 on success, 2 on a bad SPEC, argument or ``--out`` (nothing written), 1 when
writing fails (a full disk: the space needed and free), 130 on SIGINT, 128+N on SIGTERM/SIGHUP
(temp files removed).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Optional

from .files import (DiskFull, Interrupted, check_out, check_replaceable, commit, free_bytes,
                    remove_leftovers, signals_raise, space_needed, temp_path, unlink_quietly,
                    write_bytes, write_file)
from .layout import (INDEX_NAME, SHARD_RE, WEIGHTS_NAME, Entry, file_layout, index_json,
                     parse_size, shard_names, split_shards, total_size)
from .workers import ClusterError
from .spec import (SAFETENSORS_DTYPES, FLOAT_DTYPES, ListSource, SpecError, check_all_args,
                   check_config_types, config_dtype, dtype_name, is_config, numpy_dtype,
                   read_json, tensors_from_list, tensors_from_llama)

__all__ = ["SpecError", "load_model", "add_parser", "run", "main"]

DEFAULT_SHARD = "50GB"


def load_model(obj, dtype_override: Optional[str], seed: int, budget: Optional[int] = None):
    """``(kind, source, entries, parameters, extra files)`` for the parsed SPEC ``obj``."""
    if isinstance(obj, dict) and isinstance(obj.get("tensors"), list):
        obj = obj["tensors"]
    if isinstance(obj, list):
        tensors = tensors_from_list(obj, dtype_override)
        for t in tensors:
            numpy_dtype(t.dtype)
        check_all_args(tensors)
        entries = [Entry(t.name, t.shape, t.dtype) for t in tensors]
        return "list", ListSource(tensors, seed), entries, sum(e.size for e in entries), {}
    if not is_config(obj):
        raise SpecError('SPEC: expected a JSON list of tensors ({"name", "shape", "dtype", '
                        '"rule", "args"}) or a Hugging Face config.json (with model_type)')
    check_config_types(obj)
    from .hf import HFSource, have_transformers, note
    if have_transformers():
        source = HFSource(obj, config_dtype(obj, dtype_override), seed, budget)
        if source.plan_kind != "plan_init":
            note(f"values from a {source.plan_kind}: philoxinit.torch.plan_init is missing")
        return "hf", source, source.entries, sum(e.size for e in source.entries), \
            source.config_files()
    note("transformers is not installed: writing the built-in Llama layout "
         "(llama and mistral only)")
    tensors = tensors_from_llama(obj, dtype_override)
    for t in tensors:
        numpy_dtype(t.dtype)
    entries = [Entry(t.name, t.shape, t.dtype) for t in tensors]
    extra = {"config.json": (json.dumps(obj, indent=2) + "\n").encode()}
    return "llama", ListSource(tensors, seed), entries, sum(e.size for e in entries), extra


from ..cli import _positive_int as _int_in_range, _seed  # noqa: E402

_threads = _int_in_range(4096)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``checkpoint`` on an argparse subparsers object; sets ``func=run``."""
    p = subparsers.add_parser(
        "checkpoint", help="write randomly initialized weights into safetensors",
        description="Write randomly initialized weights into a safetensors file or a Hugging "
                    "Face model directory. SPEC: a JSON list of {name, shape, dtype, rule, "
                    "args} or a Hugging Face config.json.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("spec", metavar="SPEC", help="JSON tensor list or config.json")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="FILE.safetensors, or a model directory")
    p.add_argument("--seed", type=_seed, default=0, help="philoxinit seed")
    p.add_argument("--dtype", default=None, choices=FLOAT_DTYPES,
                   help="dtype (config.json: overrides its dtype; list: the default)")
    p.add_argument("--threads", type=_threads, default=None, metavar="N",
                   help="fill threads per process (the bytes never depend on it)")
    p.add_argument("--max-shard-size", default=None, metavar="SIZE",
                   help=f"--out DIR: shard size like save_pretrained's (default {DEFAULT_SHARD})")
    p.add_argument("--workers", type=_int_in_range(4096), default=None, metavar="N",
                   help="write shard files in parallel on a dask LocalCluster of N processes")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="write shard files on an existing dask cluster (shared file system)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)
    return p


def _err(text: str) -> None:
    print(f"philoxinit checkpoint: error: {text}", file=sys.stderr)


def _our_name(name: str) -> bool:
    return name in (WEIGHTS_NAME, INDEX_NAME, "config.json", "generation_config.json") or \
        SHARD_RE.fullmatch(name) is not None


def run(args) -> int:
    """``philoxinit checkpoint``; returns the exit status."""
    t0 = time.perf_counter()
    try:
        target = check_out(args.out, args.spec)
        if args.workers and args.scheduler:
            raise SpecError("give --workers or --scheduler, not both")
        if target.mode == "file" and args.max_shard_size:
            raise SpecError("--max-shard-size needs --out DIR (a model directory)")
        max_shard = parse_size(args.max_shard_size or DEFAULT_SHARD)
        override = dtype_name(args.dtype, "--dtype") if args.dtype else None
        obj = read_json(args.spec)
        budget = free_bytes(target.directory)
        kind, source, entries, parameters, extra = load_model(obj, override, args.seed, budget)
        storage = getattr(source, "storage", None)
        if target.mode == "file":
            groups, names, extra = [entries], [target.filename], {}
        else:
            groups = split_shards(entries, max_shard, storage)
            names = shard_names(len(groups))
            spec_real = os.path.realpath(args.spec)
            for name in list(extra) + names:
                if os.path.join(target.directory, name) == spec_real:
                    raise SpecError(f"--out {args.out!r} would replace the SPEC file "
                                    f"{args.spec!r} ({name}); choose another --out")
        metadata = {"format": "pt", "philoxinit.seed": str(args.seed), "philoxinit.spec": kind}
        layouts = [file_layout(n, g, metadata) for n, g in zip(names, groups)]
        small = dict(extra)
        if len(layouts) > 1:
            small[INDEX_NAME] = index_json(layouts, parameters, total_size(entries, storage))
        needed = space_needed([lay.total_bytes for lay in layouts] +
                              [len(data) for data in small.values()], target.directory)
        if needed > budget:
            raise SpecError(f"the checkpoint needs {needed:,} bytes ({needed / 1e9:.2f} GB); "
                            f"{budget:,} bytes ({budget / 1e9:.2f} GB) are free at {target.directory}")
        check_replaceable(target.directory, names + list(small))
    except SpecError as exc:
        _err(str(exc))
        return 2
    directory = target.directory
    temps = []
    bar = None
    try:
        with signals_raise():
            try:
                os.makedirs(directory, exist_ok=True)
                is_target = (lambda n: n == target.filename) if target.mode == "file" else _our_name
                removed, busy = remove_leftovers(directory, is_target)
                if removed:
                    print(f"philoxinit checkpoint: removed {len(removed)} temp file(s) of an "
                          "earlier, killed run", file=sys.stderr)
                jobs = [(temp_path(directory, lay.filename), lay) for lay in layouts]
                temps = [tmp for tmp, _ in jobs]
                from .._progress import ByteProgress
                bar = ByteProgress(sum(lay.data_bytes for lay in layouts), "",
                                   enabled=not args.no_progress)
                if args.workers or args.scheduler:
                    from .workers import write_parallel
                    write_parallel(jobs, source, args.threads, args.workers, args.scheduler,
                                   on_done=bar.update)
                else:
                    for tmp, lay in jobs:
                        begin = getattr(source, "begin_file", None)
                        if begin is not None:
                            begin([e for e, _ in lay.placed])
                        write_file(tmp, lay, source, args.threads, progress=bar)
                renames = list(zip(temps, [os.path.join(directory, lay.filename)
                                           for lay in layouts]))
                for name, data in small.items():
                    tmp = temp_path(directory, name)
                    temps.append(tmp)
                    write_bytes(tmp, data)
                    renames.append((tmp, os.path.join(directory, name)))
                commit(renames, directory)
                if target.mode == "dir":
                    new = set(names) | set(small)
                    stale = [os.path.join(directory, n) for n in os.listdir(directory)
                             if n not in new and (n in (WEIGHTS_NAME, INDEX_NAME)
                                                  or SHARD_RE.fullmatch(n))
                             and os.path.isfile(os.path.join(directory, n))]
                    unlink_quietly(stale)
            except BaseException:
                unlink_quietly(temps)
                raise
    except Interrupted as exc:
        if bar is not None:
            bar.close()
        import signal
        _err(f"interrupted by {signal.Signals(exc.signum).name}; temp files removed, "
             f"--out untouched")
        return exc.exit_status
    except DiskFull as exc:
        if bar is not None:
            bar.close()
        _err(exc.strerror if exc.strerror else str(exc))
        return 1
    except (OSError, ClusterError) as exc:
        if bar is not None:
            bar.close()
        _err(f"cannot write {args.out!r}: {exc}")
        return 1
    bar.close()
    seconds = time.perf_counter() - t0
    total = sum(lay.total_bytes for lay in layouts) + sum(map(len, small.values()))
    report = {"path": target.path, "spec": kind, "files": names + list(small),
              "tensors": len(entries), "parameters": sum(e.size for e in entries),
              "bytes": total, "seconds": seconds,
              "gb_per_s": total / seconds / 1e9 if seconds > 0 else float("inf"),
              "seed": args.seed, "metadata": metadata}
    if args.json:
        report["tensor_list"] = [{"name": e.name, "shape": list(e.shape), "dtype": e.dtype}
                                 for e in entries]
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"wrote {target.path} ({kind} SPEC, seed {args.seed}): {len(entries):,} tensors, "
              f"{report['parameters']:,} parameters, {total:,} bytes in {len(report['files'])} "
              f"file(s) in {seconds:.2f} s ({report['gb_per_s']:.2f} GB/s)")
    return 0


def main(argv: Optional[list] = None) -> int:
    """``python -m philoxinit.checkpoint``: the same as ``philoxinit checkpoint``."""
    from ..cli import run_subcommand
    return run_subcommand("checkpoint", add_parser, argv, prog="philoxinit")
