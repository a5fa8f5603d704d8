from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from scripts import __main__ as entry
from scripts import clibs, cpython, libc, optimize, reproducible, summary
from scripts.options import BuildOptions
from scripts.shell import StageError
from scripts.toolchain import Toolchain

TOOLS = Toolchain(cc="/llvm/clang", ar="/llvm/llvm-ar", nm="/llvm/llvm-nm", ranlib="/llvm/llvm-ranlib",
                  wasm_ld="/llvm/wasm-ld", builtins="/llvm/rt.a", wasm_opt="/bin/wasm-opt",
                  zip="/bin/zip", build_python="/bin/python3.11",
                  versions={"clang": "clang 16", "wasm-opt": "108", "python": "3.11"})


@pytest.fixture
def no_config_guess(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpython, "output", lambda command: "x86_64-pc-linux-gnu")


def test_configure_links_the_sockets_library_and_enables_ipv6(no_config_guess: None) -> None:
    command, env = cpython.configure_command(TOOLS, BuildOptions())
    assert "--enable-ipv6" in command and "--with-pydebug" not in command
    assert env["LIBS"] == "-lwasmedge_sock"
    assert f"-L{cpython.sockets.library_dir(BuildOptions())}" in env["LDFLAGS"].split()
    assert env["CC"].startswith("/llvm/clang --target=wasm32-wasi --sysroot=")
    assert env["PKG_CONFIG_PATH"] == ""
    assert "--with-build-python=/bin/python3.11" in command
    assert env["OPT"] == cpython.release_opt(BuildOptions())


def test_configure_records_a_relative_source_directory(no_config_guess: None) -> None:
    # CPython compiles srcdir into python.wasm (getpath's VPATH).
    command, _ = cpython.configure_command(TOOLS, BuildOptions())
    assert command[0] == "../../cpython-src/configure"
    assert (cpython.build_dir(BuildOptions()) / command[0]).resolve() == (
        cpython.CPYTHON_SRC / "configure")


def test_every_c_compile_maps_the_checkout_path() -> None:
    flag = reproducible.prefix_map_flags()[0]
    assert flag in clibs.wasm_cc(TOOLS).split()  # zlib, CPython and the libraries
    assert flag in libc.cflags().split()


def test_a_debug_build_keeps_pydebugs_own_optimization_flags(no_config_guess: None) -> None:
    _, env = cpython.configure_command(TOOLS, BuildOptions(debug=True))
    assert "OPT" not in env


def test_every_build_uses_pymalloc_which_configure_leaves_off_for_wasi(
        no_config_guess: None) -> None:
    for options in BuildOptions(), BuildOptions(debug=True):
        command, _ = cpython.configure_command(TOOLS, options)
        assert "--with-pymalloc" in command


def test_a_release_build_links_with_thin_lto_and_a_cache_for_relinks(
        no_config_guess: None) -> None:
    command, env = cpython.configure_command(TOOLS, BuildOptions())
    assert "--with-lto=thin" in command
    assert env["LLVM_AR"] == TOOLS.ar
    cache = cpython.build_dir(BuildOptions()) / "thinlto-cache"
    assert f"-Wl,--thinlto-cache-dir={cache}" in env["LDFLAGS"].split()
    # Without this, --with-lto compiles and links with -g for the optimize stage to strip.
    assert env["ac_cv_prog_cc_g"] == "no"
    # A debug build relinks in seconds without it.
    command, env = cpython.configure_command(TOOLS, BuildOptions(debug=True))
    assert "--with-lto=thin" not in command and "thinlto" not in env["LDFLAGS"]


def test_configure_without_sockets_drops_the_socket_module(no_config_guess: None) -> None:
    command, env = cpython.configure_command(TOOLS, BuildOptions(sockets=False, debug=True))
    assert env["py_cv_module__socket"] == "n/a"
    assert env["LIBS"] == ""
    assert "--with-pydebug" in command and "--enable-ipv6" not in command


def test_a_newer_library_forces_a_relink_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpython.layout, "BUILD", tmp_path / "build")
    monkeypatch.setattr(cpython.layout, "SYSROOT", tmp_path / "sysroot")
    monkeypatch.setattr(cpython, "ZLIB_PREFIX", tmp_path / "zlib")
    options = BuildOptions()
    wasm = cpython.linked_wasm(options)
    library = cpython.sockets.library(options)
    for path in (wasm, library):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    os.utime(library, (1000, 1000))
    os.utime(wasm, (2000, 2000))
    cpython.relink_if_libraries_changed(options)
    assert wasm.exists()
    os.utime(library, (3000, 3000))
    cpython.relink_if_libraries_changed(options)
    assert not wasm.exists()


