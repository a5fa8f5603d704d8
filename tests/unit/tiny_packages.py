"""Source distributions and wheels the unit tests serve pip from a local folder."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import tiny_backend

BACKEND = Path(tiny_backend.__file__)
PYPROJECT = """\
[build-system]
requires = []
build-backend = "tiny_backend"
backend-path = ["."]
"""


def config(name: str, version: str, requires: tuple[str, ...] = (),
           extension: str | None = None, requires_python: str = "") -> dict[str, Any]:
    """A project; `extension` is "optional" or "required" for one that has a C extension."""
    settings: dict[str, Any] = {"name": name, "version": version, "requires": list(requires),
                                "requires_python": requires_python}
    if extension is not None:
        settings["extension"] = {"source": f"{name}/_speedups.c",
                                 "optional": extension == "optional"}
    return settings


def _files(settings: dict[str, Any]) -> dict[str, bytes]:
    name = settings["name"]
    files = {f"{name}/__init__.py": f"VERSION = {settings['version']!r}\n".encode()}
    if "extension" in settings:
        files[f"{name}/_speedups.c"] = b"int speedup(void) { return 1; }\n"
    return files


def sdist(index: Path, settings: dict[str, Any]) -> Path:
    """Write name-version.tar.gz, built by tiny_backend, into `index`."""
    root = f"{settings['name']}-{settings['version']}"
    members = {
        **_files(settings),
        tiny_backend.CONFIG: json.dumps(settings).encode(),
        "pyproject.toml": PYPROJECT.encode(),
        "tiny_backend.py": BACKEND.read_bytes(),
        "PKG-INFO": tiny_backend.metadata(settings).encode(),
    }
    index.mkdir(parents=True, exist_ok=True)
    path = index / f"{root}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def wheel(index: Path, settings: dict[str, Any], tag: str = "py3-none-any",
          extra: dict[str, bytes] | None = None) -> Path:
    """Write a wheel of the project, with `extra` members, into `index`."""
    index.mkdir(parents=True, exist_ok=True)
    files = {**_files(settings), **(extra or {})}
    return index / tiny_backend.write_wheel(str(index), settings, files, tag)
