"""A guest made of thin wasm wrappers around every host function.

Each test calls host functions through real wasm imports (so the raw-value
trampolines, errno mapping and memory binding are all exercised) and reads or
writes the guest's memory directly from Python.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path
from typing import Callable

import wasmtime

from host import wasi_abi as abi
from host.builtin_runtime import CALL_GROUPS, BuiltinHost
from host.hostcall import declarations
from host.limits import limited_store
from host.requests import Grant, GuestLimits, RunRequest

GUEST_ROOT = "/sandbox"
ROOT_FD = 3  # first preopen after stdio
SCRATCH_START = 4096
MEMORY_PAGES = 16
_WAT_TYPES = {"i": "i32", "I": "i64"}
DIRECTORY_WRITE_RIGHTS = (abi.RIGHT_FD_WRITE | abi.RIGHT_FD_ALLOCATE
                          | abi.RIGHT_FD_FILESTAT_SET_SIZE)
SENTINEL = b"\xaa"


def _wrapper_module() -> str:
    imports, exports = [], []
    every = {}
    for call in declarations(*CALL_GROUPS):
        every.setdefault(call.name, call)  # the first form of each (sock_recv_from: v2)
    for name, call in every.items():
        params = call.params
        param_list = " ".join(_WAT_TYPES[p] for p in params)
        result = "(result i32)" if call.returns_errno else ""
        imports.append(f'(import "wasi_snapshot_preview1" "{name}" '
                       f'(func ${name} (param {param_list}) {result}))')
        body = " ".join(f"local.get {i}" for i in range(len(params)))
        exports.append(f'(func (export "{name}") (param {param_list}) {result} {body} call ${name})')
    return "(module\n" + "\n".join(imports) + f"\n(memory (export \"memory\") {MEMORY_PAGES})\n" \
        + "\n".join(exports) + ")"


_ENGINE = wasmtime.Engine()
_MODULE = wasmtime.Module(_ENGINE, _wrapper_module())


class WasiGuest:
    def __init__(self, grants: list[Grant], sockets: str = "wasmedgev2",
                 ca_file: str | None = None, args: list[str] | None = None,
                 env: dict[str, str] | None = None, ip_address: str | None = None,
                 api_serve: Callable[[socket.socket], None] | None = None,
                 limits: GuestLimits | None = None) -> None:
        request = RunRequest(module=Path("guest.wasm"), args=args or [], env=env or {},
                             grants=grants, sockets=sockets, ca_file=ca_file,
                             ip_address=ip_address, limits=limits or GuestLimits())
        self.host = BuiltinHost(request, api_serve)
        self.host.open_descriptors()
        linker, self.linker_state = self.host.link(_ENGINE, _MODULE)
        self.store = limited_store(_ENGINE, request.limits)
        instance = linker.instantiate(self.store, _MODULE)
        self._exports = instance.exports(self.store)
        self.memory = self._exports["memory"]
        self.host.memory.bind(self.store, self.memory)
        self._next = SCRATCH_START

    def call(self, name: str, *args: int) -> int:
        return self._exports[name](self.store, *args)

    def close(self) -> None:
        self.host.table.close_all()

    # -- guest memory ------------------------------------------------------------

    def alloc(self, size: int) -> int:
        address = (self._next + 7) & ~7
        if address + size > MEMORY_PAGES * 65536:
            address = SCRATCH_START
        self._next = address + size
        return address

    def bytes_at(self, data: bytes) -> int:
        address = self.alloc(max(len(data), 1))
        self.memory.write(self.store, data, address)
        return address

    def text(self, value: str | bytes) -> tuple[int, int]:
        data = value.encode() if isinstance(value, str) else value
        return self.bytes_at(data), len(data)

    def read(self, address: int, length: int) -> bytes:
        return bytes(self.memory.read(self.store, address, address + length))

    def u16(self, address: int) -> int:
        return struct.unpack("<H", self.read(address, 2))[0]

    def u32(self, address: int) -> int:
        return struct.unpack("<I", self.read(address, 4))[0]

    def u64(self, address: int) -> int:
        return struct.unpack("<Q", self.read(address, 8))[0]

    def iovec(self, buffers: list[tuple[int, int]]) -> int:
        return self.bytes_at(b"".join(struct.pack("<II", *item) for item in buffers))

    # -- common sequences ----------------------------------------------------------

    def open(self, path: str | bytes, dirfd: int = ROOT_FD, oflags: int = 0,
             rights: int | None = None, follow: bool = True, fdflags: int = 0
             ) -> tuple[int, int]:
        """path_open with every right, or like wasi-libc's opendir() with O_DIRECTORY:
        every right but the write ones, which make a directory's open fail with EISDIR."""
        if rights is None:
            rights = abi.RIGHTS_ALL & ~DIRECTORY_WRITE_RIGHTS \
                if oflags & abi.OFLAG_DIRECTORY else abi.RIGHTS_ALL
        out = self.alloc(4)
        errno = self.call("path_open", dirfd, abi.LOOKUP_SYMLINK_FOLLOW if follow else 0,
                          *self.text(path), oflags, rights, abi.RIGHTS_ALL, fdflags, out)
        return errno, (self.u32(out) if errno == 0 else -1)

    def write_fd(self, fd: int, data: bytes) -> tuple[int, int]:
        out = self.alloc(4)
        errno = self.call("fd_write", fd, self.iovec([(self.bytes_at(data), len(data))]), 1, out)
        return errno, self.u32(out)

    def read_fd(self, fd: int, size: int = 4096) -> tuple[int, bytes]:
        buffer, out = self.alloc(size), self.alloc(4)
        errno = self.call("fd_read", fd, self.iovec([(buffer, size)]), 1, out)
        return errno, (self.read(buffer, self.u32(out)) if errno == 0 else b"")

    def stat(self, path: str, dirfd: int = ROOT_FD, follow: bool = True) -> tuple[int, int]:
        """(errno, filetype) of path_filestat_get."""
        out = self.alloc(64)
        errno = self.call("path_filestat_get", dirfd,
                          abi.LOOKUP_SYMLINK_FOLLOW if follow else 0, *self.text(path), out)
        return errno, (self.read(out + 16, 1)[0] if errno == 0 else -1)

    def listdir(self, fd: int) -> tuple[int, list[str]]:
        buffer, out = self.alloc(8192), self.alloc(4)
        errno = self.call("fd_readdir", fd, buffer, 8192, 0, out)
        names, offset, used = [], 0, self.u32(out)
        while offset + 24 <= used:
            name_length = self.u32(buffer + offset + 16)
            names.append(self.read(buffer + offset + 24, name_length).decode())
            offset += 24 + name_length
        return errno, names


