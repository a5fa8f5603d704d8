"""`python -m host run` end to end: exit status, one-line failures, both runtimes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import wasmtime

REPO_ROOT = Path(__file__).resolve().parents[2]
HELLO = """(module
 (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
 (memory (export "memory") 1)
 (data (i32.const 0) "\\10\\00\\00\\00\\06\\00\\00\\00")
 (data (i32.const 16) "hello\\n")
 (func (export "_start")
   (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))
   (call $exit (i32.const 7))))"""
TRAP = '(module (memory (export "memory") 1) (func (export "_start") unreachable))'
UNKNOWN_IMPORT = """(module (import "env" "missing" (func))
 (memory (export "memory") 1) (func (export "_start")))"""
WRONG_SIGNATURE = """(module
 (import "wasi_snapshot_preview1" "fd_close" (func (param i64) (result i32)))
 (memory (export "memory") 1) (func (export "_start")))"""
NO_START = '(module (memory (export "memory") 1))'
OUT_OF_MEMORY = """(module (memory (export "memory") 1)
 (func (export "_start")
   (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 4096)) (i32.const -1))))
   unreachable))"""
# Leaves a listening socket open and exits: the host must not wait for it.
EXIT_WITH_SOCKET = """(module
 (import "wasi_snapshot_preview1" "sock_open" (func $open (param i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "sock_bind" (func $bind (param i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "sock_listen" (func $listen (param i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
 (memory (export "memory") 1)
 (data (i32.const 64) "\\01\\00\\7f\\00\\00\\01")
 (data (i32.const 256) "\\40\\00\\00\\00\\80\\00\\00\\00")
 (func (export "_start")
   (drop (call $open (i32.const 1) (i32.const 2) (i32.const 0)))
   (drop (call $bind (i32.load (i32.const 0)) (i32.const 256) (i32.const 0)))
   (drop (call $listen (i32.load (i32.const 0)) (i32.const 5)))
   (call $exit (i32.load (i32.const 0)))))"""


def _module(tmp_path: Path, name: str, wat: str) -> Path:
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(wat))
    return path


def _run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "host", "run", *map(str, args)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("runtime", ["builtin", "wasmtime"])
def test_exit_status_is_the_guests(tmp_path: Path, runtime: str) -> None:
    result = _run("--runtime", runtime, _module(tmp_path, "hello", HELLO))
    assert (result.returncode, result.stdout, result.stderr) == (7, "hello\n", "")


@pytest.mark.parametrize("name,wat,status,reason", [
    ("trap", TRAP, 134, "unreachable"),
    ("unknown", UNKNOWN_IMPORT, 2, "env::missing"),
    ("signature", WRONG_SIGNATURE, 2, "fd_close has an unexpected signature"),
    ("nostart", NO_START, 2, "not a WASI command"),
    ("oom", OUT_OF_MEMORY, 134, "unreachable"),
])
def test_failures_have_one_line_reason(tmp_path: Path, name: str, wat: str, status: int,
                                       reason: str) -> None:
    result = _run(_module(tmp_path, name, wat))
    assert result.returncode == status
    assert len(result.stderr.strip().splitlines()) == 1
    assert reason in result.stderr


def test_invalid_and_missing_modules(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.wasm"
    garbage.write_bytes(b"\0asm garbage")
    for module in (garbage, tmp_path / "absent.wasm"):
        result = _run(module)
        assert result.returncode != 0
        assert len(result.stderr.strip().splitlines()) == 1


def test_exit_with_open_socket_does_not_hang(tmp_path: Path) -> None:
    started = time.monotonic()
    result = _run("--sockets", "wasmedgev2", _module(tmp_path, "sock", EXIT_WITH_SOCKET))
    assert time.monotonic() - started < 30
    assert result.returncode == 3, result.stderr  # the socket's fd number



def _exit_with(code: int) -> str:
    return f"""(module
 (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
 (memory (export "memory") 1)
 (func (export "_start") (call $exit (i32.const {code}))))"""


@pytest.mark.parametrize("runtime", ["builtin", "wasmtime"])
@pytest.mark.parametrize("code,status", [(0, 0), (125, 125), (126, 126), (255, 255),
                                         (256, 255), (512, 255), (-1, 255)])
def test_exit_codes_above_255_become_255(tmp_path: Path, runtime: str, code: int,
                                         status: int) -> None:
    result = _run("--runtime", runtime, _module(tmp_path, "exit", _exit_with(code)))
    assert (result.returncode, result.stderr) == (status, "")


# fd_write imported twice, under two names, as a module linked from several
# objects can do: it must link (WASI's conformance tests have one).
DUPLICATE_IMPORT = """(module
 (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "fd_write" (func $again (param i32 i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
 (memory (export "memory") 1)
 (data (i32.const 0) "\\10\\00\\00\\00\\03\\00\\00\\00")
 (data (i32.const 16) "ok\\n")
 (func (export "_start")
   (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))
   (drop (call $again (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))
   (call $exit (i32.const 9))))"""


@pytest.mark.parametrize("runtime", ["builtin", "wasmtime"])
def test_a_function_imported_twice_links(tmp_path: Path, runtime: str) -> None:
    result = _run("--runtime", runtime, _module(tmp_path, "twice", DUPLICATE_IMPORT))
    assert (result.returncode, result.stdout, result.stderr) == (9, "ok\nok\n", "")
