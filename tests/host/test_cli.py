"""The command line and the compiled-module cache, in process."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest
import wasmtime

from host import cli, modcache

EXIT_5 = """(module
 (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
 (memory (export "memory") 1)
 (func (export "_start") (call $exit (i32.const 5))))"""


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "timecraft-python" / "modules"


def test_env_needs_a_name_and_an_equals_sign() -> None:
    assert cli.parse_env("A=b=c") == ("A", "b=c")
    assert cli.parse_env("EMPTY=") == ("EMPTY", "")
    for bad in ("NOVALUE", "=x"):
        with pytest.raises(argparse.ArgumentTypeError):
            cli.parse_env(bad)


def test_a_grant_is_seen_at_its_own_path_unless_mapped(tmp_path: Path) -> None:
    assert cli.parse_grant(str(tmp_path)) == cli.Grant(tmp_path, str(tmp_path))
    assert cli.parse_grant(f"{tmp_path}:/data") == cli.Grant(tmp_path, "/data")
    assert cli.parse_grant(f"{tmp_path}:ro") == cli.Grant(tmp_path, str(tmp_path), True)
    assert cli.parse_grant(f"{tmp_path}:/data:ro") == cli.Grant(tmp_path, "/data", True)
    (tmp_path / "file").write_text("")
    with pytest.raises(argparse.ArgumentTypeError, match="not a directory"):
        cli.parse_grant(str(tmp_path / "file"))


def test_a_missing_module_is_one_line_and_status_2(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", str(tmp_path / "absent.wasm")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


@pytest.mark.parametrize("runtime", ["builtin", "wasmtime"])
def test_the_second_start_uses_the_compiled_module_cache(tmp_path: Path, private_cache: Path,
                                                         runtime: str) -> None:
    module = tmp_path / "exit5.wasm"
    module.write_bytes(wasmtime.wat2wasm(EXIT_5))
    assert cli.main(["run", "--runtime", runtime, str(module)]) == 5
    compiled = sorted(private_cache.glob("*.cwasm"))
    assert len(compiled) == 1
    stamp = compiled[0].stat().st_mtime_ns
    assert cli.main(["run", "--runtime", runtime, str(module)]) == 5
    assert sorted(private_cache.glob("*.cwasm")) == compiled
    assert compiled[0].stat().st_mtime_ns == stamp


def test_a_truncated_cache_entry_is_replaced(tmp_path: Path, private_cache: Path) -> None:
    module = tmp_path / "exit5.wasm"
    module.write_bytes(wasmtime.wat2wasm(EXIT_5))
    engine = wasmtime.Engine()
    modcache.load_module(engine, module)
    (compiled,) = private_cache.glob("*.cwasm")
    compiled.write_bytes(compiled.read_bytes()[:100])
    assert isinstance(modcache.load_module(engine, module), wasmtime.Module)
    assert compiled.stat().st_size > 100


def test_run_arguments_parse_back_into_the_same_request(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    directory = os.open(tmp_path / "data", os.O_RDONLY | os.O_DIRECTORY)
    request = cli.RunRequest(
        module=tmp_path / "m.wasm", args=["-c", "--dir", "x"], env={"A": "1", "B": "x=y"},
        grants=[cli.Grant(tmp_path, str(tmp_path)), cli.Grant(tmp_path / "data", "/data"),
                cli.Grant(tmp_path / "data", str(tmp_path / "data"), True),
                cli.Grant(tmp_path / "data", "/ro", True),
                cli.Grant(Path(f"/proc/self/fd/{directory}"), "/inherited", True, directory)],
        sockets="wasmedgev2", ca_file=str(tmp_path / "ca.pem"), process_id="p1",
        ip_address="127.9.9.9", lifeline_fd=7,
        limits=cli.GuestLimits(memory=3 << 20, descriptors=64, sockets=8),
        api_limits=cli.ApiLimits(processes=3, work=2, body=1000, tasks=5), process_slots_fd=9,
        module_fd=8)
    arguments = cli.run_arguments(request, runtime="builtin", internal=True)
    options = cli.build_parser().parse_args(arguments)
    assert cli.request_from(options) == request
    assert options.runtime == "builtin"
    assert dict(options.env) == request.env
    assert options.dir == list(request.grants)
    assert (options.sockets, options.ca_file) == (request.sockets, request.ca_file)
    assert (options.process_id, options.ip_address, options.lifeline_fd) == ("p1", "127.9.9.9", 7)
    assert options.module == request.module
    assert options.args[-3:] == ["-c", "--dir", "x"]
    # timecraft takes only `--dir HOST`: a grant at its own path is written that way.
    assert arguments[arguments.index("--dir") + 1] == str(tmp_path)
    assert "--process-id" not in cli.run_arguments(request)
    # Only a child host gets open directories; others get the paths, each as written.
    public = cli.run_arguments(request)
    assert "--dir-fd" not in public and f"{tmp_path}/data:ro" in public
    os.close(directory)


def test_an_inherited_grant_must_be_an_open_directory(tmp_path: Path) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_grant_fd("12345:/x")
    with open(tmp_path / "file", "w") as file, pytest.raises(argparse.ArgumentTypeError):
        cli.parse_grant_fd(f"{file.fileno()}:/x")


def test_api_limits_are_positive_and_default_to_the_documented_values() -> None:
    options = cli.build_parser().parse_args(["run", "m.wasm"])
    assert cli.request_from(options).api_limits == cli.ApiLimits()
    options = cli.build_parser().parse_args(["run", "--max-processes", "2", "m.wasm"])
    assert cli.request_from(options).api_limits.processes == 2
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "--max-api-body", "0", "m.wasm"])
    # Defaults are left off the command line: timecraft has no such options.
    assert not any(argument.startswith("--max-") for argument in
                   cli.run_arguments(cli.RunRequest(module=Path("m.wasm"), args=[])))


@pytest.mark.parametrize("text,size", [("1", 1), ("64K", 64 << 10), ("512M", 512 << 20),
                                       ("2g", 2 << 30)])
def test_sizes(text: str, size: int) -> None:
    assert cli.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "1.5G", "-1", "12T", "M", "1 G"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected"):
        cli.parse_size(text)
