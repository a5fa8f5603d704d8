"""What a guest may consume: descriptors, sockets, memory, and the size of its arguments."""

from __future__ import annotations

import gc
import os
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
import wasmtime
from wasm_guests import GUEST_ROOT, MEMORY_PAGES, ROOT_FD, WasiGuest

from host import wasi_abi as abi
from host.descriptors import Descriptor
from host.requests import Grant, GuestLimits

REPO_ROOT = Path(__file__).resolve().parents[2]
# Asks for 1 GiB and one page more than it has: exit 3 when refused, 4 when granted.
GROW_PAST_DEFAULT = """(module
 (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
 (memory (export "memory") 1)
 (func (export "_start")
   (call $exit (select (i32.const 3) (i32.const 4)
     (i32.eq (memory.grow (i32.const 16384)) (i32.const -1))))))"""
# Grows a page at a time until refused, then traps.
GROW_UNTIL_REFUSED = """(module (memory (export "memory") 1)
 (func (export "_start")
   (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
   unreachable))"""
BIG_MINIMUM = '(module (memory (export "memory") 32) (func (export "_start")))'


def _open_host_fds() -> set[str]:
    # Compared as sets: what other tests left for the garbage collector may
    # be closed meanwhile, and only new descriptors are leaks.
    gc.collect()
    return set(os.listdir("/proc/self/fd"))


