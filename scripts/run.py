"""Session `run`: run dist/python.wasm with deps/ and the stdlib zip on its path."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

from scripts import layout
from scripts.runtime import Guest, guest_command
from scripts.shell import StageError, say

# CPython's options that take the next word as their argument (Python/getopt.c).
SHORT_OPTIONS_WITH_ARGUMENT = "WX"
LONG_OPTIONS_WITH_ARGUMENT = {"--check-hash-based-pycs"}


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


def script_argument(python_args: Sequence[str]) -> str | None:
    """The script python would run given `python_args`; None for -c, -m, stdin or the REPL."""
    words = iter(python_args)
    for word in words:
        if word == "--":
            return next(words, None)
        if word == "-" or not word.startswith("-"):
            return None if word == "-" else word
        if word.startswith("--"):
            if word in LONG_OPTIONS_WITH_ARGUMENT:
                next(words, None)
            continue
        for position, letter in enumerate(word[1:], start=1):
            if letter in "cm":  # -c CODE and -m MODULE end the options: no script
                return None
            if letter in SHORT_OPTIONS_WITH_ARGUMENT:
                if position == len(word) - 1:  # -W ARG, not -Wignore
                    next(words, None)
                break
    return None


def script_folder(python_args: Sequence[str], cwd: Path) -> Path | None:
    """The script's folder when the guest would not see it otherwise.

    timecraft shows the guest the whole file system, so `run -- /elsewhere/x.py`
    works there; the built-in host shows only its grants, so the script's
    folder joins them (writable, as under timecraft: scripts write beside
    themselves).
    """
    script = script_argument(python_args)
    if script is None:
        return None
    # The folder under the name the guest will open it by: `..` is resolved,
    # symbolic links are not (the guest resolves those itself, within grants).
    folder = Path(os.path.abspath(cwd / script)).parent
    if not folder.is_dir() or folder.is_relative_to(cwd) or folder == Path(folder.anchor):
        return None  # nothing to grant, already seen, or the whole file system
    return folder


def main(argv: Sequence[str]) -> int:
    # After `--`, every argument, options included (-c, -m, -X ...), belongs to the guest.
    options = build_parser().parse_args(argv)
    for path in (layout.PYTHON_WASM, layout.STDLIB_ZIP):
        if not path.is_file():
            raise StageError(f"{path} is missing: run `nox -s build` first")
    cwd = options.cwd.resolve()
    folder = script_folder(options.python_args, cwd)
    if folder is not None:
        say(f"run: the guest also sees {folder}, the script's folder")
    grants = () if folder is None else (folder,)
    command = guest_command(Guest(cwd=cwd, grants=grants), options.python_args)
    if layout.REPO.is_relative_to(cwd) and not os.environ.get("TIMECRAFT"):
        say(f"run: {layout.REPO} is read-only to the guest: it holds code the host runs "
            "(start from another directory to let a script write its files there)")
    say("+ " + shlex.join(command))
    return subprocess.run(command, cwd=options.cwd).returncode
