"""The WebAssembly features a linked module uses, from its `target_features` section.

timecraft (wazero 1.5) runs WebAssembly core 2.0 only, and each clang release
turns more features on by default (clang 19: multivalue and reference types),
so the optimize stage checks what the linker recorded before publishing.
"""

from __future__ import annotations

from pathlib import Path

from scripts.options import WASM_FEATURES
from scripts.shell import StageError

MAGIC = b"\0asm\1\0\0\0"
CUSTOM_SECTION = 0
SECTION_NAME = "target_features"
USED = ord("+")
# LLVM's names for what core 2.0 holds: the features a build may choose, the
# core 1.0 one, and LLVM 20's parts of bulk memory and reference types.
CORE_2_0 = frozenset(WASM_FEATURES) | {"mutable-globals", "bulk-memory-opt", "call-indirect-overlong"}


class _Reader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.position, self.path = data, 0, path

    def byte(self) -> int:
        return self.raw(1)[0]

    def uleb(self) -> int:
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    def raw(self, size: int) -> bytes:
        if self.position + size > len(self.data):
            raise StageError(f"{self.path}: truncated WebAssembly module; rebuild it (`nox -s cpython`)")
        self.position += size
        return self.data[self.position - size:self.position]

    def name(self) -> str:
        return self.raw(self.uleb()).decode("utf-8", "replace")


def used_features(path: Path) -> set[str] | None:
    """The features `path` uses, or None when it has no target_features section."""
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise StageError(f"{path} is not a WebAssembly module; rebuild it (`nox -s cpython`)")
    reader = _Reader(data, path)
    reader.position = len(MAGIC)
    while reader.position < len(data):
        section = reader.byte()
        size = reader.uleb()
        end = reader.position + size
        if section == CUSTOM_SECTION and reader.name() == SECTION_NAME:
            used = set()
            for _ in range(reader.uleb()):
                prefix = reader.byte()
                feature = reader.name()
                if prefix == USED:
                    used.add(feature)
            return used
        reader.position = end
    return None


def check_core_2_0(path: Path) -> None:
    """Refuse a module that uses features beyond core 2.0 (tail calls, exceptions, threads...)."""
    used = used_features(path)
    if used is None:
        raise StageError(f"{path} has no target_features section, so its WebAssembly features "
                         "cannot be checked against core 2.0; link it with wasm-ld (`nox -s cpython`)")
    beyond = sorted(used - CORE_2_0)
    if beyond:
        raise StageError(
            f"{path} uses WebAssembly features beyond core 2.0: {', '.join(beyond)}; timecraft "
            "(wazero) cannot run it. The compiler turned them on by default: build with "
            + " ".join(f"-mno-{feature}" for feature in beyond) + ", or choose another clang (CC=...)")
