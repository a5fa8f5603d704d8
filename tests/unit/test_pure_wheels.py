"""Building pure-Python wheels from source distributions: the real pip, offline."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tiny_packages
from packaging.utils import canonicalize_name
from packaging.version import Version

from scripts import pure_wheels
from scripts.pure_wheels import NoPureForm

SPEEDY = canonicalize_name("speedy")
NATIVE = canonicalize_name("native")


def record_is_consistent(wheel: Path) -> bool:
    with zipfile.ZipFile(wheel) as archive:
        dist_info = next(name for name in archive.namelist() if name.endswith(".dist-info/RECORD"))
        rows = csv.reader(io.StringIO(archive.read(dist_info).decode()))
        for name, digest, size in rows:
            if not digest:
                continue
            data = archive.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            if digest != f"sha256={expected.decode()}" or int(size) != len(data):
                return False
    return True


def test_an_optional_extension_that_fails_gives_a_pure_cached_wheel(local_index: Path,
                                                                    tmp_path: Path) -> None:
    sdist = tiny_packages.sdist(local_index, tiny_packages.config("speedy", "1.0",
                                                                  extension="optional"))
    wheel, sdist_sha256 = pure_wheels.pure_wheel(SPEEDY, Version("1.0"), tmp_path / "work")
    # The build declared an extension, so it was tagged for this host; with
    # no compiled file inside it was retagged.
    assert wheel.name == "speedy-1.0-py3-none-any.whl"
    assert sdist_sha256 == hashlib.sha256(sdist.read_bytes()).hexdigest()
    assert wheel.parent == pure_wheels.release_dir(SPEEDY, Version("1.0")) / sdist_sha256
    assert pure_wheels.compiled_files(wheel) == []
    with zipfile.ZipFile(wheel) as archive:
        assert "speedy/__init__.py" in archive.namelist()
        wheel_file = archive.read("speedy-1.0.dist-info/WHEEL").decode()
    assert "Tag: py3-none-any" in wheel_file and "Root-Is-Purelib: true" in wheel_file
    assert "linux" not in wheel_file
    assert record_is_consistent(wheel)
    # pip accepts the retagged wheel for python.wasm's platform.
    target = tmp_path / "target"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target),
                    "--only-binary", ":all:", "--platform", "any", "--implementation", "py",
                    "--abi", "none", "--python-version", "3.11", str(wheel)], check=True)
    assert (target / "speedy" / "__init__.py").read_text() == "VERSION = '1.0'\n"


def test_a_cached_wheel_is_not_built_again(local_index: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    tiny_packages.sdist(local_index, tiny_packages.config("speedy", "1.0", extension="optional"))
    first, _ = pure_wheels.pure_wheel(SPEEDY, Version("1.0"), tmp_path / "first")

    def no_build(*args: object) -> Path:
        raise AssertionError("built again")

    monkeypatch.setattr(pure_wheels, "build", no_build)
    second, _ = pure_wheels.pure_wheel(SPEEDY, Version("1.0"), tmp_path / "second")
    assert second == first


def test_a_different_source_for_the_same_version_is_built_anew(local_index: Path,
                                                               tmp_path: Path) -> None:
    settings = tiny_packages.config("speedy", "1.0", extension="optional")
    tiny_packages.sdist(local_index, settings)
    first, first_sha = pure_wheels.pure_wheel(SPEEDY, Version("1.0"), tmp_path / "first")
    tiny_packages.sdist(local_index, {**settings, "requires": ["something-else"]})
    second, second_sha = pure_wheels.pure_wheel(SPEEDY, Version("1.0"), tmp_path / "second")
    assert first_sha != second_sha and first.parent != second.parent
    with zipfile.ZipFile(second) as archive:
        assert "something-else" in archive.read("speedy-1.0.dist-info/METADATA").decode()


def test_a_required_extension_has_no_pure_form_and_is_remembered(local_index: Path,
                                                                 tmp_path: Path) -> None:
    tiny_packages.sdist(local_index, tiny_packages.config("native", "2.0", extension="required"))
    with pytest.raises(NoPureForm, match="with compilers disabled failed") as first:
        pure_wheels.pure_wheel(NATIVE, Version("2.0"), tmp_path / "first")
    assert first.value.lasting
    assert not list((pure_wheels.release_dir(NATIVE, Version("2.0"))).glob("*/*.whl"))
    # The next attempt fails at once, without the index: nothing is downloaded.
    for path in local_index.iterdir():
        path.unlink()
    with pytest.raises(NoPureForm, match="earlier attempt.*delete .*no-pure-form.txt"):
        pure_wheels.pure_wheel(NATIVE, Version("2.0"), tmp_path / "second")


def test_a_release_without_a_source_distribution_is_not_remembered(local_index: Path,
                                                                   tmp_path: Path) -> None:
    with pytest.raises(NoPureForm, match="no source distribution") as error:
        pure_wheels.pure_wheel(NATIVE, Version("3.0"), tmp_path / "work")
    assert not error.value.lasting
    assert not (pure_wheels.release_dir(NATIVE, Version("3.0")) / pure_wheels.FAILURE_FILE).exists()


@pytest.mark.parametrize("member", [
    "fast/_speedups.cpython-311-x86_64-linux-gnu.so",
    "fast.libs/libyaml-0-2.so.1.2",
    "fast/_speedups.pyd",
    "fast/_speedups.cpython-311-darwin.dylib",
    "fast/helper.DLL",
])
def test_a_wheel_with_compiled_files_is_refused(tmp_path: Path, member: str) -> None:
    wheel = tiny_packages.wheel(tmp_path, tiny_packages.config("fast", "1.0"),
                                tag="cp311-cp311-linux_x86_64", extra={member: b"\x7fELF"})
    assert pure_wheels.compiled_files(wheel) == [member]
    with pytest.raises(NoPureForm, match=member.replace(".", r"\.")):
        pure_wheels.make_pure(wheel)
    with pytest.raises(ValueError):
        pure_wheels.retag_pure(wheel)


def test_python_sources_named_like_libraries_are_not_compiled_files(tmp_path: Path) -> None:
    wheel = tiny_packages.wheel(tmp_path, tiny_packages.config("fast", "1.0"), extra={
        "fast/so.py": b"", "fast/dll_loader.py": b"", "fast/_speedups.c": b"", "fast/x.pyi": b""})
    assert pure_wheels.compiled_files(wheel) == []
    assert pure_wheels.make_pure(wheel) == wheel  # already pure-tagged: left as it is


def test_every_build_gets_the_pure_python_switches() -> None:
    environment = pure_wheels.build_environment(canonicalize_name("MultiDict"))
    assert environment["MULTIDICT_NO_EXTENSIONS"] == "1"
    assert environment["PYYAML_FORCE_LIBYAML"] == "0"
    assert environment["CC"] == "false"
    assert subprocess.run([environment["CC"]], check=False).returncode != 0
