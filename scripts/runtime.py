"""How a guest runs: under timecraft when TIMECRAFT is set, else under the built-in host."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from host.cli import run_arguments
from host.requests import Grant, RunRequest
from scripts import layout


@dataclass(frozen=True)
class Guest:
    """Where python.wasm, its stdlib and its packages are, and what it may see."""

    python_wasm: Path = layout.PYTHON_WASM
    stdlib_zip: Path = layout.STDLIB_ZIP
    deps: Path = layout.DEPS
    cwd: Path = field(default_factory=Path.cwd)
    grants: tuple[Path, ...] = ()

    @property
    def pythonpath(self) -> str:
        return f"{self.deps}:{self.stdlib_zip}"


def runner_prefix(env: Mapping[str, str]) -> list[str]:
    """The command that stands for `timecraft` (it is followed by `run ...`)."""
    if env.get("TIMECRAFT"):
        return shlex.split(env["TIMECRAFT"])
    # The session's environment has the host package installed (pyproject.toml).
    return [sys.executable, "-m", "host"]


def guest_command(
    guest: Guest,
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    runtime: str | None = None,
) -> list[str]:
    """The command line that runs python.wasm with `args`, the one timecraft's README uses.

    timecraft exposes the whole host file system and environment; the
    built-in host shows only what is granted, so the command also grants the
    folders the guest needs (stdlib, deps, the working directory). timecraft
    takes the same --dir options, so one command line serves both, and
    TIMECRAFT may name the built-in host too.
    """
    env = os.environ if env is None else env
    guest_env = {
        "PYTHONHOME": str(guest.stdlib_zip),
        "PYTHONPATH": guest.pythonpath,
        # wasi-libc (patched) starts in PWD, so relative script paths work.
        "PWD": str(guest.cwd),
        **(extra_env or {}),
    }
    # What later runs load (the interpreter, its stdlib, the installed
    # packages) is granted read-only; timecraft has no read-only grants.
    loaded = {guest.python_wasm.parent, guest.stdlib_zip.parent}
    if guest.deps.is_dir():
        loaded.add(guest.deps)
    read_only = set() if env.get("TIMECRAFT") else loaded
    folders = {*loaded, guest.cwd, *guest.grants}
    request = RunRequest(module=guest.python_wasm, args=list(args), env=guest_env,
                         grants=[Grant(folder, str(folder), folder in read_only)
                                 for folder in sorted(folders)],
                         sockets="wasmedgev2")
    runtime = None if env.get("TIMECRAFT") else runtime
    return [*runner_prefix(env), *run_arguments(request, runtime=runtime)]