class SocketGuest(WasiGuest):
    """WasiGuest with helpers for the WasmEdge socket calls."""

    def address(self, ip: str, v1: bool = False) -> int:
        """A guest address descriptor {buf, buf_len} for `ip` (128-byte v2 form by default)."""
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        raw = socket.inet_pton(family, ip)
        if v1:
            buffer = self.bytes_at(raw)
            return self.bytes_at(struct.pack("<II", buffer, len(raw)))
        data = bytearray(128)
        data[0:2] = (2 if family == socket.AF_INET6 else 1).to_bytes(2, "little")
        data[2:2 + len(raw)] = raw
        return self.bytes_at(struct.pack("<II", self.bytes_at(bytes(data)), 128))

    def sentinel(self, size: int) -> int:
        """`size` bytes of 0xAA, so that a test sees exactly which bytes the host wrote."""
        return self.bytes_at(SENTINEL * size)

    def address_out(self, length: int = 128) -> int:
        """An output address descriptor {buf, buf_len} whose buffer is all sentinel."""
        return self.bytes_at(struct.pack("<II", self.sentinel(max(length, 1)), length))

    def buffer_of(self, descriptor: int) -> int:
        return self.u32(descriptor)

    def open_stream(self, family: int = 1) -> int:
        return self.socket(family, 2)

    def connect(self, fd: int, ip: str, port: int) -> int:
        return self.call("sock_connect", fd, self.address(ip), port)

    def bind(self, fd: int, ip: str, port: int = 0) -> int:
        return self.call("sock_bind", fd, self.address(ip), port)

    def listener(self, ip: str = "127.0.0.1", port: int = 0) -> tuple[int, int]:
        """A listening virtual stream socket: (fd, port)."""
        fd = self.socket(2 if ":" in ip else 1, 2)
        assert self.bind(fd, ip, port) == 0
        assert self.call("sock_listen", fd, 5) == 0
        return fd, self.local_port(fd)

    def accept(self, fd: int, flags: int = 0) -> tuple[int, int]:
        out = self.alloc(4)
        errno = self.call("sock_accept", fd, flags, out)
        return errno, (self.u32(out) if errno == 0 else -1)

    def name(self, fd: int, peer: bool = False) -> tuple[int, tuple[int, str, int]]:
        """(errno, (family, address text, port)) of getpeeraddr or getlocaladdr."""
        descriptor, out = self.address_out(), self.alloc(4)
        errno = self.call("sock_getpeeraddr" if peer else "sock_getlocaladdr", fd, descriptor,
                          out)
        if errno:
            return errno, (0, "", 0)
        family, raw = self.read_address(descriptor)
        text = socket.inet_ntop(socket.AF_INET if family == 1 else socket.AF_INET6, raw)
        return 0, (family, text, self.u32(out))

    def read_address(self, descriptor: int) -> tuple[int, bytes]:
        buffer = self.u32(descriptor)
        family = self.u16(buffer)
        return family, self.read(buffer + 2, 4 if family == 1 else 16)

    def socket(self, family: int, kind: int) -> int:
        out = self.alloc(4)
        assert self.call("sock_open", family, kind, out) == 0
        return self.u32(out)

    def local_port(self, fd: int) -> int:
        out = self.alloc(4)
        descriptor = self.bytes_at(struct.pack("<II", self.alloc(128), 128))
        assert self.call("sock_getlocaladdr", fd, descriptor, out) == 0
        return self.u32(out)

    def send(self, fd: int, data: bytes) -> tuple[int, int]:
        out = self.alloc(4)
        errno = self.call("sock_send", fd, self.iovec([(self.bytes_at(data), len(data))]), 1, 0,
                          out)
        return errno, self.u32(out)

    def recv(self, fd: int, size: int = 4096, flags: int = 0) -> tuple[int, bytes]:
        buffer, out, flags_out = self.alloc(size), self.alloc(4), self.alloc(4)
        errno = self.call("sock_recv", fd, self.iovec([(buffer, size)]), 1, flags, out,
                          flags_out)
        return errno, (self.read(buffer, self.u32(out)) if errno == 0 else b"")

    def set_nonblocking(self, fd: int) -> None:
        assert self.call("fd_fdstat_set_flags", fd, abi.FDFLAG_NONBLOCK) == 0

    def poll(self, fd: int, kind: int, timeout_ns: int = 5_000_000_000) -> list[int]:
        """Event types that fired (clock = timeout) for one fd subscription."""
        subscriptions = self.bytes_at(
            struct.pack("<QB7xI28x", 1, kind, fd)
            + struct.pack("<QB7xIxxxxQQH6x", 2, abi.EVENTTYPE_CLOCK, abi.CLOCK_MONOTONIC,
                          timeout_ns, 0, 0))
        events, out = self.alloc(64), self.alloc(4)
        assert self.call("poll_oneoff", subscriptions, events, 2, out) == 0
        return [self.read(events + 32 * i + 10, 1)[0] for i in range(self.u32(out))]

    def getsockopt(self, fd: int, level: int, option: int) -> tuple[int, int]:
        out = self.alloc(4)
        errno = self.call("sock_getsockopt", fd, level, option, out, 4)
        return errno, self.u32(out)

    def setsockopt(self, fd: int, level: int, option: int, value: bytes) -> int:
        return self.call("sock_setsockopt", fd, level, option, *self.text(value))
