"""The libraries' own floor under the build's layers, on this interpreter's standard library.

For every ``.py`` file of ``Lib/`` (``site-packages`` excluded), or a sample of them, one
process's CPU seconds for each library call the layers are built on, nothing of ours around it:
reading the file, ``ast.parse``, ``symtable.symtable``, ``compile`` of the tree, tree-sitter's
``Parser.parse``, and LibCST's ``parse_module`` with the layer's three metadata providers
resolved (``graph.extract.cst_extract.PROVIDERS``). Their sum is what a build cannot go below on
one core; a sample's sums are scaled to the whole library by its bytes.

    python bench/layer_floors.py [--sample 200] [--seed 1]
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import symtable
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import libcst as cst
import tree_sitter_python
from tree_sitter import Language, Parser

from graph.extract.cst_extract import PROVIDERS

LIB = Path(os.__file__).parent


def _files() -> list[Path]:
    return sorted(p for p in LIB.rglob("*.py") if "site-packages" not in p.parts)


def _libcst(data: bytes) -> object:
    return cst.MetadataWrapper(cst.parse_module(data)).resolve_many(PROVIDERS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=0, help="files (0: all)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    every = _files()
    picked = every if not args.sample else random.Random(args.seed).sample(every, args.sample)
    total_bytes = sum(p.stat().st_size for p in every)
    ts = Parser(Language(tree_sitter_python.language()))
    seconds = dict.fromkeys(
        ["read", "ast.parse", "symtable", "compile", "tree-sitter", "libcst"], 0.0
    )

    def timed(name: str, call: Callable[..., object], *args: object) -> object:
        started = time.process_time()
        try:
            return call(*args)
        except (SyntaxError, ValueError, RecursionError, cst.ParserSyntaxError, Exception):
            return None
        finally:
            seconds[name] += time.process_time() - started

    sample_bytes = 0
    warnings.simplefilter("ignore")
    for path in picked:
        data = timed("read", path.read_bytes)
        assert isinstance(data, bytes)
        sample_bytes += len(data)
        tree = timed("ast.parse", ast.parse, data)
        text = data.decode("utf-8", "replace")
        timed("symtable", symtable.symtable, text, str(path), "exec")
        if isinstance(tree, ast.Module):
            timed("compile", compile, tree, str(path), "exec", 0, True)
        timed("tree-sitter", ts.parse, data)
        timed("libcst", _libcst, data)
    scale = total_bytes / sample_bytes
    mib = f"{sample_bytes / 2**20:.1f} of {total_bytes / 2**20:.1f} MiB"
    print(f"{len(picked)} of {len(every)} files, {mib}; CPU seconds scaled to all:")
    print("| " + " | ".join(seconds) + " | sum |")
    print("|" + "---|" * (len(seconds) + 1))
    scaled = [value * scale for value in seconds.values()]
    print("| " + " | ".join(f"{value:.1f}" for value in scaled) + f" | {sum(scaled):.1f} |")


if __name__ == "__main__":
    main()
