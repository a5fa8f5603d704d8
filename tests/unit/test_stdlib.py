from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from scripts import stdlib


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
    added = stdlib.add_overlay(base, overlay, target)
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
    try:
        stdlib.add_overlay(base, overlay, target)
    except SyntaxError:
        pass
    else:
        raise AssertionError("a syntax error in an overlay file must fail the stage")
    assert target.read_bytes() == b"previous"