def test_wasm_opt_strips_debug_info_except_in_debug_builds() -> None:
    assert optimize.wasm_opt_flags(BuildOptions()) == [
        f"-O{BuildOptions().wasm_opt_level}", "--one-caller-inline-max-function-size=0",
        "--low-memory-unused",
        "--strip-debug"]
    assert "--strip-debug" not in optimize.wasm_opt_flags(BuildOptions(debug=True))


def test_manifest_records_inputs_outputs_toolchain_and_options(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    for name in ("python.wasm", "python311.zip"):
        (dist / name).write_bytes(b"artifact " + name.encode())
    monkeypatch.setattr(summary.layout, "REPO", tmp_path)
    monkeypatch.setattr(summary.layout, "PYTHON_WASM", dist / "python.wasm")
    monkeypatch.setattr(summary.layout, "STDLIB_ZIP", dist / "python311.zip")
    monkeypatch.setattr(summary, "own_input_hashes", lambda: {"python/patches/x.patch": "ab"})
    data = summary.manifest(BuildOptions(debug=True), TOOLS, 1700000000)
    assert set(data["sources"]) == {"cpython", "wasi-libc", "zlib", "sqlite", "bzip2", "xz"}
    assert data["sources"]["cpython"]["version"] == "3.11.2"
    assert data["outputs"]["python.wasm"]["path"] == "dist/python.wasm"
    assert data["outputs"]["python.wasm"]["size"] == len(b"artifact python.wasm")
    assert data["options"] == {"debug": True, "optimize": True, "sockets": True}
    assert data["toolchain"]["versions"]["clang"] == "clang 16"
    assert data["source_date_epoch"] == 1700000000


def test_own_inputs_cover_patches_and_overlay() -> None:
    hashes = summary.own_input_hashes()
    assert any(name.startswith("wasi-libc/") for name in hashes)
    assert "python/config.site-wasm32-wasi" in hashes
    assert "sources.toml" in hashes


def test_entry_point_rejects_an_unknown_stage(capsys: pytest.CaptureFixture[str]) -> None:
    assert entry.main(["nope"]) == 2
    assert "usage" in capsys.readouterr().err


def test_entry_point_turns_stage_errors_into_one_line_and_status_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # optimize alone: a stage does only its own step.
    monkeypatch.setattr(optimize.layout, "TOOLCHAIN_FILE", tmp_path / "missing.json")
    assert entry.main(["optimize"]) == 1
    assert "error: optimize:" in capsys.readouterr().err


@pytest.mark.parametrize("stage", list(entry.BUILD_STAGES))
def test_every_build_stage_has_a_build_function(stage: str) -> None:
    module = importlib.import_module(f"scripts.{entry.BUILD_STAGES[stage]}")
    assert callable(module.build)


def test_the_hot_core_is_built_at_o2_and_cold_code_at_oz_in_the_default_build() -> None:
    levels = cpython.levels_makefile(BuildOptions()).splitlines()
    assert "Python/ceval.o: OPT := -DNDEBUG -fwrapv -O2 -Wall" in levels
    assert "Parser/parser.o: OPT := -DNDEBUG -fwrapv -Oz -Wall" in levels
    assert len(levels) == len(cpython.HOT_OBJECTS) + len(cpython.COLD_OBJECTS)
    assert not set(cpython.HOT_OBJECTS) & set(cpython.COLD_OBJECTS)
    # Other levels and debug builds compile everything alike.
    assert cpython.levels_makefile(BuildOptions(opt_level="2")) == ""
    assert cpython.levels_makefile(BuildOptions(debug=True)) == ""
    assert cpython.make_command(BuildOptions(jobs=3), "python.wasm") == [
        "make", "-j3", "-f", "Makefile", "-f", cpython.LEVELS_MAKEFILE, "python.wasm"]


def test_an_object_cpython_no_longer_builds_stops_the_build() -> None:
    makefile = " ".join([*cpython.HOT_OBJECTS, *cpython.COLD_OBJECTS])
    cpython.check_objects_are_built(BuildOptions(), makefile)
    with pytest.raises(StageError, match="Objects/genobject.o not in CPython's Makefile"):
        cpython.check_objects_are_built(BuildOptions(),
                                        makefile.replace("Objects/genobject.o", ""))
