"""The ``philoxinit`` command line: ``philoxinit bench``, ``philoxinit info``, ``--version``.

``philoxinit bench`` times philoxinit's in-place fills of one preallocated buffer per rule and
puts them next to the same buffer's ``fill(1.0)`` (the memory-bandwidth ceiling), NumPy's
``np.random.default_rng(0)`` and, when installed, torch's own ``torch.nn.init`` function::

    philoxinit bench                              # 2**26 float32 values, all threads
    philoxinit bench --threads 1 --dtype bfloat16
    philoxinit bench --params 1e9 --rules normal,trunc_normal --json > bench.json

Run it as ``python -m philoxinit.cli`` too. Exit status 0 on success, 2 on bad arguments.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

DEFAULT_PARAMS = 2**26          # 256 MiB of float32: the default run takes ~30 s on 2 cores
DEFAULT_RULES = ("uniform", "normal", "trunc_normal", "xavier_uniform", "kaiming_normal",
                 "glorot_normal")
DTYPES = ("float32", "float16", "bfloat16", "float64")
TORCH_TRUNC_SLICE = 2**22       # torch.nn.init.trunc_normal_ runs at ~0.01 G/s: time a slice
WARMUP_N = 2**18                # each timed call is first run once on this many elements
MAX_COLS = 4096                 # 2-D rules use (rows, cols), rows * cols = N, cols <= 4096

# A timing longer than this shows progress on stderr.
PROGRESS_AFTER_S = 1.0


# ---- the rules ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """One benchmarked rule: how philoxinit, NumPy and torch produce it.

    ``family`` is ``"uniform"`` or ``"normal"`` (the NumPy call it is compared with);
    ``torch_fn`` names the ``torch.nn.init`` function with the same defaults, or is None when
    torch has no such rule (then ``torch.nn.init.<dist>_`` gets the rule's parameters).
    """

    name: str
    family: str
    two_d: bool
    torch_fn: Optional[str]


RULES = {r.name: r for r in (
    Rule("uniform", "uniform", False, "uniform_"),
    Rule("normal", "normal", False, "normal_"),
    Rule("trunc_normal", "normal", False, "trunc_normal_"),
    Rule("xavier_uniform", "uniform", True, "xavier_uniform_"),
    Rule("xavier_normal", "normal", True, "xavier_normal_"),
    Rule("kaiming_uniform", "uniform", True, "kaiming_uniform_"),
    Rule("kaiming_normal", "normal", True, "kaiming_normal_"),
    Rule("glorot_uniform", "uniform", True, None),
    Rule("glorot_normal", "normal", True, None),
    Rule("he_uniform", "uniform", True, None),
    Rule("he_normal", "normal", True, None),
    Rule("lecun_uniform", "uniform", True, None),
    Rule("lecun_normal", "normal", True, None),
    Rule("variance_scaling", "normal", True, None),
)}


def shape_2d(n: int, max_cols: int = MAX_COLS) -> tuple:
    """``(rows, cols)`` with ``rows * cols == n`` and the largest ``cols <= max_cols``.

    >>> shape_2d(2**26), shape_2d(100_000), shape_2d(7)
    ((16384, 4096), (25, 4000), (1, 7))
    """
    for cols in range(min(n, max_cols), 0, -1):
        if n % cols == 0:
            return (n // cols, cols)
    return (n, 1)  # pragma: no cover  (cols == 1 always divides)


def rule_shape(rule: Rule, n: int) -> tuple:
    """The shape ``rule`` is benchmarked with for ``n`` elements."""
    return shape_2d(n) if rule.two_d else (n,)


def philoxinit_call(rule: Rule, out: np.ndarray, threads: int) -> Callable[[], object]:
    """A no-argument callable filling ``out`` in place with ``rule`` (seed 0, stream = rule name)."""
    import philoxinit as pxi
    fn = getattr(pxi, rule.name + "_")
    return lambda: fn(out, seed=0, stream=rule.name, threads=threads)


def torch_equivalent(rule: Rule, shape: tuple) -> tuple:
    """``(function name, kwargs, label)`` of the ``torch.nn.init`` call that ``rule`` is compared with.

    torch's own function where it has one (same defaults as philoxinit's); for the Keras/JAX
    rules, ``uniform_`` / ``normal_`` / ``trunc_normal_`` with the rule's parameters for ``shape``.
    """
    if rule.torch_fn is not None:
        return rule.torch_fn, {}, rule.torch_fn
    from . import rules as _rules
    if rule.name == "variance_scaling":
        dist, params = _rules.variance_scaling_params(shape, layout="keras")
    else:
        kind, dist_name = rule.name.split("_")
        scale, mode = {"glorot": (1.0, "fan_avg"), "he": (2.0, "fan_in"),
                       "lecun": (1.0, "fan_in")}[kind]
        distribution = "uniform" if dist_name == "uniform" else "truncated_normal"
        dist, params = _rules.variance_scaling_params(shape, scale, mode, distribution,
                                                      layout="keras")
    if dist == "uniform":
        return "uniform_", {"a": params[0], "b": params[1]}, "uniform_(-l, l)"
    if dist == "normal":
        return "normal_", {"mean": params[0], "std": params[1]}, "normal_(0, s)"
    return ("trunc_normal_", dict(zip(("mean", "std", "a", "b"), params)),
            "trunc_normal_(0, s, -2s, 2s)")


# ---- argument parsing --------------------------------------------------------------------

def _positive_count(text: str) -> int:
    """argparse type: a positive element count, written ``67108864``, ``1e9``, ``2**26`` or ``1_000``."""
    raw = text.strip().replace("_", "")
    try:
        m = re.fullmatch(r"(\d+)\s*(?:\*\*|\^)\s*(\d+)", raw)
        value = float(int(m.group(1)) ** int(m.group(2))) if m else float(raw)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value != int(value):
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    if value > 2**48:
        raise argparse.ArgumentTypeError(f"too large: {text!r}")
    return int(value)


def run_subcommand(name: str, add_parser, argv=None, prog: str = "philoxinit") -> int:
    """Run one subcommand on its own (``python -m philoxinit.<name>``): exit 2 on bad arguments."""
    parser = argparse.ArgumentParser(prog=prog)
    add_parser(parser.add_subparsers(dest="command"))
    _quiet_formatters(parser)
    try:
        args = parser.parse_args([name, *(sys.argv[1:] if argv is None else argv)])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args)
    except BrokenPipeError:
        return _broken_pipe()


BROKEN_PIPE_STATUS = 141  # 128 + SIGPIPE: what a C tool killed by the closed pipe returns


def _broken_pipe() -> int:
    """The reader (``| head``) has gone: no traceback, and none at exit when Python flushes
    stdout again; the shell's status for a tool stopped by SIGPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return BROKEN_PIPE_STATUS


