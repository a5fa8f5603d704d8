"""Session `deps`: install pure-Python packages for the guest into deps/."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from scripts import layout
from scripts.shell import StageError, replace_dir, say

GUEST_REQUIREMENTS = layout.REPO / "requirements" / "guest.txt"
# Wheels that run on any Python 3.11 interpreter, whatever its platform: the
# only kind python.wasm can import (it cannot load compiled extensions).
PURE_PYTHON = ["--only-binary", ":all:", "--implementation", "py", "--abi", "none",
               "--platform", "any", "--python-version", "3.11"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nox -s deps --",
        description="Install pure-Python packages for the guest into deps/. With no package, "
        f"install the pinned guest requirements ({GUEST_REQUIREMENTS.relative_to(layout.REPO)}).",
    )
    parser.add_argument("packages", nargs="*", help="requirement specifiers or local paths")
    return parser


def pip_command(target: Path, packages: Sequence[str]) -> list[str]:
    requirements = list(packages) or ["--require-hashes", "-r", str(GUEST_REQUIREMENTS)]
    return [sys.executable, "-m", "pip", "install", "--disable-pip-version-check",
            "--target", str(target), "--upgrade", *PURE_PYTHON, *requirements]


def explain_failure(pip_output: str) -> str:
    """One actionable sentence for pip's most common failure here."""
    missing = re.findall(r"No matching distribution found for (\S+)", pip_output)
    if missing:
        return (f"no pure-Python wheel (py3-none-any) for Python 3.11 of: {', '.join(missing)}; "
                "python.wasm cannot load compiled extensions, so only pure-Python packages "
                "can be installed for the guest")
    return "pip failed (see its output above)"


def install(packages: Sequence[str], deps: Path = layout.DEPS) -> None:
    """Install into a copy of deps/ and swap it in only when pip succeeded."""
    staging = deps.with_name(deps.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    if deps.is_dir():
        shutil.copytree(deps, staging, symlinks=True)
    else:
        staging.mkdir(parents=True)
    command = pip_command(staging, packages)
    say("+ " + " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise StageError(f"{explain_failure(result.stdout + result.stderr)}; "
                         f"{deps} was left as it was")
    replace_dir(staging, deps)


def main(argv: Sequence[str]) -> int:
    options = build_parser().parse_args(argv)
    install(options.packages)
    say(f"deps: installed into {layout.DEPS}")
    return 0
