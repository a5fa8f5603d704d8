from __future__ import annotations

import marshal
import os
import pprint
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest

from scripts import stdlib
from scripts.shell import StageError
from scripts.toolchain import Toolchain

# Only its Python matters here: it byte-compiles the zip.
TOOLS = Toolchain(cc="clang", ar="llvm-ar", nm="llvm-nm", ranlib="llvm-ranlib", wasm_ld="wasm-ld",
                  builtins="rt.a", wasm_opt="wasm-opt", zip="zip", build_python=sys.executable,
                  versions={"python": sys.version})


def make_base_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("keep.pyc", b"not touched")
        zf.writestr("ssl.pyc", b"stdlib version")


def test_overlay_adds_and_replaces_modules(tmp_path: Path) -> None:
    base = tmp_path / "base.zip"
    make_base_zip(base)
    overlay = tmp_path / "Lib"
    (overlay / "pkg").mkdir(parents=True)
    (overlay / "ssl.py").write_text("WHO = 'overlay'\n")
    (overlay / "pkg" / "__init__.py").write_text("")
    (overlay / "pkg" / "mod.py").write_text("VALUE = 42\n")
    target = tmp_path / "python311.zip"
    added = stdlib.add_overlay(base, overlay, target, sys.executable)
    assert added == ["pkg/__init__.pyc", "pkg/mod.pyc", "ssl.pyc"]
    with zipfile.ZipFile(target) as zf:
        names = zf.namelist()
        assert zf.read("keep.pyc") == b"not touched"
    assert names.count("ssl.pyc") == 1
    # The overlay modules import from the zip with this (3.11) interpreter.
    code = "import ssl, pkg.mod; print(ssl.WHO, pkg.mod.VALUE)"
    result = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["overlay", "42"]


def test_overlay_failure_keeps_the_previous_zip(tmp_path: Path) -> None:
    base = tmp_path / "base.zip"
    make_base_zip(base)
    overlay = tmp_path / "Lib"
    overlay.mkdir()
    (overlay / "broken.py").write_text("def (:\n")
    target = tmp_path / "python311.zip"
    target.write_bytes(b"previous")
    with pytest.raises(StageError, match=r'(?s)Lib/.*"broken.py", line 1.*SyntaxError'):
        stdlib.add_overlay(base, overlay, target, sys.executable)
    assert target.read_bytes() == b"previous"


def code_of(pyc: bytes) -> types.CodeType:
    code = marshal.loads(pyc[16:])
    assert isinstance(code, types.CodeType)
    return code


def test_modules_are_named_by_their_path_inside_the_zip(tmp_path: Path) -> None:
    base = tmp_path / "base.zip"
    make_base_zip(base)
    overlay = tmp_path / "Lib"
    (overlay / "pkg").mkdir(parents=True)
    (overlay / "pkg" / "mod.py").write_text("def f():\n    raise ValueError\n")
    target = tmp_path / "python311.zip"
    stdlib.add_overlay(base, overlay, target, sys.executable)
    with zipfile.ZipFile(target) as zf:
        code = code_of(zf.read("pkg/mod.pyc"))
    assert code.co_filename == "pkg/mod.py"
    assert str(tmp_path) not in repr(code.co_consts)


def test_the_zip_is_the_same_bytes_whatever_the_file_times_and_directories(tmp_path: Path) -> None:
    zips = []
    for run, stamp in (("a", 1_000_000_000), ("b", 1_700_000_000)):
        base = tmp_path / run / "base.zip"
        base.parent.mkdir()
        make_base_zip(base)
        overlay = tmp_path / run / "Lib"
        (overlay / "pkg").mkdir(parents=True)
        for name, text in (("ssl.py", "WHO = 'overlay'\n"), ("pkg/__init__.py", "X = {'a', 'b'}\n")):
            (overlay / name).write_text(text)
            os.utime(overlay / name, (stamp, stamp))
        zips.append(tmp_path / run / "python311.zip")
        stdlib.add_overlay(base, overlay, zips[-1], sys.executable)
    assert zips[0].read_bytes() == zips[1].read_bytes()
    with zipfile.ZipFile(zips[0]) as zf:
        infos = zf.infolist()
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    assert {info.date_time for info in infos} == {stdlib.ENTRY_DATE}


def compiled_checkout(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """compile_base's entries for a fake checkout at `checkout` with one module and its configuration."""
    monkeypatch.setattr(stdlib.layout, "REPO", checkout)
    monkeypatch.setattr(stdlib.layout, "BUILD", checkout / "build")
    source = checkout / "build" / "cpython-src"
    monkeypatch.setattr(stdlib.cpython, "CPYTHON_SRC", source)
    options = stdlib.BuildOptions()
    build = stdlib.cpython.build_dir(options)
    (source / "Lib" / "json").mkdir(parents=True)
    (source / "Lib" / "json" / "decoder.py").write_text("def decode():\n    raise ValueError\n")
    (build / "build" / "lib.wasi").mkdir(parents=True)
    (build / "pybuilddir.txt").write_text("build/lib.wasi\n")
    # As sysconfig writes it: pprint wraps long strings where they reach its
    # line width, so where it wraps depends on the checkout path's length.
    variables = {"srcdir": str(source), "CC": f"clang --sysroot={checkout}/s",
                 "LIBS": f"-L{checkout}/build/zlib/lib -lz " + "-lm " * 20, "SIZEOF_INT": 4}
    (build / "build" / "lib.wasi" / "_sysconfigdata__wasi.py").write_text(
        f"# generated\nbuild_time_vars = {pprint.pformat(variables)}\n")
    base = stdlib.base_zip(options)
    base.parent.mkdir(parents=True)
    with zipfile.ZipFile(base, "w") as zf:
        # What make wrote: compiled with the build directory in the file names.
        zf.writestr("json/decoder.pyc", b"make's pyc")
        zf.writestr("_sysconfigdata__wasi.pyc", b"make's pyc")
    with zipfile.ZipFile(stdlib.compile_base(options, TOOLS)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_the_stdlib_is_compiled_again_from_its_sources_with_the_checkout_path_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = tmp_path / "checkout"
    entries = compiled_checkout(checkout, monkeypatch)
    decoder = code_of(entries["json/decoder.pyc"])
    configuration = code_of(entries["_sysconfigdata__wasi.pyc"])
    assert decoder.co_filename == "json/decoder.py"
    assert configuration.co_filename == "_sysconfigdata__wasi.py"
    assert {"./build/cpython-src", "clang --sysroot=./s", 4} <= set(configuration.co_consts)
    assert str(checkout) not in repr(configuration.co_consts)


def test_checkouts_at_paths_of_different_lengths_compile_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Spaces in the long one: pprint wraps strings there, so the lines move.
    short = compiled_checkout(tmp_path / "a", monkeypatch)
    long = compiled_checkout(tmp_path / ("a longer checkout " * 8), monkeypatch)
    assert short == long


def test_a_module_without_its_source_fails_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stdlib.cpython, "CPYTHON_SRC", tmp_path / "src")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "pybuilddir.txt").write_text("lib\n")
    with pytest.raises(StageError, match="neither .* nor .*: remove .* and build again"):
        stdlib.module_source(tmp_path / "build", "gone.pyc")
