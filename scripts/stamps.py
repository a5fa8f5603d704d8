"""Stamps: a stage skips its work when the hash of its inputs is unchanged."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

Input = str | Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_under(path: Path) -> Iterable[Path]:
    """The files of a tree in a stable order (caches left out), or the path itself."""
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    elif path.exists():
        yield path


def fingerprint(*inputs: Input) -> str:
    """Hash of strings and of the names and contents of files or directory trees.

    A missing path hashes differently from an empty file, so creating an input
    changes the fingerprint too.
    """
    digest = hashlib.sha256()
    for item in inputs:
        if isinstance(item, Path):
            digest.update(b"path\0" + str(item).encode() + b"\0")
            if not item.exists():
                digest.update(b"missing\0")
            for file in files_under(item):
                digest.update(str(file.relative_to(item) if item.is_dir() else file.name).encode())
                digest.update(b"\0" + file_sha256(file).encode() + b"\0")
        else:
            digest.update(b"text\0" + item.encode() + b"\0")
    return digest.hexdigest()


class Stamp:
    """Records the input fingerprint of a stage's last completed run.

    It also remembers the outputs: a stamp only matches while every output
    still exists and every output file still has the content the stage wrote,
    so a deleted or hand-edited output is rebuilt.
    """

    def __init__(self, path: Path, outputs: Sequence[Path] = ()) -> None:
        self.path = path
        self.outputs = tuple(outputs)

    def _output_state(self) -> dict[str, str]:
        return {
            str(path): file_sha256(path) if path.is_file() else "directory"
            for path in self.outputs
            if path.exists()
        }

    def matches(self, key: str) -> bool:
        try:
            recorded = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return False
        return recorded == {"key": key, "outputs": self._output_state()} and len(
            recorded["outputs"]) == len(self.outputs)

    def record(self, key: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".tmp")
        temp.write_text(json.dumps({"key": key, "outputs": self._output_state()}, indent=1))
        os.replace(temp, self.path)
