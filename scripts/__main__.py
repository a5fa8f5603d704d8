"""`python -m scripts COMMAND [ARGS...]`: the entry point Nox sessions call.

A build stage (`python -m scripts cpython --debug`) first runs the stages it
depends on, in order, all with the build options given to it; a stage whose
inputs did not change does no work. Without arguments the options come from
the environment switches alone: that is how the sessions that use the build
(run, the guest tests, ...) build, so that their own arguments stay theirs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator

from scripts.options import parse_build_options
from scripts.shell import StageError

# Each build stage, the stages it needs first, and the module that does its work.
BUILD_STAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "toolchain": ((), "toolchain"),
    "sources": ((), "sources"),
    "libc": (("toolchain", "sources"), "libc"),
    "sockets": (("libc",), "sockets"),
    "cpython": (("sockets",), "cpython"),
    "optimize": (("cpython",), "optimize"),
    "stdlib": (("cpython",), "stdlib"),
    "build": (("optimize", "stdlib"), "summary"),
}
# Commands that are not build stages; their arguments are their own.
COMMANDS = ("run", "deps")


def stage_order(target: str) -> Iterator[str]:
    """`target`'s prerequisites, depth first and each once, then `target` itself."""
    done: set[str] = set()

    def visit(stage: str) -> Iterator[str]:
        for needed in BUILD_STAGES[stage][0]:
            if needed not in done:
                yield from visit(needed)
        done.add(stage)
        yield stage

    return visit(target)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in (*BUILD_STAGES, *COMMANDS):
        print(f"usage: python -m scripts {{{','.join((*BUILD_STAGES, *COMMANDS))}}} [ARGS...]",
              file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    step = command  # what an error message names: the stage that failed
    try:
        if command in COMMANDS:
            return int(importlib.import_module(f"scripts.{command}").main(args))
        options = parse_build_options(command, args)
        for step in stage_order(command):
            importlib.import_module(f"scripts.{BUILD_STAGES[step][1]}").build(options)
        return 0
    except StageError as error:
        print(f"error: {step}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{step}: interrupted; earlier outputs are intact, rerun to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
