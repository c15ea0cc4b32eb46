"""``philoxinit checkpoint`` (``python -m philoxinit.checkpoint``): the command lives in the
package :mod:`philoxinit._checkpoint` (spec parsing, HF models, file safety, shards, dask
workers); this module is its stable import path."""
import sys

from ._checkpoint import SpecError, add_parser, load_model, main, run

__all__ = ["SpecError", "add_parser", "load_model", "run", "main"]

if __name__ == "__main__":
    sys.exit(main())
