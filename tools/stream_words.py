#!/usr/bin/env python3
"""Write the raw Philox4x32-10 words of (SEED, STREAM) to stdout as little-endian uint32, in
chunks, forever (or until the reader closes the pipe). For ``dieharder -g 200``.

    python tools/stream_words.py SEED STREAM [--offset K] [--chunk WORDS]

STREAM is an int if it parses as one, else a stream name (str).
"""
from __future__ import annotations

import argparse
import os
import sys

import philoxinit as pxi


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("seed", type=int)
    p.add_argument("stream")
    p.add_argument("--offset", type=int, default=0, help="first word (default 0)")
    p.add_argument("--chunk", type=int, default=1 << 20, help="words per write (default 2**20)")
    args = p.parse_args(argv)
    stream = int(args.stream) if args.stream.lstrip("-").isdigit() else args.stream
    out = sys.stdout.buffer
    offset = args.offset
    try:
        while True:
            words = pxi.random_raw(args.chunk, seed=args.seed, stream=stream, offset=offset)
            out.write(words.astype("<u4", copy=False).tobytes())
            offset += args.chunk
    except BrokenPipeError:
        # the reader is done: silence the flush at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
