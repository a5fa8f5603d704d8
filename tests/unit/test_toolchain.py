from __future__ import annotations

import shutil
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
    assert toolchain.llvm_tool("/x/clang", 16, "llvm-ar", "AR", {"AR": "/opt/ar"}) == "/opt/ar"
    beside = tmp_path / "llvm-nm"
    beside.write_text("")
    assert toolchain.llvm_tool(str(tmp_path / "clang"), 16, "llvm-nm", "NM", {}) == str(beside)


def executable(path: Path, script: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)
    return path


def debian_llvm(root: Path, major: int) -> Path:
    """Debian's layout of one LLVM release: its tools in llvm-N/bin, compiler-rt in its resource
    folder, and only versioned links in bin/ (clang-N, llvm-ar-N...)."""
    bin_dir = root / f"llvm-{major}" / "bin"
    builtins = root / f"llvm-{major}" / "lib" / "clang" / str(major) / "lib" / "wasi" / toolchain.BUILTINS
    builtins.parent.mkdir(parents=True)
    builtins.write_text("")
    executable(bin_dir / "clang", 'case "$*" in *-print-libgcc-file-name*) echo ' + str(builtins)
               + f" ;; *) echo 'Debian clang version {major}.1.7' ;; esac")
    (root / "bin").mkdir(exist_ok=True)
    (root / "bin" / f"clang-{major}").symlink_to(bin_dir / "clang")
    for tool in ("llvm-ar", "llvm-nm", "llvm-ranlib", "wasm-ld"):
        (root / "bin" / f"{tool}-{major}").symlink_to(executable(bin_dir / tool, "true"))
    return bin_dir


@pytest.fixture
def two_llvm_releases(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """LLVM 16 and 19 side by side, unversioned llvm-ar/nm/ranlib of a third release
    (Debian 12's default LLVM 14) and the other tools on PATH."""
    debian_llvm(tmp_path, 16)
    debian_llvm(tmp_path, 19)
    for tool in ("llvm-ar", "llvm-nm", "llvm-ranlib"):
        executable(tmp_path / "llvm-14" / "bin" / tool, "true")
        (tmp_path / "bin" / tool).symlink_to(tmp_path / "llvm-14" / "bin" / tool)
    for tool in ("wasm-opt", "zip", "python3.11", "make", "patch", "tclsh"):
        executable(tmp_path / "bin" / tool, f"echo '{tool} 1.0'")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    return tmp_path


def test_cc_by_name_brings_the_llvm_tools_and_compiler_rt_of_its_release(
    two_llvm_releases: Path,
) -> None:
    # CC=clang-19 once got Debian's unversioned llvm-ar (LLVM 14), which
    # cannot read clang 19's thin LTO bitcode, and no wasm-ld at all.
    found, missing = toolchain.detect({"CC": "clang-19"})
    assert missing == []
    assert found is not None
    llvm19 = two_llvm_releases / "llvm-19"
    assert found.cc == str(two_llvm_releases / "bin" / "clang-19")
    assert (found.ar, found.nm, found.ranlib, found.wasm_ld) == tuple(
        str(llvm19 / "bin" / tool) for tool in ("llvm-ar", "llvm-nm", "llvm-ranlib", "wasm-ld"))
    assert found.builtins == str(llvm19 / "lib" / "clang" / "19" / "lib" / "wasi" / toolchain.BUILTINS)
    assert found.versions["clang"] == "Debian clang version 19.1.7"


def test_without_cc_the_first_candidate_is_used_with_its_own_tools(two_llvm_releases: Path) -> None:
    found, _ = toolchain.detect({})
    assert found is not None
    assert found.cc == str(two_llvm_releases / "bin" / "clang-16")
    assert found.ar == str(two_llvm_releases / "llvm-16" / "bin" / "llvm-ar")
    assert "/16/" in found.builtins


def test_tools_not_beside_clang_are_taken_by_their_versioned_name(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    # A clang copied out of its LLVM folder: the tools beside it are gone,
    # llvm-ar-19 on PATH is still of its release, the unversioned one is not.
    debian_llvm(tmp_path, 19)
    lone = tmp_path / "lone" / "clang"
    lone.parent.mkdir()
    lone.symlink_to(tmp_path / "llvm-19" / "bin" / "clang")
    shutil.copy(lone, tmp_path / "lone" / "clang-copy")
    executable(tmp_path / "bin" / "llvm-ar", "true")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    copied = str(tmp_path / "lone" / "clang-copy")
    assert toolchain.llvm_tool(copied, 19, "llvm-ar", "AR", {}) == str(tmp_path / "bin" / "llvm-ar-19")
    assert toolchain.llvm_tool(copied, 18, "llvm-ar", "AR", {}) == str(tmp_path / "bin" / "llvm-ar")


def test_missing_llvm_parts_are_installed_for_the_release_of_the_clang_found(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    # A machine whose only clang is 19 needs LLVM 19's linker and compiler-rt,
    # not LLVM 16's.
    executable(tmp_path / "clang-19", "echo 'clang version 19.1.7'")
    monkeypatch.setenv("PATH", str(tmp_path))
    _, missing = toolchain.detect({"CC": "clang-19"})
    assert "wasm-ld" in missing
    assert toolchain.llvm_release({"CC": "clang-19"}) == 19
    assert toolchain.install_command(["wasm-ld", toolchain.BUILTINS, "zip"],
                                     toolchain.llvm_release({"CC": "clang-19"}))[4:] == [
        "libclang-rt-19-dev-wasm32", "lld-19", "zip"]
    assert toolchain.llvm_release({"CC": str(tmp_path / "none")}) == toolchain.DEFAULT_LLVM


def test_load_without_a_toolchain_stage_says_what_to_run(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setattr(toolchain.layout, "TOOLCHAIN_FILE", tmp_path / "toolchain.json")
    with pytest.raises(StageError, match="nox -s toolchain"):
        toolchain.load()
