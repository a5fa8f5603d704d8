"""poll_oneoff over clocks, files, stdio and sockets.

Socket events follow timecraft (spec §4, poll_oneoff): readiness is the
kernel's for the guest's own socket end, nbytes and flags are always 0 (no
HANGUP), every event slot is zeroed before the completed ones are packed to
the front, and an fd that fails makes every clock of the call fire at once.
"""

from __future__ import annotations

import math
import os
import select
import struct
import time
from typing import NamedTuple

from host import wasi_abi as abi
from host.descriptors import FdTable
from host.errors import WasiError
from host.guest_memory import GuestMemory
from host.hostcall import hostcall
from host.wasi_process import clock_now
from host.wasi_sockets import is_socket

_SUBSCRIPTION = struct.Struct("<QB7xIxxxxQQH6x")
_EVENT = struct.Struct("<QHB5xQH6x")
_ALWAYS_READY = (abi.FILETYPE_REGULAR_FILE, abi.FILETYPE_DIRECTORY)
# One wait of the host at most (poll() takes a C int of milliseconds, about
# 24.8 days); longer guest timeouts are waited for in several.
_LONGEST_WAIT_MS = 2**31 - 1
_LONGEST_WAIT_NS = _LONGEST_WAIT_MS * 1_000_000
_EVENT_SIZE = 32


class PollPlan(NamedTuple):
    """Wait for `events` on `host_fd`; `socket` events never carry HANGUP."""

    host_fd: int
    events: int
    socket: bool


class PollCalls:
    def __init__(self, memory: GuestMemory, table: FdTable) -> None:
        self.memory = memory
        self.table = table

    @hostcall("iiii")
    def poll_oneoff(self, subscriptions: int, events: int, count: int, out: int) -> int:
        # Linux's poll() also refuses more entries than the process may have
        # descriptors; each guest fd can be watched for reading and writing.
        if count == 0 or count > 2 * self.table.max_descriptors + 1:
            return abi.EINVAL
        # Both arrays must lie in memory before anything is read or waited for.
        self.memory.slice(subscriptions, 48 * count)
        self.memory.slice(events, _EVENT_SIZE * count)
        view = self.memory.view
        # (userdata, deadline in monotonic ns) and (userdata, type, fd)
        clocks: list[tuple[int, int]] = []
        watches: list[tuple[int, int, int]] = []
        for index in range(count):
            userdata, kind, fd_or_clock, timeout, _precision, flags = _SUBSCRIPTION.unpack_from(
                view, subscriptions + 48 * index)
            if kind == abi.EVENTTYPE_CLOCK:
                clocks.append((userdata, self._deadline(fd_or_clock, timeout, flags)))
            elif kind in (abi.EVENTTYPE_FD_READ, abi.EVENTTYPE_FD_WRITE):
                watches.append((userdata, kind, fd_or_clock))
            else:
                return abi.EINVAL
        results = self._wait(clocks, watches)
        self.memory.write(events, bytes(_EVENT_SIZE * count))
        for index, (userdata, error, kind, nbytes, flags) in enumerate(results):
            _EVENT.pack_into(self.memory.view, events + 32 * index, userdata, error, kind,
                             nbytes, flags)
        self.memory.put_u32(out, len(results))
        return 0

    @staticmethod
    def _deadline(clock_id: int, timeout: int, flags: int) -> int:
        now = clock_now(clock_id)
        if now is None:
            raise WasiError(abi.EINVAL)
        remaining = timeout - now if flags & abi.SUBCLOCK_ABSTIME else timeout
        return time.monotonic_ns() + max(0, remaining)

    def _wait(self, clocks: list[tuple[int, int]], watches: list[tuple[int, int, int]]
              ) -> list[tuple[int, int, int, int, int]]:
        first_deadline = min((deadline for _, deadline in clocks), default=None)
        while True:
            ready: list[tuple[int, int, int, int, int]] = []
            plans: list[tuple[tuple[int, int, int], PollPlan]] = []
            for watch in watches:
                userdata, kind, fd = watch
                try:
                    plan = self._plan(fd, kind)
                except WasiError as error:
                    ready.append((userdata, error.errno, kind, 0, 0))
                    # The timeout is then zero: every clock fires at once.
                    clocks = [(clock, 0) for clock, _ in clocks]
                    continue
                if plan is None:
                    ready.append((userdata, 0, kind, self._available(fd, kind), 0))
                else:
                    plans.append((watch, plan))
            now = time.monotonic_ns()
            expired = [(userdata, 0, abi.EVENTTYPE_CLOCK, 0, 0)
                       for userdata, deadline in clocks if deadline <= now]
            # An expired clock still lets fds be polled once without waiting:
            # a zero-timeout poll must report the fds that are ready now.
            if ready or (expired and not plans):
                return ready + expired
            if not plans:
                # A guest deadline may lie centuries ahead (u64 nanoseconds):
                # sleep in slices the host can represent and look again.
                remaining = first_deadline - now  # type: ignore[operator]
                time.sleep(min(remaining, _LONGEST_WAIT_NS) / 1e9)
                continue
            poller = select.poll()
            for _, plan in plans:
                poller.register(plan.host_fd, plan.events)
            timeout_ms = 0 if expired else None if first_deadline is None else min(
                math.ceil((first_deadline - now) / 1e6), _LONGEST_WAIT_MS)
            reported = dict(poller.poll(timeout_ms))
            for (userdata, kind, _fd), plan in plans:
                revents = reported.get(plan.host_fd, 0)
                if not revents:
                    continue
                hangup = abi.EVENT_FD_READWRITE_HANGUP \
                    if revents & select.POLLHUP and not plan.socket else 0
                errno = abi.EBADF if revents & select.POLLNVAL else 0
                if revents & (plan.events | select.POLLHUP | select.POLLERR | select.POLLNVAL):
                    ready.append((userdata, errno, kind, 0, hangup))
            if ready or expired:
                return ready + expired

    def _plan(self, fd: int, kind: int) -> PollPlan | None:
        descriptor = self.table.get(fd, abi.RIGHT_POLL_FD_READWRITE)
        writing = kind == abi.EVENTTYPE_FD_WRITE
        if descriptor.filetype in _ALWAYS_READY:
            return None
        return PollPlan(descriptor.host_fd, select.POLLOUT if writing else select.POLLIN,
                        is_socket(descriptor))

    def _available(self, fd: int, kind: int) -> int:
        descriptor = self.table.entries.get(fd)
        if kind != abi.EVENTTYPE_FD_READ or descriptor is None or \
                descriptor.filetype != abi.FILETYPE_REGULAR_FILE:
            return 0
        try:
            position = os.lseek(descriptor.host_fd, 0, os.SEEK_CUR)
            return max(0, os.fstat(descriptor.host_fd).st_size - position)
        except OSError:
            return 0
