"""Running external commands visibly, and failing with actionable errors."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path

from scripts import layout


class StageError(Exception):
    """A failure the user can act on; the message says what and how to fix it."""


def say(message: str) -> None:
    print(message, flush=True)


def run(
    command: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> None:
    """Echo `command`, run it, and turn a failure into a StageError.

    `env` entries are added to the inherited environment and echoed with the
    command so it can be copied and re-run by hand. With `log`, the tool's
    output goes to that file (configure and make are chatty) and its tail is
    shown only when the command fails.
    """
    words = [str(word) for word in command]
    prefix = "".join(f"{name}={shlex.quote(value)} " for name, value in (env or {}).items())
    where = f"(cd {shlex.quote(str(cwd))} && " if cwd else ""
    say(f"+ {where}{prefix}{shlex.join(words)}{')' if cwd else ''}")
    full_env = {**os.environ, **(env or {})}
    log_start = 0
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)
        log_start = log.stat().st_size if log.exists() else 0
        say(f"  (output in {log})")
    started = time.monotonic()
    try:
        with open(log, "a") if log else nullcontext() as sink:
            returncode = subprocess.run(
                words, cwd=cwd, env=full_env, stdout=sink, stderr=subprocess.STDOUT if log else None
            ).returncode
    except FileNotFoundError as error:
        raise StageError(f"cannot run {words[0]}: {error.strerror}") from error
    record_timing(words, time.monotonic() - started)
    if returncode != 0:
        if log:
            with log.open("rb") as stream:
                stream.seek(log_start)  # this command's output only
                tail = stream.read().decode(errors="replace").splitlines()[-40:]
            sys.stdout.write("\n".join(tail) + "\n")
        where = f"; full output in {log}" if log else ""
        raise StageError(f"command failed with exit status {returncode}: {shlex.join(words)}{where}")


def record_timing(words: Sequence[str], seconds: float) -> None:
    """Append to build/logs/timings.jsonl, from which the benchmark sums tool time."""
    layout.LOGS.mkdir(parents=True, exist_ok=True)
    with (layout.LOGS / "timings.jsonl").open("a") as out:
        out.write(json.dumps({"command": shlex.join(words), "seconds": round(seconds, 3)}) + "\n")


def output(command: Sequence[str | Path]) -> str:
    """Output of a quick query command (versions, paths); not echoed."""
    try:
        result = subprocess.run(
            [str(word) for word in command], capture_output=True, text=True, errors="replace"
        )
    except OSError as error:
        raise StageError(f"cannot run {command[0]}: {error.strerror}") from error
    if result.returncode != 0:
        raise StageError(f"{shlex.join(map(str, command))} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def which(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


def replace_dir(new: Path, target: Path) -> None:
    """Put the finished directory `new` at `target`, removing the old one.

    The old output is moved aside before the new one takes its name, so an
    interruption never leaves `target` half-written.
    """
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def publish(built: Path, target: Path) -> None:
    """Copy a variant's finished artifact to dist/, atomically.

    Each build variant keeps its own artifacts under build/, so switching
    variants only copies files into dist/ instead of rebuilding them.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + ".tmp")
    shutil.copyfile(built, temp)
    os.replace(temp, target)


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
