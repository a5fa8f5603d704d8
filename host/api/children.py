"""Child hosts: modules the guest started, each in its own `python -m host run`."""

from __future__ import annotations

import errno
import fcntl
import os
import posixpath
import random
import struct
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

from host.api.errors import ApiError
from host.api.messages import ModuleCommand
from host.cli import run_arguments
from host.requests import RunRequest

EXIT_PARENT_GONE = 143
# Bytes of a child's stderr kept to explain its failure.
_STDERR_TAIL_BYTES = 4096
# struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for open file description locks).
_FLOCK = struct.Struct("hhqqi4x")


class ChildProcess:
    """A module running in a child host, with the tail of its stderr kept for errors."""

    def __init__(self, process_id: str, ip_address: str, popen: subprocess.Popen[bytes]) -> None:
        self.process_id = process_id
        self.ip_address = ip_address
        self.popen = popen
        self.stderr_tail = b""
        self._relay = threading.Thread(target=self._relay_stderr, daemon=True)
        self._relay.start()

    def _relay_stderr(self) -> None:
        # Shown on the host's stderr as it comes, and the end kept to explain a
        # failure; read in pieces, as a line may be as long as the child likes.
        assert self.popen.stderr is not None
        stderr = self.popen.stderr.fileno()
        while piece := os.read(stderr, 65536):
            os.write(2, piece)
            self.stderr_tail = (self.stderr_tail + piece)[-_STDERR_TAIL_BYTES:]

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def exit_summary(self) -> str:
        self._relay.join(timeout=1)
        lines = self.stderr_tail.decode(errors="replace").splitlines()
        last = next((line.rstrip() for line in reversed(lines) if line.strip()), "")
        return f"exit status {self.popen.returncode}" + (f": {last}" if last else "")

    def stop(self) -> None:
        # SIGKILL: the child host cannot be trusted to act on SIGTERM while its
        # guest computes; its own children follow through their lifeline.
        self.popen.kill()
        self.popen.wait()
        self._relay.join(timeout=1)


class ProcessSlots:
    """At most `count` child hosts alive at once in a guest's whole tree of hosts.

    Slot i is a write lock on byte i of one unnamed file that every host of
    the tree shares: the first host creates it, its children inherit it
    (--process-slots-fd) and so do theirs. A slot's lock belongs to an open
    file description that only the child host holding the slot keeps, so the
    kernel frees the slot when that child ends, however it ends.
    """

    def __init__(self, count: int, shared_fd: int | None = None) -> None:
        self.count = count
        self.shared_fd = _unnamed_file() if shared_fd is None else shared_fd

    def take(self) -> int:
        """A new file descriptor holding a free slot, for the next child to inherit."""
        holder = os.open(f"/proc/self/fd/{self.shared_fd}", os.O_RDWR | os.O_CLOEXEC)
        for index in range(self.count):
            try:
                fcntl.fcntl(holder, fcntl.F_OFD_SETLK, _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET,
                                                                   index, 1, 0))
                return holder
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(holder)
                    raise
        os.close(holder)
        raise ApiError("resource_exhausted",
                       f"{self.count} processes started through the API are running, the most "
                       "this guest may have (see --max-processes)")


def _unnamed_file() -> int:
    try:
        return os.open(tempfile.gettempdir(), os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError:  # a file system without O_TMPFILE: a name, for a moment
        fd, name = tempfile.mkstemp()
        os.unlink(name)
        return fd


def _new_loopback_address(taken: set[str]) -> str:
    while True:
        address = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        if address not in taken:
            return address


class ProcessLauncher:
    """Starts modules in child hosts that see what this guest sees."""

    def __init__(self, request: RunRequest) -> None:
        self.request = request
        # Children inherit the read end; nothing is ever written, so it reaches
        # end of file exactly when this process is gone.
        self.lifeline_read, self.lifeline_write = os.pipe()
        self.slots = ProcessSlots(request.api_limits.processes, request.process_slots_fd)
        self._addresses: set[str] = set()

    def module_on_host(self, guest_path: str) -> Path:
        """The host file behind a module path the guest gave, within its grants only."""
        if not guest_path.startswith("/"):
            guest_path = posixpath.join(self.request.env.get("PWD", "/"), guest_path)
        guest_path = posixpath.normpath(guest_path)
        for grant in self.request.grants:
            root = grant.guest_path.rstrip("/") or "/"
            if guest_path != root and not guest_path.startswith(root.rstrip("/") + "/"):
                continue
            granted = grant.host_path.resolve()
            candidate = (granted / posixpath.relpath(guest_path, root)).resolve()
            if candidate.is_relative_to(granted) and candidate.is_file():
                return candidate
        raise ApiError("invalid_argument",
                       f"module {guest_path} is not a file in a directory granted to this guest")

    def start(self, module: ModuleCommand) -> ChildProcess:
        host_path = self.module_on_host(module.path)
        process_id = str(uuid.uuid4())
        address = _new_loopback_address(self._addresses)
        child = self.request._replace(
            module=host_path, args=list(module.args),
            env={**self.request.env, **dict(module.env)},
            process_id=process_id, ip_address=address, lifeline_fd=self.lifeline_read,
            process_slots_fd=self.slots.shared_fd)
        command = [sys.executable, "-m", "host",
                   *run_arguments(child, runtime="builtin", internal=True)]
        slot = self.slots.take()
        try:
            # The child's stdout goes to our stderr: the guest's own stdout stays its own.
            popen = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=2, stderr=subprocess.PIPE,
                pass_fds=(self.lifeline_read, self.slots.shared_fd, slot))
        finally:
            os.close(slot)  # the child's copy holds the slot from now on
        self._addresses.add(address)
        return ChildProcess(process_id, address, popen)

    def close(self) -> None:
        os.close(self.lifeline_read)
        os.close(self.lifeline_write)


def exit_with_parent(lifeline_fd: int) -> None:
    """End this host when the one that spawned it is gone (its pipe reaches EOF)."""

    def watch() -> None:
        while os.read(lifeline_fd, 1):
            pass
        os._exit(EXIT_PARENT_GONE)  # the guest may be deep in wasm code: no unwinding

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
