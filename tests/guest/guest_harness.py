"""How guest tests run python.wasm from dist/ and collect what it printed.

Under $TIMECRAFT every run takes host port 7463 (timecraft's own service), so
no two runs may overlap: each holds an exclusive lock on build/timecraft.lock
while it lives, even across pytest processes.
"""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from host.htls import CERT_FILE_ENV
from scripts import layout
from scripts.runtime import Guest, guest_command

PROGRAMS = Path(__file__).parent / "programs"
# Where the pinned guest requirements are installed for the tests, apart from
# the user's deps/ so that tests neither depend on nor disturb it.
GUEST_TEST_DEPS = layout.BUILD / "guest-test-deps"
# The wasmtime package's WASI answers ENOSYS to every socket call.
RUNTIMES_WITHOUT_SOCKETS = frozenset({"wasmtime"})
# Where host-side test servers listen. The guest's 127.0.0.1 is its own private
# loopback under timecraft (and the built-in host); 127.0.0.2 goes out through
# the host's dialer under every runtime.
HOST_SIDE = "127.0.0.2"
TIMECRAFT_LOCK = layout.BUILD / "timecraft.lock"


def _lock_timecraft() -> IO[str]:
    TIMECRAFT_LOCK.parent.mkdir(parents=True, exist_ok=True)
    lock = open(TIMECRAFT_LOCK, "w")  # released by whoever closes it
    fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


@dataclass
class GuestRunner:
    runtime: str | None  # None: the command in $TIMECRAFT
    python_wasm: Path | None = None  # None: dist/python.wasm

    @property
    def has_sockets(self) -> bool:
        return self.runtime not in RUNTIMES_WITHOUT_SOCKETS

    def _command(
        self,
        args: Sequence[str],
        cwd: Path | None,
        grants: Sequence[Path],
        extra_env: dict[str, str] | None,
        deps: Path | None,
        ca_file: Path | None,
    ) -> tuple[list[str], Path, dict[str, str]]:
        """The command line, its working directory and the host process's environment."""
        guest = Guest(cwd=cwd or Path.cwd(), grants=tuple(grants))
        if deps is not None:
            guest = replace(guest, deps=deps)
        if self.python_wasm is not None:
            guest = replace(guest, python_wasm=self.python_wasm)
        command = guest_command(guest, list(args), extra_env=extra_env, runtime=self.runtime)
        host_env = dict(os.environ)
        if ca_file is not None:
            # timecraft's TLS (Go) and the built-in host's both take their trust
            # anchors from SSL_CERT_FILE in their own environment.
            host_env[CERT_FILE_ENV] = str(ca_file)
        return command, guest.cwd, host_env

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Under $TIMECRAFT, one run at a time (they all take host port 7463)."""
        if self.runtime is not None:
            yield
            return
        lock = _lock_timecraft()
        try:
            yield
        finally:
            lock.close()

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        grants: Sequence[Path] = (),
        extra_env: dict[str, str] | None = None,
        deps: Path | None = None,
        ca_file: Path | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run python.wasm with `args`.

        `deps` replaces deps/ on the guest's path; `ca_file` is the CA bundle
        the runtime's TLS offload trusts (as SSL_CERT_FILE, instead of the
        system store).
        """
        command, run_cwd, host_env = self._command(args, cwd, grants, extra_env, deps, ca_file)
        with self.exclusive():
            return subprocess.run(command, cwd=run_cwd, env=host_env, capture_output=True,
                                  text=True, timeout=timeout)

    def start(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        grants: Sequence[Path] = (),
        extra_env: dict[str, str] | None = None,
        deps: Path | None = None,
    ) -> subprocess.Popen[str]:
        """Start python.wasm without waiting, stdout and stderr piped (a guest server)."""
        command, run_cwd, host_env = self._command(args, cwd, grants, extra_env, deps, None)
        lock = None if self.runtime is not None else _lock_timecraft()
        try:
            process = subprocess.Popen(command, cwd=run_cwd, env=host_env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except BaseException:
            if lock is not None:
                lock.close()
            raise
        if lock is not None:
            # Held until the run ends, however the test ends it.
            threading.Thread(target=lambda: (process.wait(), lock.close()), daemon=True).start()
        return process

    def python(self, code: str, **kwargs: object) -> str:
        """Run `code` with -c, fail the test on a non-zero status, return stdout."""
        result = self.run(["-c", code], **kwargs)  # type: ignore[arg-type]
        assert result.returncode == 0, f"guest failed ({result.returncode}):\n{result.stderr}"
        return result.stdout


# How long a killed guest may take to close its pipes.
KILLED_GUEST_TIMEOUT = 10


def first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line a started guest prints, failing the test if it prints none in time."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if ready else ""
    if not line:
        process.kill()
        _, stderr = process.communicate(timeout=KILLED_GUEST_TIMEOUT)
        raise AssertionError(f"the guest printed no line within {timeout} s:\n{stderr}")
    return line


@contextmanager
def talking_to(process: subprocess.Popen[str], what: str) -> Iterator[None]:
    """Talk to a started guest server inside the block.

    A failed exchange (OSError) ends the test with `what` and the guest's
    stderr; a guest still running when the block is left is killed, so a
    guest that never exits does not outlive the test.
    """
    try:
        try:
            yield
        except OSError as error:
            process.kill()
            _, stderr = process.communicate()
            raise AssertionError(f"{what} failed: {error}\nguest stderr:\n{stderr}") from error
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
