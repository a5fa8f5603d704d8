from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from scripts import cpython, layout, reproducible
from scripts.options import BuildOptions
from scripts.shell import StageError


def test_compilers_write_paths_under_the_checkout_relative_to_it() -> None:
    assert reproducible.prefix_map_flags() == [f"-ffile-prefix-map={layout.REPO}=."]
    text = f"-I{layout.REPO}/build/zlib/include --sysroot={layout.REPO}/build/sysroot"
    assert reproducible.without_checkout_path(text) == (
        "-I./build/zlib/include --sysroot=./build/sysroot")


def test_the_build_date_comes_from_source_date_epoch() -> None:
    assert reproducible.source_date_epoch({"SOURCE_DATE_EPOCH": "1700000000"}) == 1700000000


@pytest.mark.parametrize("value", ["yesterday", "-5", "1.5"])
def test_a_malformed_source_date_epoch_is_refused(value: str) -> None:
    with pytest.raises(StageError, match="SOURCE_DATE_EPOCH=.*unset it to use the commit's date"):
        reproducible.source_date_epoch({"SOURCE_DATE_EPOCH": value})


def commit(repo: Path, date: int, *files: str) -> None:
    """Commit `files` (written anew) in `repo`, dated `date`."""
    env = {**os.environ, "GIT_AUTHOR_DATE": f"@{date - 100} +0000",
           "GIT_COMMITTER_DATE": f"@{date} +0000", "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    if not (repo / ".git").exists():
        subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True)
    for name in files:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(str(date))
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "x"], cwd=repo, env=env,
                   check=True)


def test_by_default_the_build_date_is_the_last_commit_that_changed_its_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layout, "REPO", tmp_path)
    monkeypatch.setattr(layout, "OWN_INPUTS", (tmp_path / "patches",))
    commit(tmp_path, 1600000000, "patches/a.patch")
    # Documentation and tests do not change what is built, nor its date:
    # the next build need not link python.wasm again.
    commit(tmp_path, 1600000500, "README.md", "tests/test_a.py")
    assert reproducible.source_date_epoch({}) == 1600000000
    commit(tmp_path, 1600000900, "scripts/stage.py")
    assert reproducible.source_date_epoch({}) == 1600000900


def test_without_a_commit_of_its_inputs_the_build_date_is_the_newest_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layout, "REPO", tmp_path)
    monkeypatch.setattr(layout, "OWN_INPUTS", (tmp_path / "patches",))
    commit(tmp_path, 1600000123)
    assert reproducible.source_date_epoch({}) == 1600000123


def test_outside_a_git_checkout_the_newest_input_dates_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = [tmp_path / "patches", tmp_path / "sources.toml"]
    (tmp_path / "patches").mkdir()
    (tmp_path / "patches" / "a.patch").write_text("")
    inputs[1].write_text("")
    os.utime(tmp_path / "patches" / "a.patch", (1_500_000_000, 1_500_000_000))
    os.utime(inputs[1], (1_400_000_000, 1_400_000_000))
    monkeypatch.setattr(layout, "REPO", tmp_path)
    monkeypatch.setattr(layout, "OWN_INPUTS", tuple(inputs))
    assert reproducible.source_date_epoch({}) == 1_500_000_000
    assert "set SOURCE_DATE_EPOCH" in capsys.readouterr().out


def test_a_new_build_date_recompiles_only_the_object_that_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layout, "BUILD", tmp_path)
    options = BuildOptions()
    date_object = cpython.build_dir(options) / "Modules" / "getbuildinfo.o"
    other_object = cpython.build_dir(options) / "Modules" / "main.o"
    for path in (date_object, other_object):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    cpython.forget_an_old_build_date(options, 1700000000)
    assert not date_object.exists() and other_object.exists()
    date_object.write_text("")
    cpython.forget_an_old_build_date(options, 1700000000)
    assert date_object.exists()
    cpython.forget_an_old_build_date(options, 1700000001)
    assert not date_object.exists() and other_object.exists()
