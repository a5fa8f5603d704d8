"""Grants held open, and where a guest may not write.

A grant's path is resolved once, when the host starts and before the guest
runs: from then on the open directory stands for it. Preopens, spawned
children (--dir-fd) and module lookups all start from that directory, so
nothing the guest renames or replaces by a symlink afterwards changes what
a grant is.

A read-only grant makes its whole tree read-only, through whichever grant
the guest reaches it: `--dir proj --dir proj/dist:ro` leaves dist/ read-only
through proj too. A directory belongs to the grant whose root is its nearest
ancestor, so a writable grant inside a read-only one stays writable.
Writing there fails with EROFS, as on a read-only mount; descriptor rights
are left as they are, because wasi-libc quietly drops the rights a directory
lacks from open() and the guest would get a read-only file instead of an
error.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from host import wasi_abi as abi
from host.errors import WasiError
from host.requests import Grant

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_PARENT = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
# Answers of ReadOnlyTrees._within kept at most; beyond, the memo starts over.
_MEMO_SIZE = 4096

Inode = tuple[int, int]


def open_grants(grants: Sequence[Grant]) -> list[Grant]:
    """`grants`, each with an open directory (`host_fd`) resolved from its path now."""
    opened: list[Grant] = []
    try:
        for grant in grants:
            if grant.host_fd is None:
                grant = grant._replace(host_fd=os.open(grant.host_path, _DIRECTORY))
            opened.append(grant)
    except OSError:
        close_opened(opened, grants)
        raise
    return opened


def close_opened(opened: Sequence[Grant], originals: Sequence[Grant]) -> None:
    """Close the directories open_grants opened (not those the grants came with)."""
    kept = {grant.host_fd for grant in originals}
    for grant in opened:
        if grant.host_fd is not None and grant.host_fd not in kept:
            os.close(grant.host_fd)


def reopen(grant: Grant) -> int:
    """A new descriptor of the grant's directory, its own file description."""
    if grant.host_fd is not None:
        return os.open(".", _DIRECTORY, dir_fd=grant.host_fd)
    return os.open(grant.host_path, _DIRECTORY)


def _inode(info: os.stat_result) -> Inode:
    return info.st_dev, info.st_ino


def ancestors(directory_fd: int) -> list[Inode]:
    """The directory and every directory above it, up to "/", nearest first."""
    chain = [_inode(os.fstat(directory_fd))]
    fd = os.open(".", _PARENT, dir_fd=directory_fd)
    try:
        while True:
            parent = os.open("..", _PARENT, dir_fd=fd)
            os.close(fd)
            fd = parent
            inode = _inode(os.fstat(fd))
            if inode == chain[-1]:
                return chain  # "/" is its own parent
            chain.append(inode)
    finally:
        os.close(fd)


class ReadOnlyTrees:
    """Decides whether a change at a place is a change to a read-only grant."""

    def __init__(self) -> None:
        self._roots: dict[Inode, bool] = {}  # grant root -> read-only
        # Directories that hold (or are) a read-only grant's root: renaming or
        # removing one would move that grant away from where later runs look.
        self._holders: set[Inode] = set()
        self._memo: dict[tuple[int, int, int], bool] = {}

    def add(self, directory_fd: int, read_only: bool) -> None:
        """A grant's root (open at `directory_fd`) and its mode."""
        inode = _inode(os.fstat(directory_fd))
        self._roots[inode] = self._roots.get(inode, False) or read_only
        self._memo.clear()
        if not read_only:
            return
        self._holders.update(ancestors(directory_fd))

    def check(self, directory_fd: int, name: str = ".", moving: bool = False) -> None:
        """Raise EROFS if changing `name` in the directory would change a read-only grant.

        `moving`: the change renames or removes `name`, which must then not
        hold a read-only grant either.
        """
        if not self._holders:
            return  # no read-only grant: nothing to look up
        if self._within(directory_fd):
            raise WasiError(abi.EROFS)
        if name in (".", ".."):
            return
        try:
            inode = _inode(os.stat(name, dir_fd=directory_fd, follow_symlinks=False))
        except FileNotFoundError:
            return
        refused = (inode in self._holders) if moving else self._roots.get(inode, False)
        if refused:
            raise WasiError(abi.EROFS)

    def within(self, directory_fd: int) -> bool:
        """Whether the directory lies in a read-only grant's tree."""
        return bool(self._holders) and self._within(directory_fd)

    def _within(self, directory_fd: int) -> bool:
        info = os.fstat(directory_fd)
        # ctime changes whenever the directory is renamed or changed, and a
        # reused inode has a new one: a remembered answer is never stale.
        key = (info.st_dev, info.st_ino, info.st_ctime_ns)
        answer = self._memo.get(key)
        if answer is None:
            answer = self._walk_up(directory_fd, _inode(info))
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = answer
        return answer

    def _walk_up(self, directory_fd: int, inode: Inode) -> bool:
        """The mode of the nearest grant root at or above the directory."""
        fd = -1
        try:
            while True:
                read_only = self._roots.get(inode)
                if read_only is not None:
                    return read_only
                parent = os.open("..", _PARENT, dir_fd=directory_fd if fd < 0 else fd)
                if fd >= 0:
                    os.close(fd)
                fd = parent
                parent_inode = _inode(os.fstat(fd))
                if parent_inode == inode:
                    return False  # "/": beneath no grant at all
                inode = parent_inode
        finally:
            if fd >= 0:
                os.close(fd)
