"""`python -m benchmarks {build,host,deps,guest} [ARGS...]`: the benchmark sessions' entry point."""

from __future__ import annotations

import importlib
import sys

from scripts.shell import StageError

BENCHMARKS = ("build", "host", "deps", "guest")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHMARKS:
        print(f"usage: python -m benchmarks {{{','.join(BENCHMARKS)}}} [ARGS...]", file=sys.stderr)
        return 2
    try:
        return int(importlib.import_module(f"benchmarks.{argv[0]}").main(argv[1:]))
    except StageError as error:
        print(f"error: {argv[0]} benchmark: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
