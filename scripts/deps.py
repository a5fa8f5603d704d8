"""Session `deps`: install pure-Python packages for the guest into deps/.

pip resolves the request twice. First as for an ordinary CPython 3.11 on this
host (a dry run): that names every package needed, at its newest usable
version. A package that resolution takes as compiled code or as a source
distribution, and that has no pure-Python wheel of that version, is built
into one from its source distribution when it can be (scripts/pure_wheels.py).
Then pip installs for python.wasm, pure-Python wheels only, the built ones
among them, into a copy of deps/ that replaces deps/ only when all went well.
Comparing the two resolutions names what the guest cannot have, and who
pulled it in.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.utils import NormalizedName
from packaging.version import Version

from scripts import layout
from scripts.pure_wheels import NoPureForm, pure_wheel
from scripts.requirement_files import (
    BuiltWheel,
    is_hash_pinned,
    pin_built_wheels,
    requirement_files,
    with_separate_files,
)
from scripts.resolution import Downgrade, Package, Resolution, downgrades
from scripts.shell import StageError, replace_dir, say
from scripts.sources import load_lock
from scripts.stamps import file_sha256

GUEST_REQUIREMENTS = layout.REPO / "requirements" / "guest.txt"
USAGE = "nox -s deps --"


def guest_python() -> Version:
    """The CPython version python.wasm is built from: what Requires-Python is checked against."""
    return Version(load_lock()["cpython"].version)


def pure_python() -> list[str]:
    """pip's options for wheels that run on python.wasm: pure Python, any platform.

    The exact version matters: "3.11" would mean 3.11.0, and some releases
    require a later 3.11.x than python.wasm's.
    """
    return ["--only-binary", ":all:", "--implementation", "py", "--abi", "none",
            "--platform", "any", "--python-version", str(guest_python())]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=USAGE,
        description="Install pure-Python packages for the guest into deps/. With no package, "
        f"install the pinned guest requirements ({GUEST_REQUIREMENTS.relative_to(layout.REPO)}). "
        "Everything else is passed to pip: requirement specifiers, local paths, -r FILE.",
    )
    parser.add_argument("packages", nargs="*", help="requirement specifiers or local paths")
    return parser


def requested(packages: Sequence[str]) -> list[str]:
    """pip's arguments for the request: the given ones, or the pinned guest requirements."""
    if not packages:
        return ["--require-hashes", "-r", str(GUEST_REQUIREMENTS)]
    return with_separate_files(packages)


def pip(command: str, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "pip", command, "--disable-pip-version-check", *arguments]


def pip_command(target: Path, requirements: Sequence[str], find_links: Sequence[Path] = (),
                report: Path | None = None) -> list[str]:
    """Install `requirements` into `target` from pure-Python wheels only."""
    links = [f"--find-links={path}" for path in find_links]
    reporting = ["--report", str(report)] if report else []
    return pip("install", "--target", str(target), "--upgrade", *pure_python(), *links,
               *reporting, *requirements)


def resolve_ordinary(requirements: Sequence[str], report: Path) -> tuple[Resolution | None, str]:
    """What an ordinary CPython 3.11 here would install, and pip's output.

    A dry run that ignores what is installed, so every package is reported.
    """
    result = subprocess.run(pip("install", "--dry-run", "--ignore-installed", "--quiet",
                                "--report", str(report), *requirements),
                            check=False, capture_output=True, text=True)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        return None, output
    return Resolution.from_file(report), output


def has_pure_wheel(package: Package, work: Path) -> bool:
    """Whether the index has a pure-Python wheel of exactly this version."""
    probe = work / "probe"
    result = subprocess.run(pip("install", "--dry-run", "--no-deps", "--ignore-installed",
                                "--quiet", "--target", str(probe), *pure_python(),
                                f"{package.name}=={package.version}"),
                            check=False, capture_output=True, text=True)
    return result.returncode == 0


def explain_failure(pip_output: str) -> str:
    """One actionable sentence for pip's most common failure here."""
    missing = re.findall(r"No matching distribution found for (\S+)", pip_output)
    if missing:
        return (f"no pure-Python wheel (py3-none-any) for Python 3.11 of: {', '.join(missing)}; "
                "python.wasm cannot load compiled extensions, so only pure-Python packages "
                "can be installed for the guest")
    return "pip failed (see its output above)"


def what_to_do(chain: Sequence[NormalizedName]) -> str:
    top, culprit = chain[0], chain[-1]
    if top == culprit:
        return f"use a pure-Python alternative to {culprit}"
    return (f"pin a version of {top} that does not need {culprit}, "
            f"or use a pure-Python alternative to {top}")


def no_pure_form_message(failures: Mapping[NormalizedName, str], ordinary: Resolution,
                         deps: Path) -> str:
    """Why the install failed: each package without a pure-Python form, and its chain."""
    lines = ["cannot install for the guest: python.wasm loads only pure-Python code, and "
             + ("this package has" if len(failures) == 1 else "these packages have")
             + " no pure-Python form:"]
    advice = []
    for name, reason in sorted(failures.items()):
        chain = ordinary.chain(name)
        via = ("requested directly" if len(chain) == 1
               else "pulled in by " + " -> ".join(chain))
        lines += [f"  {ordinary.packages[name]} ({via}):",
                  f"    no pure-Python wheel, and {reason}"]
        advice.append(what_to_do(chain))
    lines += [f"What to do: {'; '.join(dict.fromkeys(advice))}.",
              f"Nothing was installed: {deps} was left as it was."]
    return "\n".join(lines)


