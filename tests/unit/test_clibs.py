from __future__ import annotations

from pathlib import Path

import pytest

from scripts import bzip2, clibs, cpython, sqlite, xz
from scripts.options import BuildOptions
from scripts.shell import StageError
from scripts.toolchain import Toolchain

TOOLS = Toolchain(cc="/llvm/clang", ar="/llvm/llvm-ar", nm="/llvm/llvm-nm", ranlib="/llvm/llvm-ranlib",
                  wasm_ld="/llvm/wasm-ld", builtins="/llvm/rt.a", wasm_opt="/bin/wasm-opt",
                  zip="/bin/zip", build_python="/bin/python3.11",
                  versions={"clang": "clang 16", "wasm-opt": "108", "python": "3.11"})


@pytest.fixture
def build_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(clibs.layout, "BUILD", tmp_path / "build")
    monkeypatch.setattr(clibs.layout, "LOGS", tmp_path / "build" / "logs")
    monkeypatch.setattr(clibs.toolchain, "load", lambda: TOOLS)
    monkeypatch.setattr(clibs.libc, "input_key", lambda tools: "libc")
    return tmp_path / "build"


def test_configure_gets_every_librarys_flags_without_pkg_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpython, "output", lambda command: "x86_64-pc-linux-gnu")
    _, env = cpython.configure_command(TOOLS, BuildOptions())
    for library in clibs.LIBRARIES:
        assert env[f"{library.configure_var}_CFLAGS"] == f"-I{library.prefix / 'include'}"
        assert env[f"{library.configure_var}_LIBS"] == (
            f"-L{library.prefix / 'lib'} -l{library.link_name}")
    assert env["LIBSQLITE3_LIBS"].endswith("-lsqlite3")
    assert env["BZIP2_LIBS"].endswith("-lbz2")
    assert env["LIBLZMA_LIBS"].endswith("-llzma")


def test_every_library_has_a_stage_and_a_pinned_source() -> None:
    lock = clibs.sources.load_lock()
    stages = {"sqlite": sqlite, "bzip2": bzip2, "xz": xz}
    for library in clibs.LIBRARIES:
        assert library.name in lock
        assert callable(stages[library.name].build)


def test_cpython_refuses_to_configure_without_the_libraries(build_dir: Path) -> None:
    with pytest.raises(StageError) as error:
        clibs.require_built()
    message = str(error.value)
    assert "_sqlite3, _bz2, _lzma" in message
    assert "nox -s sqlite -s bzip2 -s xz" in message


def test_a_library_stage_is_a_no_op_when_its_inputs_are_unchanged(
        build_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    builds: list[Path] = []

    def fake_unpack(name: str, dest: Path, patches: object = ()) -> None:
        dest.mkdir(parents=True, exist_ok=True)

    def builder(tools: Toolchain, options: BuildOptions, work: Path, staging: Path) -> None:
        builds.append(work)
        archive = work / "libbz2.a"
        archive.write_bytes(b"!<arch>\n")
        header = work / "bzlib.h"
        header.write_text("/* header */\n")
        clibs.install(staging, archive, [header])

    monkeypatch.setattr(clibs.sources, "unpack", fake_unpack)
    assert clibs.build_stage("bzip2", BuildOptions(), builder, ["-Os"]) is None
    assert (build_dir / "bzip2" / "lib" / "libbz2.a").is_file()
    assert (build_dir / "bzip2" / "include" / "bzlib.h").is_file()
    assert clibs.build_stage("bzip2", BuildOptions(), builder, ["-Os"]) is None
    assert len(builds) == 1
    assert "bzip2: up to date" in capsys.readouterr().out
    # Other flags are other inputs.
    assert clibs.build_stage("bzip2", BuildOptions(), builder, ["-O2"]) is None
    assert len(builds) == 2


def test_a_builder_that_makes_no_archive_fails_and_keeps_the_old_library(
        build_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = build_dir / "xz" / "lib" / "liblzma.a"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"old")
    monkeypatch.setattr(clibs.sources, "unpack", lambda name, dest, patches=(): dest.mkdir(parents=True))

    def builder(tools: Toolchain, options: BuildOptions, work: Path, staging: Path) -> None:
        (staging / "include").mkdir()

    with pytest.raises(StageError, match="did not produce liblzma.a"):
        clibs.build_stage("xz", BuildOptions(), builder, [])
    assert old.read_bytes() == b"old"


def test_sqlite_generates_the_amalgamation_only_from_a_canonical_tree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    released = tmp_path / "sqlite-autoconf"
    released.mkdir()
    (released / "sqlite3.c").write_text("")
    assert sqlite.amalgamation(TOOLS, released) == released
    canonical = tmp_path / "sqlite3-3.40.1"
    canonical.mkdir()
    monkeypatch.setattr(sqlite, "which", lambda name: None)
    with pytest.raises(StageError, match="needs tclsh"):
        sqlite.amalgamation(TOOLS, canonical)
