"""`python -m scripts COMMAND [ARGS...]`: the entry point Nox sessions call.

A build stage (`python -m scripts cpython`) does its own step only: Nox runs
the stages before it first (their `requires=` in noxfile.py), and a stage whose
inputs did not change does no work. Nox sessions give it no arguments, so the
build options are the environment switches (scripts/options.py); flags are
for running a stage by hand.
"""

from __future__ import annotations

import importlib
import sys

from scripts.options import parse_build_options
from scripts.shell import StageError

# Each build stage and the module that does its work.
BUILD_STAGES: dict[str, str] = {
    "toolchain": "toolchain", "sources": "sources", "libc": "libc", "sockets": "sockets",
    "sqlite": "sqlite", "bzip2": "bzip2", "xz": "xz", "cpython": "cpython",
    "optimize": "optimize", "stdlib": "stdlib", "build": "summary",
}
# Commands that are not build stages; their arguments are their own.
COMMANDS = ("run", "deps", "regrtest")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in (*BUILD_STAGES, *COMMANDS):
        print(f"usage: python -m scripts {{{','.join((*BUILD_STAGES, *COMMANDS))}}} [ARGS...]",
              file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    try:
        if command in COMMANDS:
            return int(importlib.import_module(f"scripts.{command}").main(args))
        options = parse_build_options(command, args)
        importlib.import_module(f"scripts.{BUILD_STAGES[command]}").build(options)
        return 0
    except StageError as error:
        print(f"error: {command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{command}: interrupted; earlier outputs are intact, rerun to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
