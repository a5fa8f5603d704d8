"""wasmedge_sock's own C smoke test, built against the sysroot of the last build.

It exercises the library without CPython in between: the services table
(NULL and out-of-range arguments included), getaddrinfo, a TCP and
a UDP round trip on loopback, socket options (wasmedge_sock/tests/sockets_smoke.c);
a second build with TRACE=1 shows that refused hint options are traced.
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


def build_smoke(objdir: Path, *options: str) -> Path:
    tools = toolchain.load()
    run(["make", "-C", layout.SOCKETS_SRC, "smoke", f"CC={tools.cc}", f"AR={tools.ar}",
         f"SYSROOT={layout.SYSROOT}", f"OBJDIR={objdir}", *options])
    return objdir / "sockets_smoke.wasm"


@pytest.fixture(scope="session")
def smoke_wasm() -> Path:
    return build_smoke(SMOKE_BUILD)


@pytest.fixture(scope="session")
def traced_smoke_wasm() -> Path:
    """The smoke test linked against the library built with TRACE=1 (as --debug does)."""
    return build_smoke(SMOKE_BUILD.with_name("sockets-smoke-traced"), "TRACE=1")


def run_smoke(guest: GuestRunner, wasm: Path) -> subprocess.CompletedProcess[str]:
    if not guest.has_sockets:
        pytest.skip(f"the {guest.runtime} runtime has no sockets")
    runtime = [] if guest.runtime is None else ["--runtime", guest.runtime]
    command = [*runner_prefix(os.environ), "run", *runtime, "--sockets", "wasmedgev2", "--",
               str(wasm)]
    with guest.exclusive():
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    assert result.stdout.rstrip().endswith("PASSED (0 failures)")
    return result


def test_the_c_smoke_test_passes(guest: GuestRunner, smoke_wasm: Path) -> None:
    run_smoke(guest, smoke_wasm)


def test_refused_hint_options_are_traced(guest: GuestRunner, traced_smoke_wasm: Path) -> None:
    # timecraft refuses SO_REUSEADDR, TCP_NODELAY and SO_KEEPALIVE (spec §5); the
    # library carries on and its trace says so.
    stderr = run_smoke(guest, traced_smoke_wasm).stderr
    for option in ("SO_REUSEADDR", "TCP_NODELAY", "SO_KEEPALIVE"):
        assert f"{option}): refused by the host" in stderr, option