def _needs(downgrade: Downgrade, ordinary: Resolution,
           failures: Mapping[NormalizedName, str]) -> tuple[str, list[str]]:
    """What the newest version needs that the guest cannot have, and why, one per line."""
    newest = ordinary.packages[downgrade.name]
    python = guest_python()
    if not newest.supports(python):
        return f"Python {newest.requires_python} (python.wasm is Python {python})", []
    natives = sorted(ordinary.needs(downgrade.name) & failures.keys())
    needs = (", ".join(str(ordinary.packages[name]) for name in natives)
             or "something with no pure-Python form")
    return needs, [f"    {name}: no pure-Python wheel, and {failures[name]}" for name in natives]


def downgrade_message(found: Sequence[Downgrade], ordinary: Resolution,
                      failures: Mapping[NormalizedName, str], packages: Sequence[str],
                      deps: Path) -> str:
    """Why an install that pip could do was refused, and how to accept it."""
    lines = ["refusing to install an older major version of a package you asked for:"]
    for downgrade in found:
        needs, why = _needs(downgrade, ordinary, failures)
        lines.append(f"  {downgrade.name}: the guest would get {downgrade.installed}, because "
                     f"{downgrade.name} {downgrade.newest} needs {needs}")
        lines += why
    pins = " ".join(shlex.quote(downgrade.pin) for downgrade in found)
    given = " ".join(shlex.quote(package) for package in packages)
    lines += [f"To install the older version anyway, pin it: {USAGE} {given} {pins}",
              f"Nothing was installed: {deps} was left as it was."]
    return "\n".join(lines)


def older_version_note(downgrade: Downgrade, ordinary: Resolution,
                       failures: Mapping[NormalizedName, str]) -> str:
    """The notice for an older version installed all the same."""
    needs, why = _needs(downgrade, ordinary, failures)
    return "\n".join([(f"deps: note: {downgrade.name} {downgrade.installed} was installed, not "
                       f"the newest {downgrade.newest}, which needs {needs}"), *why])


def build_missing(ordinary: Resolution, work: Path
                  ) -> tuple[dict[NormalizedName, BuiltWheel], dict[NormalizedName, str]]:
    """Pure-Python wheels for what has none on the index; why others cannot have one."""
    built: dict[NormalizedName, BuiltWheel] = {}
    failures: dict[NormalizedName, str] = {}
    for package in sorted(ordinary.packages.values(), key=lambda package: package.name):
        if (package.is_pure_wheel or package.is_local or not package.supports(guest_python())
                or has_pure_wheel(package, work)):
            # Nothing to build, or nothing python.wasm could use: a release
            # that needs a later Python is left to pip to step around.
            continue
        try:
            wheel, sdist_sha256 = pure_wheel(package.name, package.version, work)
        except NoPureForm as error:
            failures[package.name] = error.reason
            continue
        built[package.name] = BuiltWheel(wheel, sdist_sha256, file_sha256(wheel))
    return built, failures


def with_built_wheels(arguments: list[str], built: Mapping[NormalizedName, BuiltWheel],
                      work: Path) -> list[str]:
    """`arguments` with each hash-pinned requirements file naming the built wheels."""
    out = list(arguments)
    for index in requirement_files(out):
        source = Path(out[index])
        if built and source.is_file() and is_hash_pinned(source):
            rewritten = work / f"{index}-{source.name}"
            pin_built_wheels(source, built, rewritten)
            out[index] = str(rewritten)
    return out


def stage_copy(deps: Path) -> Path:
    staging = deps.with_name(deps.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    if deps.is_dir():
        shutil.copytree(deps, staging, symlinks=True)
    else:
        staging.mkdir(parents=True)
    return staging


def install(packages: Sequence[str], deps: Path = layout.DEPS) -> None:
    """Install into a copy of deps/ and swap it in only when everything succeeded."""
    arguments = requested(packages)
    with tempfile.TemporaryDirectory(prefix="timecraft-deps-") as temporary:
        work = Path(temporary)
        say("deps: resolving as for an ordinary Python 3.11, to see what the guest needs")
        ordinary, ordinary_output = resolve_ordinary(arguments, work / "ordinary.json")
        built: dict[NormalizedName, BuiltWheel] = {}
        failures: dict[NormalizedName, str] = {}
        if ordinary is not None:
            built, failures = build_missing(ordinary, work)
        staging = stage_copy(deps)
        report = work / "guest.json"
        command = pip_command(staging, with_built_wheels(arguments, built, work),
                              [wheel.path.parent for wheel in built.values()], report)
        say(f"deps: installing for the guest into {staging.name}, a copy of {deps.name} "
            "that replaces it only if all goes well")
        say("+ " + shlex.join(command))
        result = subprocess.run(command, check=False, capture_output=True, text=True)
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        try:
            if result.returncode != 0:
                if ordinary is not None and failures:
                    raise StageError(no_pure_form_message(failures, ordinary, deps))
                if ordinary is None:
                    sys.stderr.write(ordinary_output)
                raise StageError(f"{explain_failure(result.stdout + result.stderr)}; "
                                 f"{deps} was left as it was")
            notes = []
            if ordinary is not None:
                older = downgrades(ordinary, Resolution.from_file(report))
                refused = [downgrade for downgrade in older
                           if downgrade.requested and downgrade.is_major]
                if refused:
                    raise StageError(downgrade_message(refused, ordinary, failures, packages,
                                                       deps))
                notes = [older_version_note(downgrade, ordinary, failures) for downgrade in older]
        except StageError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    replace_dir(staging, deps)
    for note in notes:
        say(note)


def main(argv: Sequence[str]) -> int:
    # Everything after `--` is pip's: options such as -r, --pre or --index-url
    # pass through untouched.
    if any(argument in ("-h", "--help") for argument in argv):
        build_parser().print_help()
        return 0
    install(list(argv))
    say(f"deps: installed into {layout.DEPS}")
    return 0
