"""A minimal PEP 517 build backend for the source distributions the unit tests build.

It needs nothing from an index, so pip builds these sdists offline. The
project is described by tiny.json: name, version, requirements,
Requires-Python and an optional C extension, which is compiled with $CC as setuptools would: with
"optional" true a failed compile falls back to plain Python (MarkupSafe's
setup.py does this), otherwise the build fails. Like setuptools, a project
that declares an extension gets a wheel tagged for this host, whether the
extension compiled or not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shlex
import subprocess
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

CONFIG = "tiny.json"


def _config() -> dict[str, Any]:
    return json.loads(Path(CONFIG).read_text())  # type: ignore[no-any-return]


def metadata(config: dict[str, Any]) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {config['name']}", f"Version: {config['version']}"]
    lines += [f"Requires-Dist: {requirement}" for requirement in config.get("requires", [])]
    if config.get("requires_python"):
        lines.append(f"Requires-Python: {config['requires_python']}")
    return "\n".join(lines) + "\n"


def dist_info(config: dict[str, Any]) -> str:
    return f"{config['name']}-{config['version']}.dist-info"


def write_wheel(directory: str, config: dict[str, Any], files: dict[str, bytes], tag: str) -> str:
    """Write a wheel of `files` plus its metadata; returns the file name."""
    info = dist_info(config)
    wheel_file = (f"Wheel-Version: 1.0\nGenerator: tiny_backend\n"
                  f"Root-Is-Purelib: {'true' if tag.endswith('-none-any') else 'false'}\n"
                  f"Tag: {tag}\n")
    members = {**files, f"{info}/METADATA": metadata(config).encode(),
               f"{info}/WHEEL": wheel_file.encode()}
    record = []
    for name, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    members[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    name = f"{config['name']}-{config['version']}-{tag}.whl"
    with zipfile.ZipFile(Path(directory) / name, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return name


def _compile(source: str) -> bytes | None:
    output = Path("extension.so")
    command = [*shlex.split(os.environ.get("CC", "cc")), "-shared", "-fPIC", "-o", str(output),
               source]
    try:
        subprocess.run(command, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return output.read_bytes()


def get_requires_for_build_wheel(config_settings: object = None) -> list[str]:
    return []


def get_requires_for_build_sdist(config_settings: object = None) -> list[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str,
                                     config_settings: object = None) -> str:
    config = _config()
    target = Path(metadata_directory) / dist_info(config)
    target.mkdir()
    (target / "METADATA").write_text(metadata(config))
    return target.name


def build_wheel(wheel_directory: str, config_settings: object = None,
                metadata_directory: object = None) -> str:
    config = _config()
    package = config["name"]
    files = {f"{package}/{path.name}": path.read_bytes()
             for path in sorted(Path(package).glob("*.py"))}
    tag = "py3-none-any"
    extension = config.get("extension")
    if extension:
        tag = f"cp311-cp311-{sysconfig.get_platform().replace('-', '_').replace('.', '_')}"
        compiled = _compile(extension["source"])
        if compiled is None and not extension["optional"]:
            raise RuntimeError(f"{package}: compiling {extension['source']} failed")
        if compiled is not None:
            files[f"{package}/_speedups{sysconfig.get_config_var('EXT_SUFFIX')}"] = compiled
    return write_wheel(wheel_directory, config, files, tag)
