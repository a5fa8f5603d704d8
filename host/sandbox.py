"""Resolving guest paths beneath a directory fd without ever leaving it.

A path is walked one component at a time with O_NOFOLLOW opens relative to the
previous directory, so the kernel never interprets `..` or a symlink for us:
`..` pops our own stack (and may not pop past the starting directory), and a
symlink's text is spliced into the remaining components after refusing
absolute targets. Every operation then acts on a single final name relative
to the directory fd the walk ended in, again without following symlinks.
"""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from typing import Iterator

from host import wasi_abi as abi
from host.errors import WasiError

# Like Linux's MAXSYMLINKS: beyond this many expansions the path is a loop.
MAX_SYMLINK_EXPANSIONS = 40
_DIRECTORY_WALK_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


def strip_trailing_slashes(path: str) -> tuple[str, bool]:
    stripped = path.rstrip("/")
    if not stripped:
        return path, False  # only slashes: absolute, refused by resolve()
    return stripped, len(stripped) != len(path)


def _components(path: str) -> list[str]:
    """Components of `path` in reverse order, ready to be popped."""
    if not path:
        raise WasiError(abi.ENOENT)
    if path.startswith("/"):
        raise WasiError(abi.EPERM)
    if "\0" in path:
        raise WasiError(abi.EINVAL)
    parts = path.split("/")
    parts.reverse()
    return parts


def _read_symlink(directory_fd: int, name: str) -> str | None:
    try:
        return os.readlink(name, dir_fd=directory_fd)
    except OSError as error:
        if error.errno in (errno.EINVAL, errno.ENOENT):
            return None  # not a symlink, or nothing there yet (O_CREAT)
        raise


@contextmanager
def beneath(base_fd: int, path: str, follow_final: bool) -> Iterator[tuple[int, str]]:
    """Yield (directory fd, final name) for `path` resolved beneath `base_fd`.

    The final name is one component other than `..`, or "." when the path names
    the directory itself. Intermediate directories opened on the way are closed
    when the block ends.
    """
    pending = _components(path)
    opened: list[int] = []
    expansions = 0
    try:
        final = "."
        while pending:
            component = pending.pop()
            if component in ("", "."):
                continue
            directory_fd = opened[-1] if opened else base_fd
            if component == "..":
                if not opened:
                    raise WasiError(abi.EPERM)
                os.close(opened.pop())
                final = "."
                continue
            is_last = not pending
            if is_last and not follow_final:
                final = component
                break
            target: str | None
            if is_last:
                target = _read_symlink(directory_fd, component)
                if target is None:
                    final = component
                    break
            else:
                try:
                    opened.append(os.open(component, _DIRECTORY_WALK_FLAGS, dir_fd=directory_fd))
                    final = "."
                    continue
                except OSError as error:
                    if error.errno not in (errno.ENOTDIR, errno.ELOOP):
                        raise
                target = _read_symlink(directory_fd, component)
                if target is None:
                    raise WasiError(abi.ENOTDIR)
            expansions += 1
            if expansions > MAX_SYMLINK_EXPANSIONS:
                raise WasiError(abi.ELOOP)
            pending.extend(_components(target))
        yield (opened[-1] if opened else base_fd), final
    finally:
        for fd in opened:
            os.close(fd)
