"""The compiled-module cache runs only what this host compiled, for the module it was given."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest
import wasmtime

from host import cli, modcache

EXITING = """(module
 (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
 (memory (export "memory") 1)
 (func (export "_start") (call $exit (i32.const {code}))))"""
WARNING = "is not a compiled module this host wrote"


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "timecraft-python" / "modules"


@pytest.fixture
def modules(tmp_path: Path) -> tuple[Path, Path]:
    """Two modules, exiting 5 and 7, each run once so that both are cached."""
    five, seven = tmp_path / "five.wasm", tmp_path / "seven.wasm"
    five.write_bytes(wasmtime.wat2wasm(EXITING.format(code=5)))
    seven.write_bytes(wasmtime.wat2wasm(EXITING.format(code=7)))
    assert cli.main(["run", str(five)]) == 5
    assert cli.main(["run", str(seven)]) == 7
    return five, seven


def entry_of(cache: Path, module: Path) -> Path:
    (entry,) = [path for path in cache.glob("*.cwasm")
                if path.name.startswith(modcache_digest(module))]
    return entry


def modcache_digest(module: Path) -> str:
    import hashlib

    return hashlib.sha256(module.read_bytes()).hexdigest()


def _rewrite(entry: Path, other: Path) -> None:
    entry.write_bytes(other.read_bytes())


def _rename_over(entry: Path, other: Path) -> None:
    os.replace(other, entry)


def _rename_over_with_tag(entry: Path, other: Path) -> None:
    os.replace(f"{other}.tag", f"{entry}.tag")
    os.replace(other, entry)


@pytest.mark.parametrize("swap", [_rewrite, _rename_over, _rename_over_with_tag])
def test_an_entry_swapped_for_another_modules_is_rejected_and_recompiled(
        cache: Path, modules: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
        swap: Callable[[Path, Path], None]) -> None:
    five, seven = modules
    capsys.readouterr()
    # Both entries were written by this host, but this one is for the other module.
    swap(entry_of(cache, five), entry_of(cache, seven))
    assert cli.main(["run", str(five)]) == 5
    assert WARNING in capsys.readouterr().err
    assert cli.main(["run", str(five)]) == 5  # written again, and trusted again
    assert WARNING not in capsys.readouterr().err


def test_compiled_code_from_elsewhere_is_rejected(cache: Path, modules: tuple[Path, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    five, seven = modules
    capsys.readouterr()
    foreign = wasmtime.Module(wasmtime.Engine(), seven.read_bytes()).serialize()
    entry_of(cache, five).write_bytes(bytes(foreign))
    assert cli.main(["run", str(five)]) == 5
    assert WARNING in capsys.readouterr().err


def test_an_index_record_pointing_at_another_module_is_not_followed(
        cache: Path, modules: tuple[Path, Path]) -> None:
    five, seven = modules
    records = {record.read_text().split()[0]: record
               for record in (cache / "index-tagged").iterdir()}
    record = records[modcache_digest(five)]
    # The record of five, made to name seven's (genuine, signed) entry.
    text = record.read_text().replace(modcache_digest(five), modcache_digest(seven))
    record.write_text(text)
    assert cli.main(["run", str(five)]) == 5


def test_the_key_is_the_users_alone(cache: Path, modules: tuple[Path, Path]) -> None:
    key = cache / modcache.KEY_FILE
    assert key.stat().st_mode & 0o077 == 0
    assert len(key.read_bytes()) == 32


@pytest.mark.parametrize("granted", ["home", "cache", "inside"])
def test_a_grant_that_reaches_the_cache_is_refused(
        tmp_path: Path, cache: Path, granted: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "five.wasm"
    module.write_bytes(wasmtime.wat2wasm(EXITING.format(code=5)))
    (cache / "index").mkdir(parents=True)
    directory = {"home": tmp_path, "cache": cache, "inside": cache / "index"}[granted]
    for runtime in ("builtin", "wasmtime"):
        assert cli.main(["run", "--runtime", runtime, "--dir", str(directory),
                         str(module)]) == 2
        error = capsys.readouterr().err
        assert "compiled-module cache" in error and "XDG_CACHE_HOME" in error
    # A grant beside the cache is fine.
    (tmp_path / "work").mkdir()
    assert cli.main(["run", "--dir", str(tmp_path / "work"), str(module)]) == 5


def test_an_unwritable_cache_still_runs(tmp_path: Path, cache: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    module = tmp_path / "five.wasm"
    module.write_bytes(wasmtime.wat2wasm(EXITING.format(code=5)))
    assert cli.main(["run", str(module)]) == 5
    assert os.path.isfile(blocker)
