"""Child hosts: modules the guest started, each in its own `python -m host run`."""

from __future__ import annotations

import errno
import fcntl
import os
import posixpath
import random
import stat
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
from host.errors import WasiError
from host.grants import close_opened, open_grants
from host.requests import RunRequest
from host.sandbox import beneath

EXIT_PARENT_GONE = 143
# Bytes of a child's stderr kept to explain its failure.
_STDERR_TAIL_BYTES = 4096
# struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for open file description locks).
_FLOCK = struct.Struct("hhqqi4x")
_MODULE_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


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
        # A host opens its grants when it starts (builtin_runtime.run); an API
        # made without one opens those still closed now.
        self.grants = open_grants(request.grants)
        self._given_grants = request.grants
        self.request = request._replace(grants=self.grants)
        # Children inherit the read end; nothing is ever written, so it reaches
        # end of file exactly when this process is gone.
        self.lifeline_read, self.lifeline_write = os.pipe()
        self.slots = ProcessSlots(request.api_limits.processes, request.process_slots_fd)
        self._addresses: set[str] = set()

    def open_module(self, guest_path: str) -> tuple[str, int]:
        """The module at a path the guest gave: its normalized path and an open descriptor.

        It is opened through the grants' open directories, the way the guest
        itself would open it, and the child runs what was opened here. Every
        failure has the same message: whether a file exists outside the
        grants, or what it is, is none of the guest's business.
        """
        if not guest_path.startswith("/"):
            guest_path = posixpath.join(self.request.env.get("PWD", "/"), guest_path)
        guest_path = posixpath.normpath(guest_path)
        # The deepest grant first, as wasi-libc picks the preopen for a path.
        for grant in sorted(self.grants, key=lambda grant: len(grant.guest_path), reverse=True):
            root = grant.guest_path.rstrip("/") or "/"
            if guest_path != root and not guest_path.startswith(root.rstrip("/") + "/"):
                continue
            assert grant.host_fd is not None
            try:
                with beneath(grant.host_fd, posixpath.relpath(guest_path, root), True) as (
                        directory_fd, name):
                    # Non-blocking: a FIFO must not hold the API up.
                    fd = os.open(name, _MODULE_OPEN, dir_fd=directory_fd)
            except (OSError, WasiError):
                continue
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.set_blocking(fd, True)
                return guest_path, fd
            os.close(fd)
        raise ApiError("invalid_argument",
                       f"module {guest_path} is not a file in a directory granted to this guest")

    def start(self, module: ModuleCommand) -> ChildProcess:
        guest_path, module_fd = self.open_module(module.path)
        try:
            return self.launch(module, guest_path, module_fd)
        finally:
            os.close(module_fd)  # the child has its own copy

    def launch(self, module: ModuleCommand, guest_path: str, module_fd: int) -> ChildProcess:
        """Run the module open at `module_fd` (opened by open_module) in a child host."""
        process_id = str(uuid.uuid4())
        address = _new_loopback_address(self._addresses)
        # The child gets this host's open grants and module, never a path to
        # resolve again: it sees exactly what this guest was granted.
        child = self.request._replace(
            module=Path(guest_path), module_fd=module_fd, args=list(module.args),
            env={**self.request.env, **dict(module.env)},
            process_id=process_id, ip_address=address, lifeline_fd=self.lifeline_read,
            process_slots_fd=self.slots.shared_fd)
        command = [sys.executable, "-m", "host",
                   *run_arguments(child, runtime="builtin", internal=True)]
        inherited = [self.lifeline_read, self.slots.shared_fd, module_fd,
                     *(grant.host_fd for grant in self.grants if grant.host_fd is not None)]
        slot = self.slots.take()
        try:
            # The child's stdout goes to our stderr: the guest's own stdout stays its own.
            popen = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=2, stderr=subprocess.PIPE,
                pass_fds=(*inherited, slot))
        finally:
            os.close(slot)  # the child's copy holds the slot from now on
        self._addresses.add(address)
        return ChildProcess(process_id, address, popen)

    def close(self) -> None:
        os.close(self.lifeline_read)
        os.close(self.lifeline_write)
        close_opened(self.grants, self._given_grants)


def exit_with_parent(lifeline_fd: int) -> None:
    """End this host when the one that spawned it is gone (its pipe reaches EOF)."""

    def watch() -> None:
        while os.read(lifeline_fd, 1):
            pass
        os._exit(EXIT_PARENT_GONE)  # the guest may be deep in wasm code: no unwinding

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
