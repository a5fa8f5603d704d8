"""`nox -s deps`: the real pip against a local index of tiny packages, and its messages."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import tiny_packages
from packaging.utils import canonicalize_name
from packaging.version import Version
from pip_reports import FLASK_REPORT, item

from scripts import deps
from scripts.resolution import Downgrade, Resolution
from scripts.shell import StageError

NUMPY_REPORT = {"install": [
    item("numpy", "2.4.6", "numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl", requested=True)]}
PYDANTIC_REPORT = {"install": [
    item("pydantic", "2.14.4", "pydantic-2.14.4-py3-none-any.whl", requested=True,
         requires=("pydantic-core==2.50.5", "typing-extensions>=4.14")),
    item("pydantic-core", "2.50.5", "pydantic_core-2.50.5-cp311-cp311-manylinux_2_17_x86_64.whl",
         requires=("typing-extensions>=4.14",)),
    item("typing-extensions", "4.16.0", "typing_extensions-4.16.0-py3-none-any.whl"),
]}


# -- messages ------------------------------------------------------------------------------


def test_a_package_without_a_pure_form_is_named_with_its_chain(tmp_path: Path) -> None:
    reason = "building its source distribution with compilers disabled failed (log: x.log)"
    message = deps.no_pure_form_message({canonicalize_name("markupsafe"): reason},
                                        Resolution.from_report(FLASK_REPORT), tmp_path / "deps")
    assert ("  markupsafe 3.0.4 (pulled in by flask -> jinja2 -> markupsafe):\n"
            f"    no pure-Python wheel, and {reason}\n") in message
    assert "pin a version of flask that does not need markupsafe" in message
    assert f"{tmp_path / 'deps'} was left as it was" in message


def test_a_requested_package_without_a_pure_form_is_named_alone(tmp_path: Path) -> None:
    message = deps.no_pure_form_message({canonicalize_name("numpy"): "it needs C"},
                                        Resolution.from_report(NUMPY_REPORT), tmp_path)
    assert "numpy 2.4.6 (requested directly):\n    no pure-Python wheel, and it needs C" in message
    assert "use a pure-Python alternative to numpy" in message


def test_a_downgrade_names_the_native_dependency_and_the_pin(tmp_path: Path) -> None:
    found = [Downgrade(canonicalize_name("pydantic"), Version("1.10.26"), Version("2.14.4"),
                       requested=True)]
    message = deps.downgrade_message(found, Resolution.from_report(PYDANTIC_REPORT),
                                     {canonicalize_name("pydantic-core"): "it needs Rust"},
                                     ["pydantic", "rich>=13"], tmp_path)
    assert message.startswith("refusing to install an older major version of a package you "
                              "asked for:\n")
    assert ("  pydantic: the guest would get 1.10.26, because pydantic 2.14.4 needs "
            "pydantic-core 2.50.5\n    pydantic-core: no pure-Python wheel, and it needs Rust\n"
            ) in message
    assert "pin it: nox -s deps -- pydantic 'rich>=13' 'pydantic<2'\n" in message
    assert f"{tmp_path} was left as it was" in message


def test_an_older_minor_version_is_noted() -> None:
    older = Downgrade(canonicalize_name("pydantic"), Version("2.1"), Version("2.14.4"),
                      requested=True)
    note = deps.older_version_note(older, Resolution.from_report(PYDANTIC_REPORT),
                                   {canonicalize_name("pydantic-core"): "it needs Rust"})
    assert note == ("deps: note: pydantic 2.1 was installed, not the newest 2.14.4, which needs "
                    "pydantic-core 2.50.5\n    pydantic-core: no pure-Python wheel, and it needs "
                    "Rust")


def test_a_release_for_a_later_python_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deps, "guest_python", lambda: Version("3.11.2"))
    ordinary = Resolution.from_report({"install": [
        item("soupsieve", "4.1.3", "soupsieve-4.1.3-py3-none-any.whl",
             requires_python=">=3.11.5")]})
    older = Downgrade(canonicalize_name("soupsieve"), Version("2.10"), Version("4.1.3"),
                      requested=False)
    assert deps.older_version_note(older, ordinary, {}) == (
        "deps: note: soupsieve 2.10 was installed, not the newest 4.1.3, which needs Python "
        ">=3.11.5 (python.wasm is Python 3.11.2)")


def test_a_package_missing_from_every_index_is_named() -> None:
    message = deps.explain_failure("ERROR: No matching distribution found for numpy\n")
    assert "numpy" in message and "pure-Python" in message


# -- pip's command lines -------------------------------------------------------------------


def test_pip_targets_the_guest_platform(tmp_path: Path) -> None:
    command = deps.pip_command(tmp_path, ["requests"], [tmp_path / "built"], tmp_path / "r.json")
    assert command[-1] == "requests"
    for flag in ("--implementation", "--abi", "--platform", "--python-version", "--only-binary"):
        assert flag in command
    assert command[command.index("--platform") + 1] == "any"
    assert f"--find-links={tmp_path / 'built'}" in command
    assert command[command.index("--report") + 1] == str(tmp_path / "r.json")


def test_no_arguments_install_the_pinned_guest_requirements() -> None:
    assert deps.requested([]) == ["--require-hashes", "-r", str(deps.GUEST_REQUIREMENTS)]
    assert deps.requested(["--requirement=x.txt"]) == ["-r", "x.txt"]


# -- whole installs from a local index ------------------------------------------------------


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A deps/ folder with a file installed earlier, which every install must keep."""
    path = tmp_path / "deps"
    path.mkdir()
    (path / "existing.py").write_text("kept = True\n")
    return path


