"""Guest tests: each runs python.wasm from dist/ and checks what it printed.

Under $TIMECRAFT only that runtime is used; otherwise every runtime of the
built-in host runs each test, so their behaviour must agree.
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


@pytest.fixture(scope="session")
def guest_deps() -> Path:
    """The pinned guest requirements (requests and its dependencies), installed once.

    A failed install fails the tests that need it: none is skipped.
    """
    deps.install([], deps=GUEST_TEST_DEPS)
    return GUEST_TEST_DEPS
