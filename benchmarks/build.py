"""`nox -s bench`: build-speed and size numbers, measured in a scratch copy of the repository.

It prints numbers next to the targets; it never fails because of them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from scripts import layout
from scripts.shell import StageError, say

TARGETS = {"no-op build": 15.0, "stdlib after an overlay edit": 5.0}
SIZE_TARGET_MB = 5.5
COPY_IGNORE = shutil.ignore_patterns(".git", ".nox", "build", "dist", "deps", "deps.new",
                                     "__pycache__", ".venv")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nox -s bench --",
        description="Time a cold build, a no-op build, and the edit-rebuild loops, in a "
        "scratch copy of this checkout (downloads come from the shared cache).",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    return parser


def nox(copy: Path, *args: str) -> float:
    """Seconds taken by `nox ARGS` in the scratch copy."""
    command = [sys.executable, "-m", "nox", "--no-color", *args]
    say(f"+ (cd {copy} && {' '.join(command)})")
    started = time.monotonic()
    result = subprocess.run(command, cwd=copy, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        sys.stdout.write(result.stdout[-5000:] + result.stderr[-5000:])
        raise StageError(f"nox {' '.join(args)} failed in the scratch copy {copy}")
    return seconds


def tool_seconds(copy: Path) -> float:
    timings = copy / "build" / "logs" / "timings.jsonl"
    if not timings.is_file():
        return 0.0
    return sum(json.loads(line)["seconds"] for line in timings.read_text().splitlines())


def append_line(path: Path, line: str) -> None:
    with path.open("a") as out:
        out.write(line)


def main(argv: Sequence[str]) -> int:
    options = build_parser().parse_args(argv)
    copy = Path(tempfile.mkdtemp(prefix="timecraft-python-bench-"))
    shutil.rmtree(copy)
    shutil.copytree(layout.REPO, copy, ignore=COPY_IGNORE, symlinks=True)
    results: dict[str, float] = {}
    try:
        results["cold build"] = nox(copy, "-s", "build")
        results["sum of tool runs in the cold build"] = tool_seconds(copy)
        results["no-op build"] = nox(copy, "-s", "build")
        overlays = sorted((copy / "python" / "Lib").rglob("*.py"))
        if overlays:
            append_line(overlays[0], "\n# touched by the benchmark\n")
            results["stdlib after an overlay edit"] = nox(copy, "-s", "stdlib")
        append_line(copy / "wasmedge_sock" / "src" / "socket.c", "\n/* touched by the benchmark */\n")
        results["build after a wasmedge_sock edit"] = nox(copy, "-s", "build")
        sizes = {path.name: path.stat().st_size / 1e6
                 for path in (copy / "dist" / "python.wasm", copy / "dist" / "python311.zip")}
    finally:
        if not options.keep:
            shutil.rmtree(copy, ignore_errors=True)
    say("")
    say(f"{'measure':40} {'seconds':>8}  target")
    for name, seconds in results.items():
        target = f"<= {TARGETS[name]:.0f} s" if name in TARGETS else ""
        say(f"{name:40} {seconds:8.1f}  {target}")
    for name, megabytes in sizes.items():
        target = f"<= {SIZE_TARGET_MB} MB" if name == "python.wasm" else ""
        say(f"{'size of ' + name:40} {megabytes:7.2f}M  {target}")
    return 0
