"""How guest tests run python.wasm from dist/ and collect what it printed."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from host.htls import CA_FILE_ENV
from scripts import layout
from scripts.runtime import Guest, guest_command

PROGRAMS = Path(__file__).parent / "programs"
# Where the pinned guest requirements are installed for the tests, apart from
# the user's deps/ so that tests neither depend on nor disturb it.
GUEST_TEST_DEPS = layout.BUILD / "guest-test-deps"
# The wasmtime package's WASI answers ENOSYS to every socket call.
RUNTIMES_WITHOUT_SOCKETS = frozenset({"wasmtime"})


@dataclass
class GuestRunner:
    runtime: str | None  # None: the command in $TIMECRAFT

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
        command = guest_command(guest, list(args), extra_env=extra_env, runtime=self.runtime)
        host_env = dict(os.environ)
        if ca_file is not None:
            if self.runtime is None:
                raise ValueError("timecraft trusts only the system store: it takes no CA file")
            # The built-in host's hTLS reads an extra CA bundle from its own
            # environment; the guest never sees it.
            host_env[CA_FILE_ENV] = str(ca_file)
        return command, guest.cwd, host_env

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

        `deps` replaces deps/ on the guest's path; `ca_file` is a CA bundle the
        host's TLS offload trusts besides the system store.
        """
        command, run_cwd, host_env = self._command(args, cwd, grants, extra_env, deps, ca_file)
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
        return subprocess.Popen(command, cwd=run_cwd, env=host_env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def python(self, code: str, **kwargs: object) -> str:
        """Run `code` with -c, fail the test on a non-zero status, return stdout."""
        result = self.run(["-c", code], **kwargs)  # type: ignore[arg-type]
        assert result.returncode == 0, f"guest failed ({result.returncode}):\n{result.stderr}"
        return result.stdout
