"""Arguments, environment, clocks, randomness and process control."""

from __future__ import annotations

import os
import time
from typing import Mapping

from host import wasi_abi as abi
from host.errors import GuestExit
from host.guest_memory import GuestMemory
from host.hostcall import hostcall

_CLOCKS = {
    abi.CLOCK_REALTIME: time.CLOCK_REALTIME,
    abi.CLOCK_MONOTONIC: time.CLOCK_MONOTONIC,
    abi.CLOCK_PROCESS_CPUTIME: time.CLOCK_PROCESS_CPUTIME_ID,
    abi.CLOCK_THREAD_CPUTIME: time.CLOCK_THREAD_CPUTIME_ID,
}


def clock_now(clock_id: int) -> int | None:
    host_clock = _CLOCKS.get(clock_id)
    return None if host_clock is None else time.clock_gettime_ns(host_clock)


_RANDOM_PIECE = 1 << 16
# The largest exit status a POSIX parent can see (it keeps only 8 bits).
MAX_EXIT_STATUS = 255


def exit_status(code: int) -> int:
    """The host exit status for the guest's proc_exit(code), a u32.

    0 to 255 pass through; anything larger (including what the guest meant as
    a negative i32) becomes 255. POSIX would keep only the low 8 bits, which
    turns proc_exit(256) into success: a guest that asked to fail never does
    here. Both runtimes use this (README, "Host functions").
    """
    code &= 0xFFFFFFFF
    return code if code <= MAX_EXIT_STATUS else MAX_EXIT_STATUS


def _encode_strings(items: list[str]) -> list[bytes]:
    return [os.fsencode(item) + b"\0" for item in items]


class ProcessCalls:
    def __init__(self, memory: GuestMemory, args: list[str], env: Mapping[str, str]) -> None:
        self.memory = memory
        self._args = _encode_strings(args)
        self._environ = _encode_strings([f"{name}={value}" for name, value in env.items()])

    def _put_strings(self, strings: list[bytes], pointers: int, buffer: int) -> int:
        for index, item in enumerate(strings):
            self.memory.put_u32(pointers + 4 * index, buffer)
            self.memory.write(buffer, item)
            buffer += len(item)
        return 0

    def _put_sizes(self, strings: list[bytes], count_out: int, size_out: int) -> int:
        self.memory.put_u32(count_out, len(strings))
        self.memory.put_u32(size_out, sum(len(item) for item in strings))
        return 0

    @hostcall("ii")
    def args_get(self, argv: int, argv_buf: int) -> int:
        return self._put_strings(self._args, argv, argv_buf)

    @hostcall("ii")
    def args_sizes_get(self, argc_out: int, size_out: int) -> int:
        return self._put_sizes(self._args, argc_out, size_out)

    @hostcall("ii")
    def environ_get(self, environ: int, environ_buf: int) -> int:
        return self._put_strings(self._environ, environ, environ_buf)

    @hostcall("ii")
    def environ_sizes_get(self, count_out: int, size_out: int) -> int:
        return self._put_sizes(self._environ, count_out, size_out)

    @hostcall("ii")
    def clock_res_get(self, clock_id: int, out: int) -> int:
        host_clock = _CLOCKS.get(clock_id)
        if host_clock is None:
            return abi.EINVAL
        self.memory.put_u64(out, max(1, round(time.clock_getres(host_clock) * 1e9)))
        return 0

    @hostcall("iIi")
    def clock_time_get(self, clock_id: int, _precision: int, out: int) -> int:
        now = clock_now(clock_id)
        if now is None:
            return abi.EINVAL
        self.memory.put_u64(out, now)
        return 0

    @hostcall("ii")
    def random_get(self, buf: int, buf_len: int) -> int:
        # Checked against the guest's memory first, then filled piece by piece:
        # the host never holds more than one piece however large the request.
        target = self.memory.slice(buf, buf_len)
        for start in range(0, buf_len, _RANDOM_PIECE):
            piece = target[start:start + _RANDOM_PIECE]
            piece[:] = os.urandom(len(piece))
        return 0

    @hostcall("i", returns_errno=False)
    def proc_exit(self, code: int) -> int:
        raise GuestExit(exit_status(code))

    @hostcall("i")
    def proc_raise(self, _signal: int) -> int:
        return abi.ENOSYS  # WASI has no signals; timecraft answers the same

    @hostcall("")
    def sched_yield(self) -> int:
        os.sched_yield()
        return 0
