"""Child hosts: modules the guest started, each in its own `python -m host run`."""

from __future__ import annotations

import collections
import os
import posixpath
import random
import subprocess
import sys
import threading
import uuid
from pathlib import Path

from host.api.errors import ApiError
from host.api.messages import ModuleCommand
from host.cli import run_arguments
from host.requests import RunRequest

EXIT_PARENT_GONE = 143
_STDERR_TAIL_LINES = 20


class ChildProcess:
    """A module running in a child host, with the tail of its stderr kept for errors."""

    def __init__(self, process_id: str, ip_address: str, popen: subprocess.Popen[bytes]) -> None:
        self.process_id = process_id
        self.ip_address = ip_address
        self.popen = popen
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)
        self._relay = threading.Thread(target=self._relay_stderr, daemon=True)
        self._relay.start()

    def _relay_stderr(self) -> None:
        # Shown on the host's stderr as it comes, and kept to explain a failure.
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            os.write(2, line)
            self.stderr_tail.append(line.decode(errors="replace").rstrip())

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def exit_summary(self) -> str:
        self._relay.join(timeout=1)
        last = next((line for line in reversed(self.stderr_tail) if line), "")
        return f"exit status {self.popen.returncode}" + (f": {last}" if last else "")

    def stop(self) -> None:
        # SIGKILL: the child host cannot be trusted to act on SIGTERM while its
        # guest computes; its own children follow through their lifeline.
        self.popen.kill()
        self.popen.wait()
        self._relay.join(timeout=1)


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
        self._addresses.add(address)
        child = self.request._replace(
            module=host_path, args=list(module.args),
            env={**self.request.env, **dict(module.env)},
            process_id=process_id, ip_address=address, lifeline_fd=self.lifeline_read)
        command = [sys.executable, "-m", "host",
                   *run_arguments(child, runtime="builtin", internal=True)]
        # The child's stdout goes to our stderr: the guest's own stdout stays its own.
        popen = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=2,
                                 stderr=subprocess.PIPE, pass_fds=(self.lifeline_read,))
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
