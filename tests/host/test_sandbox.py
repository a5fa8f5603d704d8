"""Path-escape attempts against the directory grant: every one must be refused."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from wasm_guests import GUEST_ROOT, ROOT_FD, WasiGuest
from host import wasi_abi as abi
from host.requests import Grant

OUTSIDE_NAMES = {"secret.txt", "outside", "granted"}


@pytest.fixture
def links(tree: Path) -> Path:
    granted = tree / "granted"
    os.symlink(str(tree / "secret.txt"), granted / "link_out_abs")
    os.symlink("../secret.txt", granted / "link_out_rel")
    os.symlink("../outside", granted / "link_dir_out")
    os.symlink("/", granted / "link_root")
    os.symlink("..", granted / "link_dotdot")
    os.symlink("../..", granted / "sub" / "link_dotdot_twice")
    os.symlink("../file.txt", granted / "sub" / "link_up_ok")
    os.symlink("sub/inner.txt", granted / "link_in")
    os.symlink("sub", granted / "link_to_sub")
    os.symlink("loop_b", granted / "loop_a")
    os.symlink("loop_a", granted / "loop_b")
    os.symlink("self_loop", granted / "self_loop")
    os.symlink("../created_outside.txt", granted / "dangling_out")
    return granted


def _outside_unchanged(tree: Path) -> None:
    assert (tree / "secret.txt").read_text() == "SECRET"
    assert sorted(p.name for p in (tree / "outside").iterdir()) == ["other.txt"]
    assert {p.name for p in tree.iterdir()} == OUTSIDE_NAMES


def _open(path: str, follow: bool = True, oflags: int = 0) -> Callable[[WasiGuest], int]:
    return lambda guest: guest.open(path, follow=follow, oflags=oflags)[0]


def _stat(path: str, follow: bool = True) -> Callable[[WasiGuest], int]:
    return lambda guest: guest.stat(path, follow=follow)[0]


def _path_call(name: str, path: str) -> Callable[[WasiGuest], int]:
    return lambda guest: guest.call(name, ROOT_FD, *guest.text(path))


def _rename(source: str, target: str) -> Callable[[WasiGuest], int]:
    return lambda guest: guest.call("path_rename", ROOT_FD, *guest.text(source), ROOT_FD,
                                    *guest.text(target))


def _link(source: str, target: str, follow: bool = False) -> Callable[[WasiGuest], int]:
    return lambda guest: guest.call("path_link", ROOT_FD, int(follow), *guest.text(source),
                                    ROOT_FD, *guest.text(target))


def _symlink(text: str, name: str) -> Callable[[WasiGuest], int]:
    return lambda guest: guest.call("path_symlink", *guest.text(text), ROOT_FD, *guest.text(name))


def _readlink(path: str) -> Callable[[WasiGuest], int]:
    def attempt(guest: WasiGuest) -> int:
        buffer, out = guest.alloc(256), guest.alloc(4)
        return guest.call("path_readlink", ROOT_FD, *guest.text(path), buffer, 256, out)
    return attempt


def _set_times(path: str) -> Callable[[WasiGuest], int]:
    return lambda guest: guest.call("path_filestat_set_times", ROOT_FD, 1, *guest.text(path),
                                    0, 0, abi.FSTFLAG_ATIM | abi.FSTFLAG_MTIM)


def _open_then(first: str, second: str) -> Callable[[WasiGuest], int]:
    def attempt(guest: WasiGuest) -> int:
        errno, fd = guest.open(first, oflags=abi.OFLAG_DIRECTORY)
        assert errno == 0
        return guest.open(second, dirfd=fd)[0]
    return attempt


ESCAPES = {
    "dotdot": (_open("../secret.txt"), abi.EPERM),
    "absolute": (_open("/etc/passwd"), abi.EPERM),
    "absolute-guest-path": (_open("/sandbox/file.txt"), abi.EPERM),
    "only-slashes": (_open("///"), abi.EPERM),
    "sub-dotdot-dotdot": (_open("sub/../../secret.txt"), abi.EPERM),
    "deep-dotdot": (_open("sub/deeper/../../../secret.txt"), abi.EPERM),
    "dot-segments": (_open("sub/./.././../secret.txt"), abi.EPERM),
    "dotdot-only": (_open("..", oflags=abi.OFLAG_DIRECTORY), abi.EPERM),
    "trailing-dotdot": (_open("sub/deeper/../../.."), abi.EPERM),
    "symlink-absolute-target": (_open("link_out_abs"), abi.EPERM),
    "symlink-relative-out": (_open("link_out_rel"), abi.EPERM),
    "symlink-dir-out": (_open("link_dir_out/other.txt"), abi.EPERM),
    "symlink-to-root": (_open("link_root/etc/passwd"), abi.EPERM),
    "symlink-dotdot": (_open("link_dotdot/secret.txt"), abi.EPERM),
    "nested-symlink-dotdot": (_open("sub/link_dotdot_twice/secret.txt"), abi.EPERM),
    "symlink-then-dotdot": (_open("link_to_sub/../../secret.txt"), abi.EPERM),
    "symlink-nofollow": (_open("link_out_rel", follow=False), abi.ELOOP),
    "loop": (_open("loop_a"), abi.ELOOP),
    "self-loop-intermediate": (_open("self_loop/x"), abi.ELOOP),
    "create-through-dangling": (_open("dangling_out", oflags=abi.OFLAG_CREAT), abi.EPERM),
    "nul-byte": (_open("file.txt\0../../secret.txt"), abi.EINVAL),
    "empty-path": (_open(""), abi.ENOENT),
    "stat-dotdot": (_stat("../secret.txt"), abi.EPERM),
    "stat-symlink-out": (_stat("link_out_rel"), abi.EPERM),
    "stat-trailing-slash-forces-follow": (_stat("link_dir_out/", follow=False), abi.EPERM),
    "stat-absolute": (_stat("/tmp"), abi.EPERM),
    "mkdir-dotdot": (_path_call("path_create_directory", "../newdir"), abi.EPERM),
    "mkdir-through-symlink": (_path_call("path_create_directory", "link_dir_out/newdir"),
                              abi.EPERM),
    "unlink-dotdot": (_path_call("path_unlink_file", "../secret.txt"), abi.EPERM),
    "unlink-through-symlink": (_path_call("path_unlink_file", "link_dir_out/other.txt"),
                               abi.EPERM),
    "rmdir-dotdot": (_path_call("path_remove_directory", "../outside"), abi.EPERM),
    "rmdir-root": (_path_call("path_remove_directory", "."), abi.EINVAL),
    "rename-out": (_rename("file.txt", "../moved.txt"), abi.EPERM),
    "rename-in-from-outside": (_rename("../secret.txt", "stolen.txt"), abi.EPERM),
    "rename-root-away": (_rename(".", "elsewhere"), abi.EBUSY),
    "hardlink-from-outside": (_link("../secret.txt", "hard.txt"), abi.EPERM),
    "hardlink-follow-symlink-out": (_link("link_out_rel", "hard2.txt", follow=True), abi.EPERM),
    "symlink-absolute-text": (_symlink("/etc/passwd", "new_link"), abi.EPERM),
    "readlink-dotdot": (_readlink("../outside"), abi.EPERM),
    "set-times-dotdot": (_set_times("../secret.txt"), abi.EPERM),
    "set-times-through-symlink": (_set_times("link_out_rel"), abi.EPERM),
    "subdir-fd-dotdot": (_open_then("sub", "../../secret.txt"), abi.EPERM),
    "dir-fd-of-root-dotdot": (_open_then("sub/..", "../secret.txt"), abi.EPERM),
    "opened-dir-above-itself": (_open_then("sub", ".."), abi.EPERM),
}


@pytest.mark.parametrize("attempt,expected", ESCAPES.values(), ids=list(ESCAPES))
def test_escape_is_refused(guest: WasiGuest, links: Path, tree: Path,
                           attempt: Callable[[WasiGuest], int], expected: int) -> None:
    assert attempt(guest) == expected
    _outside_unchanged(tree)


def test_created_escape_symlink_cannot_be_followed(guest: WasiGuest, links: Path,
                                                   tree: Path) -> None:
    assert _symlink("../secret.txt", "made_here")(guest) == 0  # harmless to create...
    assert guest.open("made_here")[0] == abi.EPERM  # ...because it never resolves out
    assert guest.stat("made_here", follow=False) == (0, abi.FILETYPE_SYMBOLIC_LINK)
    _outside_unchanged(tree)


def test_renumber_subdir_onto_preopen_narrows(guest: WasiGuest, links: Path) -> None:
    errno, sub_fd = guest.open("sub", oflags=abi.OFLAG_DIRECTORY)
    assert errno == 0
    assert guest.call("fd_renumber", sub_fd, ROOT_FD) == 0
    assert guest.call("fd_close", sub_fd) == abi.EBADF  # the source number is gone
    assert guest.call("fd_prestat_get", ROOT_FD, guest.alloc(8)) == abi.EBADF
    assert guest.open("../file.txt", dirfd=ROOT_FD)[0] == abi.EPERM
    assert guest.open("inner.txt", dirfd=ROOT_FD)[0] == 0


def test_renumber_preopen_elsewhere_keeps_its_bounds(guest: WasiGuest, links: Path) -> None:
    assert guest.call("fd_renumber", ROOT_FD, 1) == 0
    assert guest.open("../secret.txt", dirfd=1)[0] == abi.EPERM
    assert guest.open("file.txt", dirfd=1)[0] == 0
    assert guest.call("fd_prestat_get", 1, guest.alloc(8)) == 0


def test_trailing_slash_on_file(guest: WasiGuest) -> None:
    assert guest.open("file.txt/")[0] == abi.ENOTDIR
    assert _path_call("path_unlink_file", "file.txt/")(guest) == abi.ENOTDIR
    assert _rename("file.txt/", "other")(guest) == abi.ENOTDIR
    assert guest.stat("sub/")[0] == 0


def test_listing_root_shows_only_granted_names(guest: WasiGuest, links: Path) -> None:
    errno, names = guest.listdir(ROOT_FD)
    assert errno == 0
    assert not OUTSIDE_NAMES & set(names)
    assert {"file.txt", "sub", ".", ".."} <= set(names)


def test_rights_only_shrink(guest: WasiGuest) -> None:
    without_open = abi.RIGHTS_DIRECTORY & ~abi.RIGHT_PATH_OPEN
    inheriting = abi.RIGHTS_DIRECTORY | abi.RIGHTS_FILE
    assert guest.call("fd_fdstat_set_rights", ROOT_FD, without_open, inheriting) == 0
    assert guest.open("file.txt")[0] == abi.ENOTCAPABLE
    assert guest.call("fd_fdstat_set_rights", ROOT_FD, abi.RIGHTS_DIRECTORY,
                      inheriting) == abi.ENOTCAPABLE


def test_child_rights_bounded_by_parent_inheriting(guest: WasiGuest) -> None:
    read_only = abi.RIGHTS_DIRECTORY | (abi.RIGHTS_FILE & ~abi.RIGHT_FD_WRITE)
    errno, sub_fd = guest.open("sub", oflags=abi.OFLAG_DIRECTORY)
    assert errno == 0
    assert guest.call("fd_fdstat_set_rights", sub_fd, abi.RIGHTS_DIRECTORY, read_only) == 0
    errno, file_fd = guest.open("inner.txt", dirfd=sub_fd)  # asks for every right
    assert errno == 0
    assert guest.write_fd(file_fd, b"x")[0] == abi.ENOTCAPABLE
    assert guest.read_fd(file_fd) == (0, b"inner")


def test_unix_socket_paths_are_not_a_way_around_grants(tree: Path) -> None:
    guest = WasiGuest([Grant(tree / "granted", GUEST_ROOT)])
    try:
        out = guest.alloc(4)
        assert guest.call("sock_open", 3, 2, out) == 0
        fd = guest.u32(out)
        address = bytearray(128)
        address[0:2] = (3).to_bytes(2, "little")
        target = str(tree / "outside" / "sock").encode()
        address[2:2 + len(target)] = target
        buffer = guest.bytes_at(bytes(address))
        descriptor = guest.bytes_at(buffer.to_bytes(4, "little") + (128).to_bytes(4, "little"))
        assert guest.call("sock_bind", fd, descriptor, 0) == abi.EACCES
        assert not (tree / "outside" / "sock").exists()
    finally:
        guest.close()


LEGITIMATE = {
    "plain": "file.txt",
    "sub-and-back": "sub/../file.txt",
    "dot-prefix": "./sub/./inner.txt",
    "double-slash": "sub//inner.txt",
    "symlink-inside": "link_in",
    "symlink-up-but-inside": "sub/link_up_ok",
    "symlinked-dir": "link_to_sub/inner.txt",
}


@pytest.mark.parametrize("path", LEGITIMATE.values(), ids=list(LEGITIMATE))
def test_legitimate_open_succeeds(guest: WasiGuest, links: Path, path: str) -> None:
    errno, fd = guest.open(path)
    assert errno == 0
    assert guest.read_fd(fd)[1] in (b"inside", b"inner")


def test_legitimate_changes_inside(guest: WasiGuest, tree: Path) -> None:
    granted = tree / "granted"
    assert _path_call("path_create_directory", "made/")(guest) == 0
    assert _path_call("path_create_directory", "made")(guest) == abi.EEXIST
    errno, fd = guest.open("made/new.txt", oflags=abi.OFLAG_CREAT | abi.OFLAG_EXCL)
    assert errno == 0
    assert guest.write_fd(fd, b"data") == (0, 4)
    assert guest.open("made/new.txt", oflags=abi.OFLAG_CREAT | abi.OFLAG_EXCL)[0] == abi.EEXIST
    assert _rename("made/new.txt", "sub/renamed.txt")(guest) == 0
    assert _link("sub/renamed.txt", "hard.txt")(guest) == 0
    assert _symlink("sub/renamed.txt", "soft")(guest) == 0
    buffer, out = guest.alloc(64), guest.alloc(4)
    assert guest.call("path_readlink", ROOT_FD, *guest.text("soft"), buffer, 64, out) == 0
    assert guest.read(buffer, guest.u32(out)) == b"sub/renamed.txt"
    assert (granted / "hard.txt").read_text() == "data"
    assert _path_call("path_unlink_file", "soft")(guest) == 0
    assert _path_call("path_remove_directory", "made")(guest) == 0
    assert _path_call("path_remove_directory", "sub")(guest) == abi.ENOTEMPTY
    assert _path_call("path_unlink_file", "sub")(guest) == abi.EISDIR
    assert _set_times("file.txt")(guest) == 0
    assert os.stat(granted / "file.txt").st_mtime == 0
    assert not (granted / "made").exists()
