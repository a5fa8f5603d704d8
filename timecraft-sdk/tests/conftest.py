"""The SDK against the real API of the builtin host (host/api/), in-process.

Run from the repository root, where `host` and `scripts` are importable:
`python -m pytest timecraft-sdk/tests`. Tests with workers run python.wasm
from dist/ and are skipped when it has not been built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from host.api import ApiServer, start_api
from host.requests import Grant, RunRequest
from scripts import deps, layout
from timecraft import Client

SDK = Path(__file__).resolve().parent.parent
SDK_TEST_DEPS = layout.BUILD / "sdk-test-deps"


@pytest.fixture(scope="session")
def guest_packages() -> Path:
    """The SDK and requests installed for python.wasm workers."""
    for path in (layout.PYTHON_WASM, layout.STDLIB_ZIP):
        if not path.is_file():
            pytest.skip(f"{path} is missing: run `nox -s build` to test with workers")
    deps.install([str(SDK)], deps=SDK_TEST_DEPS)
    return SDK_TEST_DEPS


def api_request(workdir: Path, packages: Path | None = None) -> RunRequest:
    """What a guest running in `workdir` with python.wasm's stdlib (and `packages`) sees."""
    folders = {workdir, layout.DIST, *([packages] if packages else [])}
    pythonpath = f"{packages}:{layout.STDLIB_ZIP}" if packages else str(layout.STDLIB_ZIP)
    return RunRequest(
        module=layout.PYTHON_WASM, args=[],
        env={"PYTHONHOME": str(layout.STDLIB_ZIP), "PYTHONPATH": pythonpath, "PWD": str(workdir)},
        grants=[Grant(folder, str(folder)) for folder in sorted(folders)],
        sockets="wasmedgev2")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ApiServer]:
    api_server = start_api(api_request(tmp_path))
    yield api_server
    api_server.close()


@pytest.fixture
def client(server: ApiServer) -> Iterator[Client]:
    host, port = server.listen_on_loopback()  # where this CPython's SDK reaches it
    with Client(f"http://{host}:{port}") as api_client:
        yield api_client


@pytest.fixture
def worker_server(tmp_path: Path, guest_packages: Path) -> Iterator[ApiServer]:
    """An API whose guest can start python.wasm workers that import the SDK."""
    api_server = start_api(api_request(tmp_path, guest_packages))
    yield api_server
    api_server.close()
