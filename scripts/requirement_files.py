"""Hash-pinned requirements files (pip-compile --generate-hashes) given to `nox -s deps`.

In hash-checking mode pip installs only files whose sha256 the requirements
file lists. A wheel built here from a source distribution has its own hash,
so its line is rewritten to name that wheel, but only after the source it was
built from matched one of the line's hashes: the check still reaches back to
the pinned file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from scripts.shell import StageError

HASH_OPTION = re.compile(r"--hash[=\s]+sha256:([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class BuiltWheel:
    """A pure-Python wheel built from a source distribution with this sha256."""

    path: Path
    sdist_sha256: str
    wheel_sha256: str


def with_separate_files(arguments: Sequence[str]) -> list[str]:
    """`arguments` with every requirements file option spelled `-r FILE`."""
    out: list[str] = []
    for argument in arguments:
        if argument == "--requirement":
            out.append("-r")
        elif argument.startswith("--requirement="):
            out += ["-r", argument.partition("=")[2]]
        elif argument.startswith("-r") and len(argument) > 2:
            out += ["-r", argument[2:]]
        else:
            out.append(argument)
    return out


def requirement_files(arguments: Sequence[str]) -> list[int]:
    """Indexes of the files given with `-r` in `arguments` (see with_separate_files)."""
    return [index + 1 for index, argument in enumerate(arguments[:-1]) if argument == "-r"]


def logical_lines(text: str) -> list[str]:
    """The file's lines with backslash continuations joined, as pip reads them."""
    return re.sub(r"\\\r?\n", " ", text).splitlines()


def requirement_name(line: str) -> NormalizedName | None:
    """The project a requirement line names; None for options, comments and blanks."""
    text = HASH_OPTION.sub("", re.sub(r"(^|\s)#.*", "", line)).strip()
    if not text or text.startswith("-"):
        return None
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None  # a path or URL: pip reads it, nothing here to rewrite


def is_hash_pinned(path: Path) -> bool:
    return any(HASH_OPTION.search(line) for line in logical_lines(path.read_text()))


def pin_built_wheels(source: Path, built: Mapping[NormalizedName, BuiltWheel],
                     target: Path) -> None:
    """Write `source` to `target` with each built package's line naming its wheel.

    Raises StageError when a wheel was built from a source distribution whose
    hash the file does not list.
    """
    out = []
    for line in logical_lines(source.read_text()):
        name = requirement_name(line)
        wheel = built.get(name) if name else None
        if wheel is None:
            out.append(line)
            continue
        allowed = {digest.lower() for digest in HASH_OPTION.findall(line)}
        if wheel.sdist_sha256 not in allowed:
            raise StageError(
                f"{source}: the source distribution of {name} has sha256 "
                f"{wheel.sdist_sha256}, which the file does not list; a pure-Python wheel is "
                "built only from a source distribution the file pins. Regenerate the file "
                "with hashes for every file of the release (pip-compile --generate-hashes "
                "does), or check where the source distribution came from")
        requirement = HASH_OPTION.sub("", line).strip()
        out.append(f"{requirement} --hash=sha256:{wheel.wheel_sha256}")
    target.write_text("\n".join(out) + "\n")
