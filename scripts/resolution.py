"""What pip resolved: the packages of a `pip install --report` and who needs whom.

The `deps` session resolves twice: once for an ordinary Python 3.11 (what the
user would get anywhere else) and once for python.wasm (pure-Python wheels
only). Comparing the two finds what the guest cannot have and why.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import Version

# Wheel tags python.wasm accepts: pure Python for any platform (py3-none-any,
# py311-none-any, ...). Compiled code, whatever its tag, cannot be loaded.
PURE_TAGS = frozenset(compatible_tags((3, 11), platforms=["any"]))


def is_pure_tagged(wheel_name: str) -> bool:
    """Whether a wheel's file name says it installs on any Python 3.11 platform."""
    try:
        tags: frozenset[Tag] = parse_wheel_filename(wheel_name)[3]
    except InvalidWheelFilename:
        return False
    return not tags.isdisjoint(PURE_TAGS)


@dataclass(frozen=True)
class Package:
    """One distribution of a resolution, with the file pip chose for it."""

    name: NormalizedName
    version: Version
    requested: bool  # named by the user rather than pulled in by another package
    requires: frozenset[NormalizedName]  # the packages of the same resolution it depends on
    artifact: str  # the chosen file's name; "" for a local directory or a VCS checkout
    requires_python: str = ""  # its Requires-Python, "" when it states none

    def supports(self, python: Version) -> bool:
        """Whether this version installs on that Python, as far as Requires-Python says."""
        try:
            return SpecifierSet(self.requires_python).contains(python, prereleases=True)
        except InvalidSpecifier:
            return True  # pip ignores a Requires-Python it cannot read, and so does this

    @property
    def is_pure_wheel(self) -> bool:
        return self.artifact.endswith(".whl") and is_pure_tagged(self.artifact)

    @property
    def is_local(self) -> bool:
        """A directory or checkout pip builds itself, as it would for any install."""
        return not self.artifact

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


def _requires(item: Mapping[str, Any], names: Iterable[str]) -> frozenset[NormalizedName]:
    """The names among `names` that `item` depends on, as far as its markers allow.

    A dependency behind an extra counts when the package offers that extra:
    the report does not say which extras other packages asked for, and the
    dependency is part of this resolution anyway, so the edge is real.
    """
    metadata = item["metadata"]
    extras = {"", *metadata.get("provides_extra", []), *item.get("requested_extras", [])}
    present = set(names)
    found = set()
    for line in metadata.get("requires_dist", []):
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue  # pip accepted the metadata; an oddity here only loses an edge
        name = canonicalize_name(requirement.name)
        if name not in present:
            continue
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras):
            found.add(name)
    return frozenset(found)


def _artifact(item: Mapping[str, Any]) -> str:
    info = item["download_info"]
    if "archive_info" not in info:
        return ""
    return str(info["url"]).rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Resolution:
    packages: Mapping[NormalizedName, Package]

    @classmethod
    def from_report(cls, report: Mapping[str, Any]) -> Resolution:
        """Parse pip's installation report (https://pip.pypa.io, "Installation Report")."""
        items = report["install"]
        names = [canonicalize_name(item["metadata"]["name"]) for item in items]
        packages = {
            name: Package(name=name, version=Version(item["metadata"]["version"]),
                          requested=bool(item.get("requested")),
                          requires=_requires(item, names) - {name}, artifact=_artifact(item),
                          requires_python=item["metadata"].get("requires_python", ""))
            for name, item in zip(names, items, strict=True)
        }
        return cls(packages)

    @classmethod
    def from_file(cls, path: Path) -> Resolution:
        return cls.from_report(json.loads(path.read_text()))

    def chain(self, name: NormalizedName) -> list[NormalizedName]:
        """The shortest path from a requested package down to `name` (both included)."""
        roots = [package.name for package in self.packages.values() if package.requested]
        came_from: dict[NormalizedName, NormalizedName | None] = {root: None for root in roots}
        queue = deque(roots)
        while queue:
            current = queue.popleft()
            if current == name:
                path = [current]
                while (parent := came_from[path[-1]]) is not None:
                    path.append(parent)
                return path[::-1]
            for child in sorted(self.packages[current].requires):
                if child not in came_from:
                    came_from[child] = current
                    queue.append(child)
        return [name]

    def needs(self, name: NormalizedName) -> set[NormalizedName]:
        """`name` and every package it depends on, directly or not."""
        seen = {name}
        stack = [name]
        while stack:
            for child in self.packages[stack.pop()].requires:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen


def major(version: Version) -> tuple[int, ...]:
    """The part of a version that changes on incompatible releases (0.x: the minor too)."""
    release = (*version.release, 0)
    return release[:2] if release[0] == 0 else release[:1]


@dataclass(frozen=True)
class Downgrade:
    """A package the guest would get at an older version than anywhere else."""

    name: NormalizedName
    installed: Version
    newest: Version
    requested: bool  # named by the user rather than pulled in by another package

    @property
    def is_major(self) -> bool:
        """Whether the guest's version is an older major version: likely incompatible."""
        return major(self.installed) < major(self.newest)

    @property
    def pin(self) -> str:
        """For a major downgrade: a requirement that keeps to the installed major version.

        Its bound is the installed version's next major version, not the
        newest's, so that under it an ordinary resolution picks this major
        version too: the pin settles the question for good.
        """
        *head, last = major(self.installed)
        bound = ".".join(str(part) for part in (*head, last + 1))
        return f"{self.name}<{bound}"


def downgrades(ordinary: Resolution, guest: Resolution) -> list[Downgrade]:
    """Packages whose guest version is older than the ordinary one.

    Both resolutions honour the same requirements, so a version the user
    pinned is pinned in both and never shows up here.
    """
    found = []
    for name, package in sorted(guest.packages.items()):
        newest = ordinary.packages.get(name)
        if newest is not None and package.version < newest.version:
            found.append(Downgrade(name, package.version, newest.version, package.requested))
    return found