def test_a_package_with_an_optional_extension_is_installed_pure(local_index: Path,
                                                                target: Path) -> None:
    tiny_packages.sdist(local_index, tiny_packages.config("app", "1.0", requires=("speedy>=1",)))
    tiny_packages.sdist(local_index, tiny_packages.config("speedy", "1.0", extension="optional"))
    deps.install(["app"], target)
    assert sorted(path.name for path in target.iterdir()) == [
        "app", "app-1.0.dist-info", "existing.py", "speedy", "speedy-1.0.dist-info"]
    assert (target / "speedy" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    assert not [path for path in target.rglob("*") if path.suffix in (".so", ".pyd")]
    assert not target.with_name("deps.new").exists()


def test_a_hash_pinned_file_installs_wheels_built_from_its_sources(local_index: Path,
                                                                   target: Path,
                                                                   tmp_path: Path) -> None:
    lines = []
    for settings in (tiny_packages.config("app", "1.0", requires=("speedy>=1",)),
                     tiny_packages.config("speedy", "1.0", extension="optional")):
        sdist = tiny_packages.sdist(local_index, settings)
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        lines.append(f"{settings['name']}=={settings['version']} \\\n    --hash=sha256:{digest}")
    locked = tmp_path / "locked.txt"
    locked.write_text("\n".join(lines) + "\n")
    deps.install(["--require-hashes", "-r", str(locked)], target)
    assert (target / "speedy-1.0.dist-info").is_dir() and (target / "app").is_dir()


def test_no_pure_form_fails_with_the_chain_and_leaves_deps_alone(local_index: Path,
                                                                  target: Path,
                                                                  capsys: pytest.CaptureFixture[str]
                                                                  ) -> None:
    tiny_packages.sdist(local_index, tiny_packages.config("app", "1.0", requires=("middle",)))
    tiny_packages.wheel(local_index, tiny_packages.config("middle", "1.0", requires=("native",)))
    tiny_packages.sdist(local_index, tiny_packages.config("native", "2.0", extension="required"))
    with pytest.raises(StageError) as error:
        deps.install(["app"], target)
    message = str(error.value)
    assert "native 2.0 (pulled in by app -> middle -> native):\n    no pure-Python wheel" in message
    assert "with compilers disabled failed (log: " in message
    assert "pin a version of app that does not need native" in message
    assert sorted(path.name for path in target.iterdir()) == ["existing.py"]
    assert not target.with_name("deps.new").exists()


def test_an_older_major_version_is_refused_unless_pinned(local_index: Path, target: Path) -> None:
    tiny_packages.wheel(local_index, tiny_packages.config("lib", "1.4"))
    tiny_packages.wheel(local_index, tiny_packages.config("lib", "2.0", requires=("native",)))
    tiny_packages.sdist(local_index, tiny_packages.config("native", "2.0", extension="required"))
    with pytest.raises(StageError) as error:
        deps.install(["lib"], target)
    message = str(error.value)
    assert "  lib: the guest would get 1.4, because lib 2.0 needs native 2.0\n" in message
    assert "pin it: nox -s deps -- lib 'lib<2'\n" in message
    assert sorted(path.name for path in target.iterdir()) == ["existing.py"]
    deps.install(["lib", "lib<2"], target)
    assert (target / "lib-1.4.dist-info").is_dir()


def test_an_older_version_of_a_dependency_is_installed_with_a_note(
        local_index: Path, target: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiny_packages.wheel(local_index, tiny_packages.config("app", "1.0", requires=("lib",)))
    tiny_packages.wheel(local_index, tiny_packages.config("lib", "1.4"))
    tiny_packages.wheel(local_index, tiny_packages.config("lib", "2.0", requires=("native",)))
    tiny_packages.sdist(local_index, tiny_packages.config("native", "2.0", extension="required"))
    deps.install(["app"], target)
    assert {"app-1.0.dist-info", "lib-1.4.dist-info"} <= {path.name for path in target.iterdir()}
    assert ("deps: note: lib 1.4 was installed, not the newest 2.0, which needs native 2.0\n"
            "    native: no pure-Python wheel, and building") in capsys.readouterr().out


def test_nothing_is_built_for_a_release_that_needs_a_later_python(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(deps, "guest_python", lambda: Version("3.11.2"))
    monkeypatch.setattr(deps, "has_pure_wheel", lambda package, work: False)
    built: list[str] = []
    monkeypatch.setattr(deps, "pure_wheel", lambda name, version, work: built.append(name))
    ordinary = Resolution.from_report({"install": [
        item("modern", "2.0", "modern-2.0.tar.gz", requires_python=">=3.11.5")]})
    assert deps.build_missing(ordinary, tmp_path) == ({}, {})
    assert built == []


def test_pip_checks_requires_python_against_the_guest_exactly() -> None:
    options = deps.pure_python()
    version = options[options.index("--python-version") + 1]
    assert version == str(deps.guest_python()) and version.count(".") == 2


def test_a_failed_install_leaves_deps_exactly_as_it_was(local_index: Path, target: Path) -> None:
    with pytest.raises(StageError, match="no-such-package.*left as it was"):
        deps.install(["no-such-package"], target)
    assert sorted(path.name for path in target.iterdir()) == ["existing.py"]
    assert (target / "existing.py").read_text() == "kept = True\n"

