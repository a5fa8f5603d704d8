"""Session `run`: run dist/python.wasm with deps/ and the stdlib zip on its path."""

from __future__ import annotations

import argparse
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

from scripts import layout
from scripts.runtime import Guest, guest_command
from scripts.shell import StageError, say


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nox -s run --",
        description="Run python.wasm: a script with arguments, -c CODE, -m MODULE, or the REPL "
        "when no argument is given. Everything is passed to the guest's python unchanged. "
        "The guest sees the current directory, dist/ and deps/.",
        add_help=False,
    )
    parser.add_argument("--cwd", type=Path, default=Path.cwd(),
                        help="the guest's working directory (nox passes the one it was started in)")
    parser.add_argument("python_args", nargs="*", help="arguments for python inside the guest")
    return parser


def main(argv: Sequence[str]) -> int:
    # After `--`, every argument, options included (-c, -m, -X ...), belongs to the guest.
    options = build_parser().parse_args(argv)
    for path in (layout.PYTHON_WASM, layout.STDLIB_ZIP):
        if not path.is_file():
            raise StageError(f"{path} is missing: run `nox -s build` first")
    command = guest_command(Guest(cwd=options.cwd.resolve()), options.python_args)
    say("+ " + shlex.join(command))
    return subprocess.run(command, cwd=options.cwd).returncode
