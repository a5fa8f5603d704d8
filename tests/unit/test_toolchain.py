from __future__ import annotations

from pathlib import Path

import pytest

from scripts import toolchain
from scripts.shell import StageError


def test_nothing_on_the_path_reports_every_tool_missing(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    found, missing = toolchain.detect({})
    assert found is None
    assert missing == ["clang", "wasm-opt", "zip", "python3.11", "make", "patch", "tclsh"]


def test_a_cc_that_does_not_run_counts_as_missing_clang(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    _, missing = toolchain.detect({"CC": str(tmp_path / "no-such-clang")})
    assert "clang" in missing


def test_an_old_clang_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "clang"
    fake.write_text("#!/bin/sh\necho 'clang version 11.0.0'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert toolchain.find_clang({}) is None
    _, missing = toolchain.detect({"CC": str(fake)})
    assert "clang" in missing


def test_missing_tools_without_root_fail_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(toolchain, "can_install", lambda: None)
    with pytest.raises(StageError) as error:
        toolchain.install(["wasm-opt", "libclang_rt.builtins-wasm32.a", "wasm-ld"])
    message = str(error.value)
    assert "wasm-opt" in message and "wasm-ld" in message
    assert "apt-get install -y --no-install-recommends binaryen libclang-rt-16-dev-wasm32 lld-16" in message


def test_every_tool_the_stage_looks_for_has_a_package() -> None:
    names = ["clang", "llvm-ar", "llvm-nm", "llvm-ranlib", "wasm-ld",
             "libclang_rt.builtins-wasm32.a", "wasm-opt", "zip", "python3.11", "make", "patch",
             "tclsh"]
    assert toolchain.install_command(names)[-1] == "zip"
    assert set(names) <= set(toolchain.DEBIAN_PACKAGES)


def test_llvm_tools_come_from_the_environment_first(tmp_path: Path) -> None:
    assert toolchain.llvm_tool("/x/clang", "llvm-ar", "AR", {"AR": "/opt/ar"}) == "/opt/ar"
    beside = tmp_path / "llvm-nm"
    beside.write_text("")
    assert toolchain.llvm_tool(str(tmp_path / "clang"), "llvm-nm", "NM", {}) == str(beside)


def test_load_without_a_toolchain_stage_says_what_to_run(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setattr(toolchain.layout, "TOOLCHAIN_FILE", tmp_path / "toolchain.json")
    with pytest.raises(StageError, match="nox -s toolchain"):
        toolchain.load()
