"""The guest's file descriptor table: WASI fds mapped to host objects."""

from __future__ import annotations

import fcntl
import os
import select
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

    def set_append(self, append: bool) -> None:
        host_flags = fcntl.fcntl(self.host_fd, fcntl.F_GETFL)
        host_flags = (host_flags | os.O_APPEND) if append else (host_flags & ~os.O_APPEND)
        fcntl.fcntl(self.host_fd, fcntl.F_SETFL, host_flags)

    def close(self) -> None:
        os.close(self.host_fd)


class SharedDescriptor(Descriptor):
    """A stdio fd, whose open file description the host shares with its parent.

    Status flags live in the description, so setting O_NONBLOCK or O_APPEND
    on the host fd would change the parent's terminal or pipe too, and keep
    it changed after the guest exits. The guest's fdflags stay in `flags`
    and are emulated here instead.
    """

    __slots__ = ()

    def set_nonblocking(self, nonblocking: bool) -> None:
        pass  # `flags` (set by fd_fdstat_set_flags) says it

    def set_append(self, append: bool) -> None:
        pass

    def _ready(self, events: int) -> bool:
        poller = select.poll()
        poller.register(self.host_fd, events)
        return bool(poller.poll(0))

    def read_into(self, buffers: list[memoryview]) -> int:
        if self.flags & abi.FDFLAG_NONBLOCK and not self._ready(select.POLLIN):
            raise WasiError(abi.EAGAIN)
        return os.readv(self.host_fd, buffers)

    def write_from(self, buffers: list[memoryview]) -> int:
        if self.flags & abi.FDFLAG_APPEND and self.filetype == abi.FILETYPE_REGULAR_FILE:
            os.lseek(self.host_fd, 0, os.SEEK_END)
        if self.flags & abi.FDFLAG_NONBLOCK and self.filetype != abi.FILETYPE_REGULAR_FILE:
            if not self._ready(select.POLLOUT):
                raise WasiError(abi.EAGAIN)
            # Writable means room for PIPE_BUF bytes at least: no more is
            # written at once, so the write returns without waiting.
            buffers = _first_bytes(buffers, select.PIPE_BUF)
        return os.writev(self.host_fd, buffers)


def _first_bytes(buffers: list[memoryview], limit: int) -> list[memoryview]:
    kept = []
    for buffer in buffers:
        if limit <= 0:
            break
        kept.append(buffer[:limit])
        limit -= len(kept[-1])
    return kept


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


def rights_for(filetype: int, host_fd: int) -> int:
    """Every right that means something for a descriptor of this type."""
    if filetype == abi.FILETYPE_DIRECTORY:
        return abi.RIGHTS_DIRECTORY
    if filetype in (abi.FILETYPE_REGULAR_FILE, abi.FILETYPE_BLOCK_DEVICE):
        return abi.RIGHTS_FILE
    if filetype == abi.FILETYPE_CHARACTER_DEVICE and not os.isatty(host_fd):
        return abi.RIGHTS_FILE  # /dev/null and the like accept seeks
    # wasi-libc's isatty() means "character device without seek rights";
    # pipes and sockets cannot seek either.
    return abi.RIGHTS_TTY


def stdio_descriptor(host_fd: int) -> Descriptor:
    """A guest stdio fd on a duplicate, so closing it leaves the host's open."""
    try:
        own_fd = os.dup(host_fd)
    except OSError:
        # Started with this stdio fd closed: give the guest an empty stand-in
        # rather than letting a later open take the number.
        own_fd = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    filetype = filetype_of(os.fstat(own_fd).st_mode)
    if filetype not in (abi.FILETYPE_REGULAR_FILE, abi.FILETYPE_CHARACTER_DEVICE):
        filetype = abi.FILETYPE_UNKNOWN  # pipes and inherited sockets: plain byte streams
    return SharedDescriptor(own_fd, filetype, rights_for(filetype, own_fd), 0)


def preopen_descriptor(host_fd: int, guest_path: str) -> Descriptor:
    """The guest's descriptor for a granted directory, open at `host_fd` (now its own)."""
    return Descriptor(host_fd, abi.FILETYPE_DIRECTORY, abi.RIGHTS_DIRECTORY,
                      abi.RIGHTS_DIRECTORY | abi.RIGHTS_FILE, preopen_path=guest_path)


_SOCKET_TYPES = (abi.FILETYPE_SOCKET_STREAM, abi.FILETYPE_SOCKET_DGRAM)
_DIRECTORY_ONLY_RIGHTS = abi.RIGHTS_DIRECTORY & ~abi.RIGHTS_FILE
_SEEK_RIGHTS = abi.RIGHT_FD_SEEK | abi.RIGHT_FD_TELL


def _missing_rights_errno(filetype: int, missing: int) -> int:
    """Why a descriptor cannot do what needs the `missing` rights.

    Rights follow the file type (see rights_for), so a right can be missing
    because the descriptor is the wrong kind of file: then the errno is the
    one POSIX gives for that (reading a directory is EISDIR, a path relative
    to a file ENOTDIR). Otherwise the guest gave the right up: ENOTCAPABLE.
    """
    if filetype == abi.FILETYPE_DIRECTORY:
        if missing & (abi.RIGHT_FD_READ | abi.RIGHT_FD_WRITE):
            return abi.EISDIR
        if missing & _SEEK_RIGHTS:
            return abi.EBADF  # what WASI's own tests expect of a directory
    elif missing & _DIRECTORY_ONLY_RIGHTS:
        return abi.ENOTDIR
    elif missing & _SEEK_RIGHTS and filetype not in (abi.FILETYPE_REGULAR_FILE,
                                                      abi.FILETYPE_BLOCK_DEVICE):
        return abi.ESPIPE
    return abi.ENOTCAPABLE


class FdTable:
    """The guest's descriptors, at most `max_descriptors` of them and `max_sockets` sockets."""

    def __init__(self, max_descriptors: int = 1024, max_sockets: int = 256) -> None:
        self.entries: dict[int, Descriptor] = {}
        self.max_descriptors = max_descriptors
        self.max_sockets = max_sockets

    def get(self, fd: int, rights: int = 0) -> Descriptor:
        descriptor = self.entries.get(fd)
        if descriptor is None:
            raise WasiError(abi.EBADF)
        missing = rights & ~descriptor.rights_base
        if missing:
            raise WasiError(_missing_rights_errno(descriptor.filetype, missing))
        return descriptor

    def add(self, descriptor: Descriptor) -> int:
        """The new descriptor's number; past a limit it is closed and the guest gets an errno."""
        if len(self.entries) >= self.max_descriptors:
            error = abi.EMFILE
        elif descriptor.filetype in _SOCKET_TYPES and self.max_sockets <= sum(
                1 for entry in self.entries.values() if entry.filetype in _SOCKET_TYPES):
            error = abi.ENFILE
        else:
            error = 0
        if error:
            # Closing here covers every caller, sockets included: nothing the
            # table refused stays open on the host.
            descriptor.close()
            raise WasiError(error)
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