def _run(tmp_path: Path, wat: str, *options: str) -> subprocess.CompletedProcess:
    module = tmp_path / "limits.wasm"
    module.write_bytes(wasmtime.wat2wasm(wat))
    return subprocess.run([sys.executable, "-m", "host", "run", *options, str(module)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def test_descriptor_limit_is_emfile_and_leaves_no_host_fd(tree: Path) -> None:
    # stdio and the grant take 4 of the 6.
    guest = WasiGuest([Grant(tree / "granted", GUEST_ROOT)], limits=GuestLimits(descriptors=6))
    assert guest.open("file.txt")[0] == 0
    errno, last = guest.open("sub/inner.txt")
    assert errno == 0
    before = _open_host_fds()
    assert guest.open("file.txt")[0] == abi.EMFILE
    assert guest.open("sub", oflags=abi.OFLAG_DIRECTORY)[0] == abi.EMFILE
    assert _open_host_fds() <= before
    assert guest.call("fd_close", last) == 0
    assert guest.open("file.txt")[0] == 0
    guest.close()


def test_socket_limit_is_enfile_and_leaves_no_host_fd(tree: Path) -> None:
    guest = WasiGuest([], limits=GuestLimits(sockets=2))
    out = guest.alloc(4)
    for _ in range(2):
        assert guest.call("sock_open", 1, 1, out) == 0
    before = _open_host_fds()
    assert guest.call("sock_open", 1, 1, out) == abi.ENFILE
    assert guest.call("sock_open", 2, 2, out) == abi.ENFILE
    assert _open_host_fds() <= before
    # Files still open: sockets have their own, smaller quota.
    assert guest.call("fd_close", guest.u32(out)) == 0
    assert guest.call("sock_open", 1, 2, out) == 0
    guest.close()


def test_grants_beyond_the_descriptor_limit_do_not_start(tree: Path, tmp_path: Path) -> None:
    result = _run(tmp_path, GROW_PAST_DEFAULT, "--max-fds", "4", "--dir",
                  str(tree / "granted"), "--dir", str(tree / "outside"))
    assert result.returncode == 2
    assert "--max-fds 4" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("runtime", ["builtin", "wasmtime"])
def test_memory_is_limited_by_default(tmp_path: Path, runtime: str) -> None:
    assert _run(tmp_path, GROW_PAST_DEFAULT, "--runtime", runtime).returncode == 3
    assert _run(tmp_path, GROW_PAST_DEFAULT, "--runtime", runtime,
                "--max-memory", "2G").returncode == 4


@pytest.mark.parametrize("runtime", ["builtin", "wasmtime"])
def test_memory_limit_reached_says_which_option_to_raise(tmp_path: Path, runtime: str) -> None:
    result = _run(tmp_path, GROW_UNTIL_REFUSED, "--runtime", runtime, "--max-memory", "1M")
    assert result.returncode == 134
    assert result.stderr.splitlines() == [
        "host: guest trapped: wasm trap: wasm `unreachable` instruction executed (its memory "
        "had reached 1 MiB of the 1 MiB limit; raise it with --max-memory)"]


@pytest.mark.parametrize("runtime", ["builtin", "wasmtime"])
def test_a_module_needing_more_than_the_limit_does_not_start(tmp_path: Path,
                                                              runtime: str) -> None:
    result = _run(tmp_path, BIG_MINIMUM, "--runtime", runtime, "--max-memory", "1M")
    assert result.returncode == 2
    assert "(--max-memory is 1 MiB)" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_random_get_checks_the_length_before_allocating(guest: WasiGuest) -> None:
    end = MEMORY_PAGES * 65536
    tracemalloc.start()
    try:
        assert guest.call("random_get", 0, 0xFFFFFFFF) == abi.EFAULT
        assert guest.call("random_get", 0, end) == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The whole memory was filled, one piece at a time.
    assert peak < end // 4
    assert guest.read(end - 64, 64) != bytes(64)


def test_iovec_arrays_are_bounded(guest: WasiGuest) -> None:
    errno, fd = guest.open("file.txt")
    out = guest.alloc(4)
    # An array of a billion empty buffers is refused before it is walked.
    assert guest.call("fd_write", fd, 0, 0xFFFFFFFF, out) == abi.EINVAL
    assert guest.call("fd_read", fd, 0, 1025, out) == abi.EINVAL
    assert guest.call("fd_read", fd, MEMORY_PAGES * 65536 - 8, 2, out) == abi.EFAULT
    assert guest.call("fd_pwrite", fd, 0, 0x7FFFFFFF, 0, out) == abi.EINVAL


def test_paths_longer_than_path_max_are_enametoolong(guest: WasiGuest) -> None:
    assert guest.open("./" * 2044 + "file.txt")[0] == 0  # 4096 bytes
    assert guest.open("./" * 2045 + "file.txt")[0] == abi.ENAMETOOLONG
    out = guest.alloc(64)
    path, length = guest.text("a/" * 5000)
    assert guest.call("path_filestat_get", ROOT_FD, 0, path, length, out) == abi.ENAMETOOLONG
    assert guest.call("path_create_directory", ROOT_FD, path, 0xFFFFFFF0) == abi.ENAMETOOLONG


def test_poll_subscription_count_and_arrays_are_checked_first(guest: WasiGuest) -> None:
    out = guest.alloc(4)
    end = MEMORY_PAGES * 65536
    assert guest.call("poll_oneoff", 0, 0, 0xFFFFFFFF, out) == abi.EINVAL
    assert guest.call("poll_oneoff", end - 48, 0, 2, out) == abi.EFAULT
    assert guest.call("poll_oneoff", 0, end - 32, 2, out) == abi.EFAULT


def _clock(userdata: int, timeout: int) -> bytes:
    return struct.pack("<QB7xIxxxxQQH6x", userdata, abi.EVENTTYPE_CLOCK, abi.CLOCK_MONOTONIC,
                       timeout, 0, 0)


@pytest.mark.parametrize("timeout", [2**64 - 1, 25 * 86400 * 10**9])
def test_poll_with_a_huge_timeout_and_a_ready_fd(guest: WasiGuest, timeout: int) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b"x")
    fd = guest.host.table.add(Descriptor(read_end, abi.FILETYPE_UNKNOWN, abi.RIGHTS_TTY, 0))
    watch = struct.pack("<QB7xI28x", 1, abi.EVENTTYPE_FD_READ, fd)
    subscriptions, events, out = guest.bytes_at(_clock(2, timeout) + watch), \
        guest.alloc(64), guest.alloc(4)
    assert guest.call("poll_oneoff", subscriptions, events, 2, out) == 0
    assert (guest.u32(out), guest.u64(events)) == (1, 1)
    os.close(write_end)
    guest.close()


def test_poll_with_only_a_huge_clock_waits_in_slices(guest: WasiGuest,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    class Stop(Exception):
        pass

    def record(seconds: float) -> None:
        waits.append(seconds)
        raise Stop

    monkeypatch.setattr("host.polling.time.sleep", record)
    subscriptions, events, out = guest.bytes_at(_clock(1, 2**64 - 1)), guest.alloc(32), \
        guest.alloc(4)
    with pytest.raises((wasmtime.Trap, wasmtime.WasmtimeError)):
        guest.call("poll_oneoff", subscriptions, events, 1, out)
    assert isinstance(guest.linker_state.outcome.host_failure, Stop)
    assert 0 < waits[0] <= (2**31 - 1) / 1000
