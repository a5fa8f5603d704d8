"""Guest tests: each runs python.wasm from dist/ and checks what it printed.

Under $TIMECRAFT only that runtime is used; otherwise every runtime of the
built-in host runs each test, so their behaviour must agree. Tests marked
`needs_api` are skipped, with the reason, under a runtime that serves no
timecraft API (wasirun, or a runtime without sockets).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from guest_harness import GUEST_TEST_DEPS, GuestRunner
from host.cli import RUNTIMES
from scripts import deps, layout


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


_API_PROBE = """
import socket
try:
    socket.create_connection(("127.0.0.1", 7463), timeout=10).close()
except OSError as error:
    print("no", error)
else:
    print("yes")
"""
_api_answers: dict[str | None, str] = {}


@pytest.fixture(autouse=True)
def _skip_without_the_api(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("needs_api") is None:
        return
    guest: GuestRunner = request.getfixturevalue("guest")
    if not guest.has_sockets:
        pytest.skip(f"the {guest.runtime} runtime has no sockets, so no timecraft API")
    if guest.runtime not in _api_answers:
        _api_answers[guest.runtime] = guest.python(_API_PROBE).strip()
    answer = _api_answers[guest.runtime]
    if answer != "yes":
        pytest.skip(f"this runtime serves no timecraft API at 127.0.0.1:7463 ({answer})")


@pytest.fixture(scope="session")
def guest_deps() -> Path:
    """The pinned guest requirements (requests and its dependencies), installed once.

    A failed install fails the tests that need it: none is skipped.
    """
    deps.install([], deps=GUEST_TEST_DEPS)
    return GUEST_TEST_DEPS