def _seed(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**64), got {value}")
    return value


def _positive_int(limit: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not 1 <= value <= limit:
            raise argparse.ArgumentTypeError(f"must be between 1 and {limit}, got {value}")
        return value
    return parse


def _rule_list(text: str) -> list:
    names = [t.strip().rstrip("_") for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError("empty rule list")
    unknown = [n for n in names if n not in RULES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown rule(s) {', '.join(unknown)}; choose from {', '.join(RULES)}")
    return list(dict.fromkeys(names))


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover  (macOS, Windows)
        return os.cpu_count() or 1


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: ...)" only where there is one to tell: not for flags, required
    options, a None default, or a help text that already states its default."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.required or action.default is None or action.default is False \
                or "default" in text:
            return text
        return super()._get_help_string(action)


def _quiet_formatters(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = HelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.formatter_class = HelpFormatter


def build_parser() -> argparse.ArgumentParser:
    """The ``philoxinit`` argument parser (subcommands ``bench`` and ``info``)."""
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="philoxinit",
        description="Deterministic Philox4x32-10 weight initialization. Commands: bench "
                    "(values/s of every rule vs NumPy and torch), info (ISA, threads, build), "
                    "demo (std of activations through a deep MLP per init rule), checkpoint "
                    "(a safetensors file of initialized weights).")
    parser.add_argument("--version", action="version", version=f"philoxinit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{bench,info,demo,checkpoint}")

    bench = sub.add_parser(
        "bench", help="time philoxinit's fills against fill(1.0), NumPy and torch",
        description="Time philoxinit's in-place fill of one preallocated buffer per rule (best "
                    "of --repeat) and compare it with the same buffer's fill(1.0) (the memory-"
                    "bandwidth ceiling), np.random.default_rng(0) and torch.nn.init.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    bench.add_argument("--params", type=_positive_count, default=DEFAULT_PARAMS, metavar="N",
                       help="elements per buffer; 1e9, 2**26 and 1_000_000 styles are accepted")
    bench.add_argument("--dtype", choices=DTYPES, default="float32",
                       help="output dtype; bfloat16 needs ml_dtypes")
    bench.add_argument("--threads", type=_positive_int(4096), default=None, metavar="N",
                       help="threads for philoxinit and torch (default: all available CPUs)")
    bench.add_argument("--rules", type=_rule_list, default=list(DEFAULT_RULES),
                       metavar="R1,R2,...",
                       help=f"comma-separated rules from: {', '.join(RULES)} "
                            f"(default: {','.join(DEFAULT_RULES)})")
    bench.add_argument("--repeat", type=_positive_int(1000), default=3, metavar="K",
                       help="report the best of K timings")
    bench.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    bench.add_argument("--no-torch", action="store_true", help="skip the torch comparison")
    bench.add_argument("--no-progress", action="store_true", help="no progress on stderr")

    sub.add_parser("info", help="print philoxinit.info() as JSON",
                   description="Print philoxinit.info() (ISA, threads, OpenMP, compiler) as JSON.")
    from . import checkpoint, demo  # their own modules: each registers itself, with func=
    demo.add_parser(sub)
    checkpoint.add_parser(sub)
    _quiet_formatters(parser)
    return parser


def resolve_dtype(name: str):
    """The NumPy dtype for ``--dtype``; ValueError with a hint when bfloat16 lacks ml_dtypes."""
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:
            raise ValueError("--dtype bfloat16 needs the ml_dtypes package "
                             "(pip install ml_dtypes)") from None
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


# ---- timing ------------------------------------------------------------------------------

class Progress:
    """Progress on stderr over a known number of steps, shown once ~1 s has passed.

    tqdm when installed, else one ``\\r``-updated line (a line per step when stderr is not a
    terminal). Never writes to stdout.
    """

    def __init__(self, total: int, enabled: bool = True):
        self.total, self.done, self.enabled = total, 0, enabled
        self.start = time.perf_counter()
        self._bar = None
        self._shown = False
        self._tty = sys.stderr.isatty()
        if enabled:
            try:
                from tqdm import tqdm
                self._bar = tqdm(total=total, file=sys.stderr, delay=PROGRESS_AFTER_S,
                                 unit="timing", leave=False, dynamic_ncols=True)
            except Exception:
                self._bar = None

    def step(self, label: str) -> None:
        """Announce the timing about to run (``label``); counts the previous one as done."""
        if not self.enabled:
            return
        if self._bar is not None:
            if self.done:
                self._bar.update(1)
            self._bar.set_description_str(label, refresh=False)
        elif time.perf_counter() - self.start >= PROGRESS_AFTER_S:
            text = f"[{self.done + 1}/{self.total}] {label}"
            if self._tty:
                sys.stderr.write("\r\033[K" + text)
            else:
                sys.stderr.write(text + "\n")
            sys.stderr.flush()
            self._shown = True
        self.done += 1

    def close(self) -> None:
        """Remove the bar / line."""
        if self._bar is not None:
            self._bar.close()
        elif self._shown and self._tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def best_time(fn: Callable[[], object], repeat: int,
              warmup: Optional[Callable[[], object]] = None) -> float:
    """The smallest wall time of ``repeat`` calls of ``fn`` (seconds), after one untimed
    ``warmup()`` call (the same work on a small array: first-call costs, thread start-up)."""
    if warmup is not None:
        warmup()
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return max(best, 1e-9)


@dataclass
class Timing:
    """One timed call: ``n`` values of ``itemsize`` bytes in ``seconds``."""

    call: str
    n: int
    itemsize: int
    seconds: float
    note: str = ""

    @property
    def values_per_s(self) -> float:
        """Values written per second."""
        return self.n / self.seconds

    @property
    def gb_per_s(self) -> float:
        """Bytes written per second / 1e9."""
        return self.n * self.itemsize / self.seconds / 1e9

    def as_dict(self) -> dict:
        """JSON form."""
        d = {"call": self.call, "n": self.n, "bytes_per_value": self.itemsize,
             "seconds": self.seconds, "values_per_s": self.values_per_s,
             "gvalues_per_s": self.values_per_s / 1e9, "gb_per_s": self.gb_per_s}
        if self.note:
            d["note"] = self.note
        return d


@dataclass
class RuleResult:
    """philoxinit, NumPy and torch timings for one rule."""

    rule: str
    shape: tuple
    philoxinit: Timing
    numpy: Timing
    torch: Optional[Timing] = None
    torch_error: str = ""
    extra: dict = field(default_factory=dict)


def _torch_dtype(torch, name: str):
    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
            "float64": torch.float64}[name]


def import_torch():
    """``torch`` or None when it cannot be imported."""
    try:
        import torch
        return torch
    except Exception:
        return None


def run_bench(n: int, dtype_name: str, threads: int, rule_names: list, repeat: int,
              use_torch: bool, progress: bool) -> dict:
    """Run the benchmark; returns the report as a JSON-ready dict (see ``philoxinit bench --json``)."""
    import philoxinit as pxi

    dtype = resolve_dtype(dtype_name)
    rules = [RULES[name] for name in rule_names]
    sixteen = dtype.itemsize == 2
    np_dtype = np.float64 if dtype_name == "float64" else np.float32

    torch = import_torch() if use_torch else None
    torch_threads_before = None
    if torch is not None:
        torch_threads_before = torch.get_num_threads()
        torch.set_num_threads(threads)

    steps = 1 + len(rules) * (2 + (torch is not None))
    prog = Progress(steps, enabled=progress)
    try:
        buf = np.empty(n, dtype)
        buf.fill(0)                          # fault the pages in before any timing
        np_buf = np.zeros(n, np_dtype) if sixteen else buf
        tbuf = None
        if torch is not None:
            tbuf = torch.zeros(n, dtype=_torch_dtype(torch, dtype_name))

        prog.step("fill(1.0)")
        if dtype_name == "bfloat16":
            # ml_dtypes' bfloat16 fill converts per element (~3 G/s); writing the same bits
            # through a uint16 view measures the bandwidth ceiling.
            bits = buf.view(np.uint16)
            fill_fn, fill_call = (lambda: bits.fill(0x3F80)), "buf.view(np.uint16).fill(0x3F80)"
        else:
            fill_fn, fill_call = (lambda: buf.fill(1.0)), "buf.fill(1.0)"
        fill = Timing(fill_call, n, dtype.itemsize, best_time(fill_fn, max(repeat, 3)))

        results = []
        n_warm = min(n, WARMUP_N)
        for rule in rules:
            shape = rule_shape(rule, n)
            out = buf.reshape(shape)
            warm_shape = rule_shape(rule, n_warm)
            prog.step(f"{rule.name}: philoxinit")
            t_pxi = best_time(philoxinit_call(rule, out, threads), repeat,
                              warmup=philoxinit_call(rule, buf[:n_warm].reshape(warm_shape),
                                                     threads))
            pxi_timing = Timing(f"philoxinit.{rule.name}_(out, threads={threads})", n,
                                dtype.itemsize, t_pxi)

            prog.step(f"{rule.name}: numpy")
            rng = np.random.default_rng(0)
            np_call = "random" if rule.family == "uniform" else "standard_normal"
            np_method = getattr(rng, np_call)
            np_timing = Timing(
                f"np.random.default_rng(0).{np_call}(out=a, dtype=np.{np.dtype(np_dtype).name})",
                n, np.dtype(np_dtype).itemsize,
                best_time(lambda: np_method(out=np_buf, dtype=np_dtype), repeat,
                          warmup=lambda: np_method(out=np_buf[:n_warm], dtype=np_dtype)),
                note="float32 buffer of the same count (NumPy cannot write 16-bit floats)"
                if sixteen else "")
            res = RuleResult(rule.name, shape, pxi_timing, np_timing)

            if torch is not None:
                fn_name, kwargs, label = torch_equivalent(rule, shape)
                prog.step(f"{rule.name}: torch {fn_name}")
                init = getattr(torch.nn.init, fn_name)
                note = ""
                if fn_name == "trunc_normal_" and n > TORCH_TRUNC_SLICE:
                    t_n, t_view = TORCH_TRUNC_SLICE, tbuf[:TORCH_TRUNC_SLICE]
                    note = f"timed on a {t_n}-element slice, scaled per value"
                else:
                    t_n, t_view = n, tbuf.view(shape)
                w_view = tbuf[:n_warm].view(warm_shape) if t_view.dim() == 2 else tbuf[:n_warm]
                if fn_name == "trunc_normal_":
                    w_view = w_view.view(-1)[:4096]
                try:
                    t = best_time(lambda: init(t_view, **kwargs), repeat,
                                  warmup=lambda: init(w_view, **kwargs))
                    res.torch = Timing(f"torch.nn.init.{label}", t_n,
                                       t_view.element_size(), t, note)
                except Exception as exc:  # e.g. a dtype this torch build lacks
                    res.torch_error = f"{type(exc).__name__}: {exc}"
            results.append(res)
    finally:
        prog.close()
        if torch is not None and torch_threads_before is not None:
            torch.set_num_threads(torch_threads_before)

    info = pxi.info()
    report = {
        "philoxinit": pxi.__version__,
        "info": info,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": available_cpus(),
        "params": n,
        "dtype": dtype_name,
        "bytes_per_value": dtype.itemsize,
        "threads": threads,
        "repeat": repeat,
        "numpy": {"version": np.__version__, "dtype": np.dtype(np_dtype).name, "threads": 1,
                  "bit_generator": "PCG64"},
        "torch": ({"version": torch.__version__, "threads": threads} if torch is not None
                  else None),
        "fill": fill.as_dict(),
        "results": [],
    }
    for r in results:
        entry = {"rule": r.rule, "shape": list(r.shape), **r.philoxinit.as_dict(),
                 "fraction_of_fill": fill.seconds / r.philoxinit.seconds,
                 "numpy": {**r.numpy.as_dict(),
                           "speedup": r.philoxinit.values_per_s / r.numpy.values_per_s}}
        if r.torch is not None:
            entry["torch"] = {**r.torch.as_dict(),
                              "speedup": r.philoxinit.values_per_s / r.torch.values_per_s}
        elif torch is not None:
            entry["torch"] = {"error": r.torch_error}
        else:
            entry["torch"] = None
        report["results"].append(entry)
    return report


# ---- output ------------------------------------------------------------------------------

def _g(x: float) -> str:
    return f"{x / 1e9:.3f}" if x < 1e10 else f"{x / 1e9:.1f}"


def _mib(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:,.0f} MiB" if n_bytes >= 2**20 else f"{n_bytes / 2**10:,.1f} KiB"


def header_lines(report: dict) -> list:
    """The lines above the table: build info and run parameters."""
    info = report["info"]
    build = dict(part.split("=", 1) for part in info["build"].split("; ") if "=" in part)
    compiler = build.get("compiler", info["build"])
    lines = [
        f"philoxinit {report['philoxinit']}: isa={info['isa']} (best {info['best_isa']}), "
        f"threads={report['threads']} (default {info['threads']}, {report['cpus']} CPUs), "
        f"openmp={'yes' if info['openmp'] else 'no'}, compiler={compiler}",
        f"N = {report['params']:,} x {report['dtype']} ({_mib(report['params'] * report['bytes_per_value'])}), "
        f"best of {report['repeat']}; numpy {report['numpy']['version']} "
        f"(PCG64, 1 thread, {report['numpy']['dtype']})"
        + (f"; torch {report['torch']['version']} ({report['torch']['threads']} threads)"
           if report["torch"] else "; torch: not compared"),
    ]
    return lines


def table_rows(report: dict) -> tuple:
    """``(columns, rows, footnotes)`` of the results table, as strings."""
    has_torch = report["torch"] is not None
    cols = ["rule", "shape", "G/s", "GB/s", "of fill", "numpy G/s", "x numpy"]
    if has_torch:
        cols += ["torch G/s", "x torch"]
    fill = report["fill"]
    rows = [["fill(1.0)", f"({report['params']},)", _g(fill["values_per_s"]),
             f"{fill['gb_per_s']:.2f}", "100%", "", ""] + (["", ""] if has_torch else [])]
    notes = []
    marks = {}

    def mark(note: str) -> str:
        if note not in marks:
            marks[note] = f"[{len(marks) + 1}]"
            notes.append(f"{marks[note]} {note}")
        return marks[note]

    for r in report["results"]:
        row = [r["rule"], "(" + ", ".join(map(str, r["shape"])) + ("," if len(r["shape"]) == 1 else "") + ")",
               _g(r["values_per_s"]), f"{r['gb_per_s']:.2f}", f"{100 * r['fraction_of_fill']:.0f}%",
               _g(r["numpy"]["values_per_s"]), f"{r['numpy']['speedup']:.2f}x"]
        if has_torch:
            t = r["torch"]
            if "error" in t:
                row += ["n/a" + mark(f"torch failed for {r['rule']}: {t['error']}"), ""]
            else:
                suffix = ""
                if not t["call"].endswith("." + r["rule"] + "_"):
                    suffix = mark(f"{r['rule']}: torch has no such rule; timed "
                                  f"{t['call']} with its parameters")
                if t.get("note"):
                    suffix += mark(f"{t['call']} {t['note']} "
                                   "(it runs at ~0.01 G/s)")
                row += [_g(t["values_per_s"]) + suffix, f"{t['speedup']:.2f}x"]
        rows.append(row)

    notes.append("G/s = 1e9 values written per second; GB/s = bytes written per second; "
                 "'of fill' = the buffer's fill(1.0) time / this time (memory-bandwidth ceiling)")
    notes.append(f"x numpy / x torch = their time per value / philoxinit's; numpy = "
                 f"np.random.default_rng(0).random (uniform rules) or .standard_normal (normal "
                 f"rules) with out=, dtype={report['numpy']['dtype']}, single-threaded")
    if report["dtype"] == "bfloat16":
        notes.append("bfloat16 fill row: buf.view(np.uint16).fill(0x3F80), the bits of 1.0 "
                     "(ml_dtypes' own fill converts per element and is no bandwidth ceiling)")
    if report["bytes_per_value"] == 2:
        notes.append(f"{report['dtype']} output: NumPy cannot write it, so NumPy fills a float32 "
                     "buffer of the same count")
    return cols, rows, notes


def render_plain(report: dict) -> str:
    """The report as plain aligned text."""
    cols, rows, notes = table_rows(report)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    left = {0, 1}

    def line(cells):
        return "  ".join(c.ljust(w) if i in left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = header_lines(report) + ["", line(cols), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    out += [""] + notes
    return "\n".join(out) + "\n"


def render_rich(report: dict, console) -> None:
    """Print the report as a ``rich`` table on ``console``."""
    from rich import box
    from rich.table import Table
    cols, rows, notes = table_rows(report)
    for h in header_lines(report):
        console.print(h, highlight=False, soft_wrap=True)
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    for i, c in enumerate(cols):
        table.add_column(c, justify="left" if i < 2 else "right", no_wrap=True,
                         min_width=widths[i],
                         style="bold" if c in ("G/s", "x numpy", "x torch") else None)
    for i, r in enumerate(rows):
        table.add_row(*r, style="dim" if i == 0 else None)
    # Never squeeze numbers into ellipses: a narrow terminal wraps the lines instead.
    needed = sum(w + 3 for w in widths) + 2
    if console.width < needed:
        console.width = needed
    console.print(table)
    for note in notes:
        console.print(note, style="dim", highlight=False, soft_wrap=True)


def _want_rich() -> bool:
    if not sys.stdout.isatty():
        return False
    try:
        import rich  # noqa: F401
        return True
    except ImportError:
        return False


# ---- entry point -------------------------------------------------------------------------

def cmd_bench(args, parser) -> int:
    """``philoxinit bench``."""
    try:
        resolve_dtype(args.dtype)
    except ValueError as exc:
        parser.error(str(exc))
    threads = args.threads or available_cpus()
    n = args.params
    try:
        report = run_bench(n, args.dtype, threads, args.rules, args.repeat,
                           use_torch=not args.no_torch, progress=not args.no_progress)
    except MemoryError:
        print(f"philoxinit bench: out of memory for --params {n:,} x {args.dtype}; "
              "try a smaller --params", file=sys.stderr)
        return 1
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif _want_rich():
        from rich.console import Console
        render_rich(report, Console())
    else:
        sys.stdout.write(render_plain(report))
    sys.stdout.flush()
    return 0


def cmd_info(args, parser) -> int:
    """``philoxinit info``: ``philoxinit.info()`` as JSON."""
    import philoxinit as pxi
    print(json.dumps(pxi.info(), indent=2))
    return 0


def main(argv: Optional[list] = None) -> int:
    """Run the ``philoxinit`` command line with ``argv`` (default ``sys.argv[1:]``).

    Returns the exit status: 0 on success, 2 on bad arguments (argparse's message on stderr).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        if args.command in ("demo", "checkpoint"):
            return args.func(args)
        return {"bench": cmd_bench, "info": cmd_info}[args.command](args, parser)
    except SystemExit as exc:  # argparse: --help / --version (0) and usage errors (2)
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    except BrokenPipeError:
        return _broken_pipe()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
