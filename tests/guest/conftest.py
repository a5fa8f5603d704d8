"""Guest tests: each runs python.wasm from dist/ and checks what it printed.

Under $TIMECRAFT only that runtime is used; otherwise every runtime of the
built-in host runs each test, so their behaviour must agree.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from host.cli import RUNTIMES
from scripts import layout
from scripts.runtime import Guest, guest_command

PROGRAMS = Path(__file__).parent / "programs"


@dataclass
class GuestRunner:
    runtime: str | None

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        grants: Sequence[Path] = (),
        extra_env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        guest = Guest(cwd=cwd or Path.cwd(), grants=tuple(grants))
        command = guest_command(guest, list(args), extra_env=extra_env, runtime=self.runtime)
        return subprocess.run(command, cwd=guest.cwd, capture_output=True, text=True,
                              timeout=timeout)

    def python(self, code: str, **kwargs: object) -> str:
        """Run `code` with -c, fail the test on a non-zero status, return stdout."""
        result = self.run(["-c", code], **kwargs)  # type: ignore[arg-type]
        assert result.returncode == 0, f"guest failed ({result.returncode}):\n{result.stderr}"
        return result.stdout


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "guest" in metafunc.fixturenames:
        runtimes = ["timecraft"] if os.environ.get("TIMECRAFT") else list(RUNTIMES)
        metafunc.parametrize("guest", runtimes, indirect=True)


@pytest.fixture
def guest(request: pytest.FixtureRequest) -> GuestRunner:
    for path in (layout.PYTHON_WASM, layout.STDLIB_ZIP):
        if not path.is_file():
            pytest.fail(f"{path} is missing: run `nox -s build` first")
    return GuestRunner(None if request.param == "timecraft" else request.param)
