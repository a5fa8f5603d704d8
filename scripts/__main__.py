"""`python -m scripts STAGE [--prerequisite] [ARGS...]`: the entry point Nox sessions call."""

from __future__ import annotations

import importlib
import sys

from scripts.shell import StageError

STAGES = ("toolchain", "sources", "libc", "sockets", "sqlite", "bzip2", "xz", "cpython", "optimize",
          "stdlib", "summary", "run", "deps", "regrtest", "bench", "bench_host")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in STAGES:
        print(f"usage: python -m scripts {{{','.join(STAGES)}}} [--prerequisite] [ARGS...]",
              file=sys.stderr)
        return 2
    stage, rest = argv[0], argv[1:]
    # A stage run only because another session requires it also receives that
    # session's arguments; it must not reject them.
    strict = not (rest[:1] == ["--prerequisite"])
    if not strict:
        rest = rest[1:]
    module = importlib.import_module(f"scripts.{stage}")
    try:
        return int(module.main(rest, strict))
    except StageError as error:
        print(f"error: {stage}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{stage}: interrupted; earlier outputs are intact, rerun to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
