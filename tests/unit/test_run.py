from __future__ import annotations

from pathlib import Path

import pytest

from scripts.run import script_argument, script_folder


@pytest.mark.parametrize(("args", "script"), [
    (["x.py", "-c", "y"], "x.py"),
    (["-u", "-X", "dev", "x.py"], "x.py"),
    (["-Xdev", "-Wignore", "x.py"], "x.py"),
    (["-W", "ignore", "x.py", "a"], "x.py"),
    (["-uB", "x.py"], "x.py"),
    (["--check-hash-based-pycs", "always", "x.py"], "x.py"),
    (["--", "-x.py"], "-x.py"),
    (["-c", "print(1)", "x.py"], None),
    (["-uc", "pass"], None),
    (["-m", "json.tool", "x.py"], None),
    (["-", "x.py"], None),
    (["-i"], None),
    ([], None),
])
def test_the_script_is_found_as_python_parses_its_command_line(
        args: list[str], script: str | None) -> None:
    assert script_argument(args) == script


def test_a_script_outside_the_working_directory_brings_its_folder(tmp_path: Path) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    assert script_folder([str(elsewhere / "x.py"), "arg"], work) == elsewhere
    assert script_folder(["../elsewhere/x.py"], work) == elsewhere
    # Already seen, or nothing to see: no grant.
    assert script_folder(["x.py"], work) is None
    assert script_folder([str(tmp_path / "missing" / "x.py")], work) is None
    assert script_folder(["-c", "pass"], work) is None
    # Never the whole file system.
    assert script_folder(["/x.py"], work) is None
    # A folder reached through a symbolic link keeps the name given.
    (tmp_path / "link").symlink_to(elsewhere)
    assert script_folder([str(tmp_path / "link" / "x.py")], work) == tmp_path / "link"
