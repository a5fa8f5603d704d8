from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scripts import deps
from scripts.shell import StageError


def test_a_package_without_a_pure_python_wheel_is_named() -> None:
    message = deps.explain_failure("ERROR: No matching distribution found for numpy\n")
    assert "numpy" in message and "pure-Python" in message


def test_pip_targets_the_guest_platform(tmp_path: Path) -> None:
    command = deps.pip_command(tmp_path, ["requests"])
    assert command[-1] == "requests"
    for flag in ("--implementation", "--abi", "--platform", "--python-version", "--only-binary"):
        assert flag in command
    assert command[command.index("--platform") + 1] == "any"


def test_no_arguments_install_the_pinned_guest_requirements(tmp_path: Path) -> None:
    command = deps.pip_command(tmp_path, [])
    assert command[-2:] == ["-r", str(deps.GUEST_REQUIREMENTS)]
    assert "--require-hashes" in command


def test_a_failed_install_leaves_deps_exactly_as_it_was(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "deps"
    target.mkdir()
    (target / "existing.py").write_text("kept = True\n")
    failing = [sys.executable, "-c",
               "import sys; print('ERROR: No matching distribution found for numpy'); sys.exit(1)"]
    monkeypatch.setattr(deps, "pip_command", lambda staging, packages: failing)
    with pytest.raises(StageError, match="numpy.*left as it was"):
        deps.install(["numpy"], target)
    assert sorted(p.name for p in target.iterdir()) == ["existing.py"]
    assert not (tmp_path / "deps.new").exists()


def test_a_successful_install_keeps_earlier_packages(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "deps"
    target.mkdir()
    (target / "existing.py").write_text("")
    writer = "import pathlib, sys; (pathlib.Path(sys.argv[1]) / 'new.py').write_text('')"
    monkeypatch.setattr(deps, "pip_command",
                        lambda staging, packages: [sys.executable, "-c", writer, str(staging)])
    deps.install(["new"], target)
    assert sorted(p.name for p in target.iterdir()) == ["existing.py", "new.py"]
