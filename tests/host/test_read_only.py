"""Read-only grants: nothing beneath one changes, through whichever grant it is reached."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

import pytest
from wasm_guests import ROOT_FD, WasiGuest

from host import wasi_abi as abi
from host.requests import Grant

RIGHTS_READ = abi.RIGHT_FD_READ | abi.RIGHT_FD_SEEK | abi.RIGHT_FD_FILESTAT_GET
RIGHTS_WRITE = abi.RIGHT_FD_WRITE | abi.RIGHT_FD_FILESTAT_SET_SIZE
DIST_FD = ROOT_FD + 1  # the nested read-only grant's own preopen


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """project/ (writable) holds dist/ (read-only), which holds out/ (writable again)."""
    dist = tmp_path / "project" / "dist"
    (dist / "lib").mkdir(parents=True)
    (dist / "out").mkdir()
    (dist / "python.wasm").write_bytes(b"\0asm")
    (dist / "lib" / "site.py").write_text("pass")
    (dist / "empty").mkdir()
    (tmp_path / "project" / "src").mkdir()
    (tmp_path / "project" / "spare").mkdir()
    return tmp_path / "project"


@pytest.fixture
def guest(project: Path) -> Iterator[WasiGuest]:
    instance = WasiGuest([Grant(project, "/p"), Grant(project / "dist", "/p/dist", True),
                          Grant(project / "dist" / "out", "/p/dist/out")])
    yield instance
    instance.close()


def _snapshot(directory: Path) -> dict[str, tuple[int, bytes | None]]:
    return {str(path.relative_to(directory)): (
        path.lstat().st_mtime_ns, path.read_bytes() if path.is_file() else None)
        for path in sorted(directory.rglob("*"))}


def _open(path: str, fd: int = ROOT_FD, oflags: int = 0, rights: int = RIGHTS_WRITE,
          fdflags: int = 0) -> Callable[[WasiGuest], int]:
    return lambda guest: guest.call(
        "path_open", fd, abi.LOOKUP_SYMLINK_FOLLOW, *guest.text(path), oflags, rights, rights,
        fdflags, guest.alloc(4))


def _path(name: str, path: str, fd: int = ROOT_FD) -> Callable[[WasiGuest], int]:
    return lambda guest: guest.call(name, fd, *guest.text(path))


def _two_paths(name: str, source: str, target: str, fd: int = ROOT_FD
               ) -> Callable[[WasiGuest], int]:
    if name == "path_link":
        return lambda guest: guest.call(name, fd, 0, *guest.text(source), ROOT_FD,
                                        *guest.text(target))
    return lambda guest: guest.call(name, fd, *guest.text(source), ROOT_FD, *guest.text(target))


def _symlink(path: str, fd: int = ROOT_FD) -> Callable[[WasiGuest], int]:
    return lambda guest: guest.call("path_symlink", *guest.text("python.wasm"), fd,
                                    *guest.text(path))


def _set_times(path: str, fd: int = ROOT_FD) -> Callable[[WasiGuest], int]:
    return lambda guest: guest.call("path_filestat_set_times", fd, 0, *guest.text(path), 0, 0,
                                    abi.FSTFLAG_MTIM_NOW)


CHANGES = {
    # Through the writable grant that contains the read-only one.
    "write": _open("dist/python.wasm"),
    "write via ..": _open("src/../dist/python.wasm"),
    "append": _open("dist/python.wasm", rights=abi.RIGHT_FD_READ, fdflags=abi.FDFLAG_APPEND),
    "truncate": _open("dist/python.wasm", oflags=abi.OFLAG_TRUNC, rights=abi.RIGHT_FD_READ),
    "create": _open("dist/new.txt", oflags=abi.OFLAG_CREAT),
    "create deeper": _open("dist/lib/new.py", oflags=abi.OFLAG_CREAT),
    "mkdir": _path("path_create_directory", "dist/newdir"),
    "rmdir": _path("path_remove_directory", "dist/empty"),
    "unlink": _path("path_unlink_file", "dist/python.wasm"),
    "symlink": _symlink("dist/link"),
    "set times": _set_times("dist/python.wasm"),
    "set times of the grant": _set_times("dist"),
    "rename out": _two_paths("path_rename", "dist/python.wasm", "stolen"),
    "rename in": _two_paths("path_rename", "src", "dist/src"),
    "rename the grant away": _two_paths("path_rename", "dist", "dist-old"),
    "replace the grant": _two_paths("path_rename", "spare", "dist"),
    "remove the grant": _path("path_remove_directory", "dist"),
    "hard link out": _two_paths("path_link", "dist/python.wasm", "linked"),
    "hard link in": _two_paths("path_link", "dist/python.wasm", "dist/linked"),
    # Through the read-only grant's own preopen.
    "own: write": _open("python.wasm", fd=DIST_FD),
    "own: create": _open("new.txt", fd=DIST_FD, oflags=abi.OFLAG_CREAT),
    "own: unlink": _path("path_unlink_file", "lib/site.py", fd=DIST_FD),
    "own: rename": _two_paths("path_rename", "lib", "lib2", fd=DIST_FD),
    "own: set times": _set_times(".", fd=DIST_FD),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=list(CHANGES))
def test_nothing_changes_in_a_read_only_grant(guest: WasiGuest, project: Path,
                                              change: Callable[[WasiGuest], int]) -> None:
    before = _snapshot(project)
    assert change(guest) == abi.EROFS
    assert _snapshot(project) == before


def test_reading_works_and_file_descriptors_cannot_change_their_file(
        guest: WasiGuest, project: Path) -> None:
    before = _snapshot(project)
    errno, fd = guest.open("dist/python.wasm", rights=RIGHTS_READ | abi.RIGHT_FD_FILESTAT_SET_TIMES)
    assert errno == 0
    assert guest.read_fd(fd) == (0, b"\0asm")
    assert guest.call("fd_filestat_set_times", fd, 0, 0, abi.FSTFLAG_MTIM_NOW) == \
        abi.ENOTCAPABLE
    errno, directory = guest.open("dist", oflags=abi.OFLAG_DIRECTORY)
    assert errno == 0
    assert guest.call("fd_filestat_set_times", directory, 0, 0, abi.FSTFLAG_MTIM_NOW) == \
        abi.ENOTCAPABLE
    # A directory opened inside the read-only tree is read-only too.
    assert _open("lib/new.py", fd=directory, oflags=abi.OFLAG_CREAT)(guest) == abi.EROFS
    assert _snapshot(project) == before


def test_writable_places_stay_writable(guest: WasiGuest, project: Path) -> None:
    assert _open("src/new.txt", oflags=abi.OFLAG_CREAT)(guest) == 0
    assert _path("path_create_directory", "src/made")(guest) == 0
    assert _two_paths("path_rename", "src/made", "made")(guest) == 0
    # A writable grant inside the read-only one stays writable, through either.
    assert _open("out/a.txt", fd=DIST_FD, oflags=abi.OFLAG_CREAT)(guest) == 0
    assert _open("dist/out/b.txt", oflags=abi.OFLAG_CREAT)(guest) == 0
    assert sorted(os.listdir(project / "dist" / "out")) == ["a.txt", "b.txt"]
    assert (project / "made").is_dir() and (project / "src" / "new.txt").is_file()


def test_a_directory_holding_a_read_only_grant_keeps_its_own_times(tmp_path: Path) -> None:
    (tmp_path / "a" / "dist").mkdir(parents=True)
    guest = WasiGuest([Grant(tmp_path, "/p"), Grant(tmp_path / "a" / "dist", "/p/a/dist", True)])
    try:
        assert _set_times("a")(guest) == 0
        assert _set_times("a/dist")(guest) == abi.EROFS
        assert _two_paths("path_rename", "a", "b")(guest) == abi.EROFS
    finally:
        guest.close()


def test_a_lone_read_only_grant(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("kept")
    guest = WasiGuest([Grant(tmp_path, "/data", True)])
    try:
        assert _open("file.txt")(guest) == abi.EROFS
        assert guest.open("file.txt", rights=RIGHTS_READ)[0] == 0
        assert _path("path_unlink_file", "file.txt")(guest) == abi.EROFS
    finally:
        guest.close()
    assert (tmp_path / "file.txt").read_text() == "kept"
