"""wasmedge_sock's own C smoke test, built against the sysroot of the last build.

It exercises the library without CPython in between: getaddrinfo, a TCP and
a UDP round trip on loopback, socket options (wasmedge_sock/tests/sockets_smoke.c).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from guest_harness import GuestRunner
from scripts import layout, toolchain
from scripts.runtime import runner_prefix
from scripts.shell import run

SMOKE_BUILD = layout.BUILD / "sockets-smoke"


@pytest.fixture(scope="session")
def smoke_wasm() -> Path:
    tools = toolchain.load()
    run(["make", "-C", layout.SOCKETS_SRC, "smoke", f"CC={tools.cc}", f"AR={tools.ar}",
         f"SYSROOT={layout.SYSROOT}", f"OBJDIR={SMOKE_BUILD}"])
    return SMOKE_BUILD / "sockets_smoke.wasm"


def test_the_c_smoke_test_passes(guest: GuestRunner, smoke_wasm: Path) -> None:
    if not guest.has_sockets:
        pytest.skip(f"the {guest.runtime} runtime has no sockets")
    runtime = [] if guest.runtime is None else ["--runtime", guest.runtime]
    command = [*runner_prefix(os.environ), "run", *runtime, "--sockets", "wasmedgev2", "--",
               str(smoke_wasm)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    assert result.stdout.rstrip().endswith("PASSED (0 failures)")
