"""Compiled-module cache: a second start of the same module skips compilation.

Compiled code is stored by the sha256 of the module's bytes. Hashing a 20 MB
python.wasm costs more than the rest of a warm start's host work, so a small
index maps the file's identity (device, inode, size, mtime, ctime) to the hash
it had; only a changed or new file is read and hashed again.
"""

from __future__ import annotations

import os
from pathlib import Path

import wasmtime

from host.wasmtime_private import native_library_identity


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "timecraft-python" / "modules"


def _identity(info: os.stat_result) -> str:
    return (f"{info.st_dev:x}-{info.st_ino:x}-{info.st_size:x}-{info.st_mtime_ns:x}"
            f"-{info.st_ctime_ns:x}")


def _write_atomically(path: Path, data: bytes) -> None:
    import tempfile  # only needed on a cache miss

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)


def read_all(fd: int) -> bytes:
    """The whole file open at `fd`, from its start, whatever its offset."""
    size = os.fstat(fd).st_size
    pieces, offset = [], 0
    while piece := os.pread(fd, max(size - offset, 65536), offset):
        pieces.append(piece)
        offset += len(piece)
    return b"".join(pieces)


def _content_key(wasm_fd: int, index_entry: Path) -> tuple[str, bytes | None]:
    """The module's sha256, and its bytes when they had to be read for it."""
    try:
        key = index_entry.read_text().strip()
        if len(key) == 64:
            return key, None
    except OSError:
        pass
    import hashlib  # loading OpenSSL's hash code is slow; skip it when indexed

    data = read_all(wasm_fd)
    key = hashlib.sha256(data).hexdigest()
    try:
        _write_atomically(index_entry, key.encode())
    except OSError:
        pass  # an unwritable cache only costs the next start a hash
    return key, data


def load_module(engine: wasmtime.Engine, wasm_path: Path, wasm_fd: int | None = None
                ) -> wasmtime.Module:
    """Compile the module (open at `wasm_fd` if given, else at `wasm_path`), or reuse
    the cached compilation of identical bytes."""
    fd = os.open(wasm_path, os.O_RDONLY | os.O_CLOEXEC) if wasm_fd is None else wasm_fd
    try:
        return _load(engine, fd)
    finally:
        if wasm_fd is None:
            os.close(fd)


def _load(engine: wasmtime.Engine, wasm_fd: int) -> wasmtime.Module:
    directory = cache_dir()
    build = native_library_identity()
    index_entry = directory / "index" / f"{_identity(os.fstat(wasm_fd))}-{build}"
    key, data = _content_key(wasm_fd, index_entry)
    cached = directory / f"{key}-wasmtime-{build}.cwasm"
    if cached.is_file():
        try:
            return wasmtime.Module.deserialize_file(engine, str(cached))
        except wasmtime.WasmtimeError:
            cached.unlink(missing_ok=True)  # stale or truncated: recompile below
    module = wasmtime.Module(engine, data if data is not None else read_all(wasm_fd))
    try:
        _write_atomically(cached, module.serialize())
    except OSError:
        pass  # an unwritable cache only costs the next start a compilation
    return module
