"""The guest's file descriptor table: WASI fds mapped to host objects."""

from __future__ import annotations

import os
import stat

from host import wasi_abi as abi
from host.errors import WasiError


class Descriptor:
    """A guest fd backed by a host fd (file, directory, stdio)."""

    __slots__ = ("host_fd", "filetype", "rights_base", "rights_inheriting", "flags",
                 "preopen_path", "listing")

    def __init__(self, host_fd: int, filetype: int, rights_base: int, rights_inheriting: int,
                 flags: int = 0, preopen_path: str | None = None) -> None:
        self.host_fd = host_fd
        self.filetype = filetype
        self.rights_base = rights_base
        self.rights_inheriting = rights_inheriting
        self.flags = flags
        # The guest path of a preopened directory; None for everything else.
        self.preopen_path = preopen_path
        # Directory entries as last listed by fd_readdir, reused while paging.
        self.listing: list[tuple[bytes, int, int]] | None = None

    def read_into(self, buffers: list[memoryview]) -> int:
        return os.readv(self.host_fd, buffers)

    def write_from(self, buffers: list[memoryview]) -> int:
        return os.writev(self.host_fd, buffers)

    def set_nonblocking(self, nonblocking: bool) -> None:
        os.set_blocking(self.host_fd, not nonblocking)

    def close(self) -> None:
        os.close(self.host_fd)


def filetype_of(mode: int) -> int:
    if stat.S_ISREG(mode):
        return abi.FILETYPE_REGULAR_FILE
    if stat.S_ISDIR(mode):
        return abi.FILETYPE_DIRECTORY
    if stat.S_ISCHR(mode):
        return abi.FILETYPE_CHARACTER_DEVICE
    if stat.S_ISBLK(mode):
        return abi.FILETYPE_BLOCK_DEVICE
    if stat.S_ISLNK(mode):
        return abi.FILETYPE_SYMBOLIC_LINK
    if stat.S_ISSOCK(mode):
        return abi.FILETYPE_SOCKET_STREAM
    return abi.FILETYPE_UNKNOWN


def stdio_descriptor(host_fd: int) -> Descriptor:
    """A guest stdio fd on a duplicate, so closing it leaves the host's open."""
    try:
        own_fd = os.dup(host_fd)
    except OSError:
        # Started with this stdio fd closed: give the guest an empty stand-in
        # rather than letting a later open take the number.
        own_fd = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    mode = os.fstat(own_fd).st_mode
    if stat.S_ISREG(mode):
        return Descriptor(own_fd, abi.FILETYPE_REGULAR_FILE, abi.RIGHTS_FILE, 0)
    if stat.S_ISCHR(mode):
        # wasi-libc's isatty() means "character device without seek rights".
        rights = abi.RIGHTS_TTY if os.isatty(own_fd) else abi.RIGHTS_FILE
        return Descriptor(own_fd, abi.FILETYPE_CHARACTER_DEVICE, rights, 0)
    # Pipes and inherited sockets: plain byte streams to the guest.
    return Descriptor(own_fd, abi.FILETYPE_UNKNOWN, abi.RIGHTS_TTY, 0)


def preopen_descriptor(host_fd: int, guest_path: str) -> Descriptor:
    """The guest's descriptor for a granted directory, open at `host_fd` (now its own)."""
    return Descriptor(host_fd, abi.FILETYPE_DIRECTORY, abi.RIGHTS_DIRECTORY,
                      abi.RIGHTS_DIRECTORY | abi.RIGHTS_FILE, preopen_path=guest_path)


class FdTable:
    def __init__(self) -> None:
        self.entries: dict[int, Descriptor] = {}

    def get(self, fd: int, rights: int = 0) -> Descriptor:
        descriptor = self.entries.get(fd)
        if descriptor is None:
            raise WasiError(abi.EBADF)
        if descriptor.rights_base & rights != rights:
            raise WasiError(abi.ENOTCAPABLE)
        return descriptor

    def add(self, descriptor: Descriptor) -> int:
        fd = 0
        while fd in self.entries:
            fd += 1
        self.entries[fd] = descriptor
        return fd

    def remove(self, fd: int) -> Descriptor:
        descriptor = self.entries.pop(fd, None)
        if descriptor is None:
            raise WasiError(abi.EBADF)
        return descriptor

    def renumber(self, source: int, target: int) -> None:
        moving = self.get(source)
        replaced = self.get(target)
        if source == target:
            return
        # The moved descriptor keeps its own rights and preopen identity, so the
        # target number grants exactly what the source did, never more.
        del self.entries[source]
        self.entries[target] = moving
        replaced.close()

    def close_all(self) -> None:
        for descriptor in self.entries.values():
            try:
                descriptor.close()
            except OSError:
                pass
        self.entries.clear()
