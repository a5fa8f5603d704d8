"""Compiled-module cache: a second start of the same module skips compilation.

Compiled code is stored by the sha256 of the module's bytes. Hashing a 20 MB
python.wasm costs more than the rest of a warm start's host work, so a small
index maps the file's identity (device, inode, size, mtime, ctime) to the hash
it had; only a changed or new file is read and hashed again.

A compiled module is native code the host runs, so the cache hands back only
what this host wrote. Each entry has a tag beside it: a keyed hash, under a
per-user key kept in the cache directory (readable by the user only), of the
module's hash, the wasmtime build and the identity the entry file had when
this host wrote it; index records are tagged the same way. Any change to an
entry (replaced, renamed over, rewritten in place) changes its identity, as
no one but root can set a ctime; checking that identity costs a stat where
hashing the compiled code would cost more than the rest of a warm start. The
entry is loaded through the descriptor that was checked. An entry that fails
its check is reported, deleted and compiled again.

A guest must never reach this directory, whose key would let it sign code:
the host refuses grants that contain it or lie inside it (grant_problem).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import wasmtime

from host.grants import ancestors
from host.requests import Grant
from host.wasmtime_private import native_library_identity

KEY_FILE = "key"
_KEY_BYTES = 32
_TAG_BYTES = 32
# Marks the names of tagged entries and records, apart from the untagged ones
# older hosts wrote (and may still write) in the same directory.
_TAGGED = "-tagged"
_PATH_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "timecraft-python" / "modules"


def grant_problem(grants: Sequence[Grant]) -> str | None:
    """Why `grants` would let a guest change the code this host runs, if they would.

    They would if one contains the cache directory (the guest could read the
    key and sign its own code) or lies inside it.
    """
    directory = cache_dir()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        cache_fd = os.open(directory, _PATH_FLAGS)
    except OSError:
        return None  # no cache: nothing is loaded from it
    try:
        cache_chain = ancestors(cache_fd)
    finally:
        os.close(cache_fd)
    for grant in grants:
        fd = grant.host_fd if grant.host_fd is not None else os.open(grant.host_path, _PATH_FLAGS)
        try:
            grant_chain = ancestors(fd)
        finally:
            if fd != grant.host_fd:
                os.close(fd)
        if grant_chain[0] in cache_chain or cache_chain[0] in grant_chain:
            where = "contains" if grant_chain[0] in cache_chain else "is inside"
            return (f"the grant {grant.host_path} {where} the compiled-module cache "
                    f"{directory}, so the guest could change the native code this host runs: "
                    "grant a narrower directory, or move the cache by setting XDG_CACHE_HOME "
                    "to a directory outside every grant")
    return None


def _identity(info: os.stat_result) -> str:
    return (f"{info.st_dev:x}-{info.st_ino:x}-{info.st_size:x}-{info.st_mtime_ns:x}"
            f"-{info.st_ctime_ns:x}")


def _write_atomically(path: Path, data: bytes) -> None:
    import tempfile  # only needed on a cache miss

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
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


def _cache_key(directory: Path) -> bytes:
    """This user's key for signing cache entries, made on first use."""
    path = directory / KEY_FILE
    try:
        key: bytes | None = path.read_bytes()
    except FileNotFoundError:
        key = None
    if key is not None and len(key) == _KEY_BYTES:
        return key
    import secrets
    import tempfile

    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory)  # readable by this user only
    try:
        os.write(fd, secrets.token_bytes(_KEY_BYTES))
        os.close(fd)
        if key is None:
            try:
                os.link(name, path)
            except FileExistsError:
                pass  # another host made one meanwhile: it is the key
        else:
            os.replace(name, path)  # unusable: replaced (its entries will not verify)
            name = ""
    finally:
        if name:
            os.unlink(name)
    return path.read_bytes()


class _Signer:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def tag(self, *parts: bytes) -> bytes:
        # hashlib's own keyed BLAKE2b, imported without hashlib, which loads
        # OpenSSL: that costs a few milliseconds of every warm start.
        from _blake2 import blake2b

        return blake2b(b"\0".join(parts), digest_size=_TAG_BYTES, key=self._key).digest()

    def valid(self, tag: bytes, *parts: bytes) -> bool:
        # A plain comparison: only this user's own processes can present tags
        # (guests never reach the cache), so timing tells no one anything new.
        return tag == self.tag(*parts)


def _content_hash(wasm_fd: int, record: Path, signer: _Signer) -> tuple[str, bytes | None]:
    """The module's sha256, and its bytes when they had to be read for it."""
    name = record.name.encode()
    try:
        digest, _, tag = record.read_text().partition(" ")
        if len(digest) == 64 and signer.valid(bytes.fromhex(tag.strip()), b"index", name,
                                              digest.encode()):
            return digest, None
    except (OSError, ValueError):
        pass  # missing, or not one this host wrote: hash the module again
    import hashlib

    data = read_all(wasm_fd)
    digest = hashlib.sha256(data).hexdigest()
    try:
        tag = signer.tag(b"index", name, digest.encode()).hex()
        _write_atomically(record, f"{digest} {tag}".encode())
    except OSError:
        pass  # an unwritable cache only costs the next start a hash
    return digest, data


def _open_verified(entry: Path, signer: _Signer, digest: str, build: str) -> int | None:
    """A descriptor of `entry` if this host wrote it for this module, else None."""
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        with open(f"{entry}.tag") as tag_file:
            tag = bytes.fromhex(tag_file.read().strip())
    except (OSError, ValueError):
        tag = b""
    if signer.valid(tag, b"module", digest.encode(), build.encode(),
                    _identity(os.fstat(fd)).encode()):
        return fd
    os.close(fd)
    print(f"host: warning: {entry} is not a compiled module this host wrote for this module "
          "(its keyed hash does not match): compiling the module again", file=sys.stderr)
    entry.unlink(missing_ok=True)
    return None


def _store(entry: Path, signer: _Signer, digest: str, build: str, compiled: bytes) -> None:
    import tempfile  # only needed on a cache miss

    entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=entry.parent, delete=False) as tmp:
        tmp.write(compiled)
        tmp.flush()
        os.replace(tmp.name, entry)
        # The identity after the rename (which sets its ctime), from the file
        # itself: another host replacing the entry meanwhile changes nothing.
        identity = _identity(os.fstat(tmp.fileno()))
    tag = signer.tag(b"module", digest.encode(), build.encode(), identity.encode())
    _write_atomically(Path(f"{entry}.tag"), tag.hex().encode())


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
    try:
        signer = _Signer(_cache_key(directory))
    except OSError:
        return wasmtime.Module(engine, read_all(wasm_fd))  # no usable cache
    build = native_library_identity()
    record = directory / f"index{_TAGGED}" / f"{_identity(os.fstat(wasm_fd))}-{build}"
    digest, data = _content_hash(wasm_fd, record, signer)
    entry = directory / f"{digest}-wasmtime-{build}{_TAGGED}.cwasm"
    fd = _open_verified(entry, signer, digest, build)
    if fd is not None:
        try:
            # The very file just checked, whatever its name leads to now.
            return wasmtime.Module.deserialize_file(engine, f"/proc/self/fd/{fd}")
        except wasmtime.WasmtimeError:
            pass  # written by this host, but for a wasmtime that loads it no more
        finally:
            os.close(fd)
    module = wasmtime.Module(engine, data if data is not None else read_all(wasm_fd))
    try:
        _store(entry, signer, digest, build, bytes(module.serialize()))
    except OSError:
        pass  # an unwritable cache only costs the next start a compilation
    return module
