"""``philoxinit demo``: why the init rules exist, in one figure.

A deep MLP (``--depth`` 50 layers of ``--width`` 512 units, no biases) is run forward on a
batch of ``--batch`` 1000 standard-normal inputs, once with ReLU and once with tanh, for four
weight initializations (all from philoxinit, ``seed=--seed``, ``stream=f"layer{i}"`` for
layer ``i = 1..depth``, torch layout ``(out, in)``):

* ``N(0, 1)``        -- ``normal_(w, 0, 1)``
* ``N(0, 0.01^2)``   -- ``normal_(w, 0, 0.01)``
* Xavier normal      -- ``xavier_normal_(w)`` (torch: std ``sqrt(2 / (fan_in + fan_out))``)
* He normal          -- ``kaiming_normal_(w, nonlinearity="relu")`` (std ``sqrt(2 / fan_in)``)

The std of each layer's activations (after the nonlinearity) is printed for layers 1, 10, 25
and 50 and, with matplotlib (``pip install "philoxinit[plot]"``), plotted per layer on a log
scale, one panel per nonlinearity::

    philoxinit demo --out variance.png

He keeps the ReLU activations' std level and Xavier keeps tanh's near it, while N(0, 1)
explodes (ReLU) or saturates (tanh) and N(0, 0.01^2) vanishes. The forward pass runs in
float64 so that the exploding and vanishing runs stay finite over 50 layers.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Optional

import numpy as np

INITS = ("N(0, 1)", "N(0, 0.01^2)", "Xavier normal", "He normal (relu)")
ACTIVATIONS = ("relu", "tanh")
TABLE_LAYERS = (1, 10, 25, 50)
PLOT_HINT = 'for the figure, install matplotlib: pip install "philoxinit[plot]"'


def init_weight(init: str, width: int, seed: int, layer: int) -> np.ndarray:
    """The ``(width, width)`` float32 weight of ``layer`` (1-based) for ``init``."""
    import philoxinit as pxi
    w = np.empty((width, width), np.float32)
    kw = {"seed": seed, "stream": f"layer{layer}"}
    if init == "N(0, 1)":
        return pxi.normal_(w, 0.0, 1.0, **kw)
    if init == "N(0, 0.01^2)":
        return pxi.normal_(w, 0.0, 0.01, **kw)
    if init == "Xavier normal":
        return pxi.xavier_normal_(w, **kw)
    if init == "He normal (relu)":
        return pxi.kaiming_normal_(w, nonlinearity="relu", **kw)
    raise ValueError(f"unknown init {init!r}")


def activation_stds(width: int = 512, depth: int = 50, batch: int = 1000, seed: int = 0) -> dict:
    """``{activation: {init: [std after layer 1, ..., std after layer depth]}}``."""
    import philoxinit as pxi
    x0 = pxi.normal((batch, width), dtype=np.float64, seed=seed, stream="input")
    weights = {init: [init_weight(init, width, seed, i).astype(np.float64)
                      for i in range(1, depth + 1)] for init in INITS}
    act = {"relu": lambda z: np.maximum(z, 0.0, out=z), "tanh": lambda z: np.tanh(z, out=z)}
    result = {}
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for a in ACTIVATIONS:
            result[a] = {}
            for init in INITS:
                x, stds = x0, []
                for w in weights[init]:
                    x = act[a](x @ w.T)  # torch layout: y = x W^T
                    stds.append(float(x.std()))
                result[a][init] = stds
    return result


def table_lines(stds: dict, depth: int) -> list:
    """The table: one row per (activation, init), std at layers 1, 10, 25, 50 (those <= depth)."""
    layers = [layer for layer in TABLE_LAYERS if layer <= depth]
    if depth not in layers:
        layers.append(depth)
    head = ["activation", "init"] + [f"layer {layer}" for layer in layers]
    rows = [[a, init] + [f"{stds[a][init][layer - 1]:.3g}" for layer in layers]
            for a in ACTIVATIONS for init in INITS]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]

    def line(cells):
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return [line(head), line(["-" * w for w in widths])] + [line(r) for r in rows]


def plot(stds: dict, path: str, width: int, depth: int, batch: int, seed: int) -> None:
    """Two log-scale panels (ReLU, tanh) of std per layer, saved to ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    styles = {"N(0, 1)": ("tab:red", "-"), "N(0, 0.01^2)": ("tab:blue", "-"),
              "Xavier normal": ("tab:green", "-"), "He normal (relu)": ("tab:purple", "--")}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    layers = np.arange(1, depth + 1)
    titles = {"relu": "ReLU", "tanh": "tanh"}
    for ax, a in zip(axes, ACTIVATIONS):
        for init in INITS:
            y = np.asarray(stds[a][init], dtype=np.float64)
            y = np.where(np.isfinite(y) & (y > 0), y, np.nan)
            color, ls = styles[init]
            ax.plot(layers, y, ls, color=color, lw=2, label=init)
        ax.set_yscale("log")
        ax.set_title(f"{titles[a]} activations")
        ax.set_xlabel("layer")
        ax.grid(True, which="major", alpha=0.3)
        ax.set_xlim(1, depth)
    if depth >= 5:
        axes[1].annotate("N(0, 1): saturated at \u00b11", xy=(depth, stds["tanh"]["N(0, 1)"][-1]),
                         xytext=(0.97, 0.86), textcoords="axes fraction", ha="right",
                         fontsize=8, color="tab:red")
    axes[0].set_ylabel("std of activations")
    axes[1].legend(loc="lower left", fontsize=9)
    fig.suptitle(f"{depth}-layer MLP, width {width}, batch {batch}: std of activations per layer "
                 f"(philoxinit, seed={seed}, stream=\"layer{{i}}\")", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


from .cli import _positive_int as _positive, _seed  # noqa: E402  (one parser for every command)




def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``demo`` on an argparse subparsers object; sets ``func=run``."""
    p = subparsers.add_parser(
        "demo", help="plot the std of activations through a deep MLP per init rule",
        description="Std of activations layer by layer through a deep MLP (ReLU and tanh) for "
                    "N(0,1), N(0,0.01^2), Xavier normal and He normal weights from philoxinit: "
                    "prints a table and, with matplotlib, saves the figure.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default=None, metavar="PNG",
                   help="save the figure there (needs matplotlib); without --out no file is "
                        "written")
    p.add_argument("--width", type=_positive(8192), default=512, help="units per layer")
    p.add_argument("--depth", type=_positive(1000), default=50, help="number of layers")
    p.add_argument("--batch", type=_positive(100_000), default=1000, help="inputs per batch")
    p.add_argument("--seed", type=_seed, default=0, help="philoxinit seed")
    p.add_argument("--json", action="store_true",
                   help="print the stds per layer as JSON on stdout (instead of the table)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    """``philoxinit demo``; returns the exit status."""
    t0 = time.perf_counter()
    stds = activation_stds(args.width, args.depth, args.batch, args.seed)
    seconds = time.perf_counter() - t0
    try:
        import matplotlib  # noqa: F401
        have_plot = True
    except ImportError:
        have_plot = False
    saved = None
    if have_plot and args.out:
        try:
            plot(stds, args.out, args.width, args.depth, args.batch, args.seed)
            saved = args.out
        except OSError as exc:
            print(f"philoxinit demo: cannot write {args.out}: {exc}", file=sys.stderr)
            return 1
    if args.json:
        json.dump({"width": args.width, "depth": args.depth, "batch": args.batch,
                   "seed": args.seed, "std": stds, "figure": saved}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"std of activations, {args.depth}-layer MLP (width {args.width}, batch "
              f"{args.batch}, seed {args.seed}, float64 forward, {seconds:.1f} s)")
        print()
        print("\n".join(table_lines(stds, args.depth)))
        print()
        if saved:
            print(f"figure saved to {saved}")
        elif not args.out:
            print("no figure: pass --out variance.png to save one")
        else:
            print(f"no figure: matplotlib is not installed ({PLOT_HINT})")
    if args.out and not saved and args.json:
        print(f"philoxinit demo: no figure: {PLOT_HINT}", file=sys.stderr)
    return 0


def main(argv: Optional[list] = None) -> int:
    """``python -m philoxinit.demo``: the same as ``philoxinit demo``."""
    from .cli import run_subcommand
    return run_subcommand("demo", add_parser, argv, prog="philoxinit demo")

if __name__ == "__main__":
    sys.exit(main())
