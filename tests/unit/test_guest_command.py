from __future__ import annotations

import sys
from pathlib import Path

from scripts.runtime import Guest, guest_command


def guest(tmp_path: Path) -> Guest:
    dist = tmp_path / "dist"
    return Guest(python_wasm=dist / "python.wasm", stdlib_zip=dist / "python311.zip",
                 deps=tmp_path / "deps", cwd=tmp_path / "work")


def test_timecraft_gets_the_seeds_command_line(tmp_path: Path) -> None:
    command = guest_command(guest(tmp_path), ["./test.py", "-v"], env={"TIMECRAFT": "go run ../timecraft"})
    assert command[:4] == ["go", "run", "../timecraft", "run"]
    assert f"PYTHONPATH={tmp_path}/deps:{tmp_path}/dist/python311.zip" in command
    assert f"PYTHONHOME={tmp_path}/dist/python311.zip" in command
    assert command[-5:] == ["wasmedgev2", "--", f"{tmp_path}/dist/python.wasm", "./test.py", "-v"]
    grants = [command[i + 1] for i, word in enumerate(command) if word == "--dir"]
    assert sorted(grants) == [f"{tmp_path}/dist", f"{tmp_path}/work"]
    assert "--runtime" not in command


def test_the_built_in_host_is_granted_only_what_the_guest_needs(tmp_path: Path) -> None:
    command = guest_command(guest(tmp_path), ["-c", "pass"], env={})
    assert command[:4] == [sys.executable, "-m", "host", "run"]
    grants = [command[i + 1] for i, word in enumerate(command) if word == "--dir"]
    # deps/ does not exist yet, so it is not granted; what later runs load is read-only.
    assert sorted(grants) == [f"{tmp_path}/dist:ro", f"{tmp_path}/work"]
    assert f"PWD={tmp_path}/work" in command


def test_installed_packages_are_read_only_too(tmp_path: Path) -> None:
    (tmp_path / "deps").mkdir()
    command = guest_command(guest(tmp_path), ["-c", "pass"], env={})
    grants = [command[i + 1] for i, word in enumerate(command) if word == "--dir"]
    assert sorted(grants) == [f"{tmp_path}/deps:ro", f"{tmp_path}/dist:ro", f"{tmp_path}/work"]
    command = guest_command(guest(tmp_path), ["-c", "pass"], env={"TIMECRAFT": "timecraft"})
    assert not [word for word in command if word.endswith(":ro")]
