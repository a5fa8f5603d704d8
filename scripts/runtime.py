"""How a guest runs: under timecraft when TIMECRAFT is set, else under the built-in host."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
    # The host package lives in this repository, which need not be the
    # working directory the guest is started from.
    return ["env", f"PYTHONPATH={layout.REPO}", sys.executable, "-m", "host"]


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
    command = [*runner_prefix(env), "run"]
    guest_env = {
        "PYTHONHOME": str(guest.stdlib_zip),
        "PYTHONPATH": guest.pythonpath,
        # wasi-libc (patched) starts in PWD, so relative script paths work.
        "PWD": str(guest.cwd),
        **(extra_env or {}),
    }
    for name, value in guest_env.items():
        command += ["-e", f"{name}={value}"]
    if runtime and not env.get("TIMECRAFT"):
        command += ["--runtime", runtime]
    folders = {guest.python_wasm.parent, guest.stdlib_zip.parent, guest.cwd, *guest.grants}
    if guest.deps.is_dir():
        folders.add(guest.deps)
    for folder in sorted(folders):
        command += ["--dir", str(folder)]
    command += ["--sockets", "wasmedgev2", "--", str(guest.python_wasm), *args]
    return command
