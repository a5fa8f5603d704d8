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
    assert missing == ["clang", "llvm-ar", "llvm-nm", "llvm-ranlib", "wasm-ld",
                       "libclang_rt.builtins-wasm32.a", "wasm-opt", "zip", "python3.11", "make", "patch", "tclsh"]


def test_a_machine_with_nothing_installs_every_package_in_one_go(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    # A fresh Debian 12 once needed two runs: clang-16 came first, and only
    # then were the linker and compiler-rt found missing.
    monkeypatch.setenv("PATH", str(tmp_path))
    _, missing = toolchain.detect({})
    assert toolchain.install_command(missing)[4:] == [
        "binaryen", "clang-16", "libclang-rt-16-dev-wasm32", "lld-16", "llvm-16", "make", "patch",
        "python3.11", "tcl", "zip"]


def test_llvm_tools_named_by_the_environment_are_not_installed(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    _, missing = toolchain.detect({"AR": "/opt/llvm/bin/llvm-ar"})
    assert "llvm-ar" not in missing
    assert {"clang", "llvm-nm", "wasm-ld", "libclang_rt.builtins-wasm32.a"} <= set(missing)


def fake_clang(directory: Path, builtins: Path) -> Path:
    """A clang 16 that answers the two queries the stage makes."""
    clang = directory / "clang-16"
    clang.write_text("#!/bin/sh\n"
                     'case "$*" in *-print-libgcc-file-name*) echo ' + str(builtins) + " ;;\n"
                     "*) echo 'clang version 16.0.6' ;; esac\n")
    clang.chmod(0o755)
    return clang


def test_a_clang_without_linker_or_compiler_rt_reports_both(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    clang = fake_clang(tmp_path, tmp_path / "lib" / "libclang_rt.builtins-wasm32.a")
    for tool in ("llvm-ar", "llvm-nm", "llvm-ranlib"):
        (tmp_path / tool).write_text("")
    monkeypatch.setenv("PATH", str(tmp_path))
    _, missing = toolchain.detect({})
    assert toolchain.find_clang({}) == str(clang)
    assert missing[:2] == ["wasm-ld", "libclang_rt.builtins-wasm32.a"]
    assert "clang" not in missing and "llvm-ar" not in missing


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
