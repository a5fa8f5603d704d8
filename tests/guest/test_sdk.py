"""The timecraft SDK inside python.wasm, against the runtime's API.

Under the builtin runtime the API is host/api/; under $TIMECRAFT it is
timecraft's own (runtimes without one skip these tests). Workers are
python.wasm running tests/guest/programs/sdk_*; the spawn scenario is the
networking case where both server and client are guests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts import deps, layout
from guest_harness import PROGRAMS, GuestRunner

pytestmark = pytest.mark.needs_api

SDK = layout.REPO / "timecraft-sdk"
# The SDK and requests for the guest, apart from deps/ and from the pinned
# guest requirements the other guest tests use.
SDK_TEST_DEPS = layout.BUILD / "sdk-test-deps"
WORKER_PORT = 8321


@pytest.fixture(scope="session")
def sdk_deps() -> Path:
    """The SDK as the guest gets it: pip builds it into a wheel and installs it."""
    deps.install([str(SDK)], deps=SDK_TEST_DEPS)
    return SDK_TEST_DEPS


@pytest.fixture
def api_guest(guest: GuestRunner) -> GuestRunner:
    if not guest.has_sockets:
        pytest.skip(f"the {guest.runtime} runtime has no sockets, so no API")
    return guest


def run_scenario(guest: GuestRunner, sdk_deps: Path, scenario: str) -> dict:
    result = guest.run(["sdk_client.py", scenario, str(layout.PYTHON_WASM), str(WORKER_PORT)],
                       cwd=PROGRAMS, deps=sdk_deps, timeout=600)
    assert result.returncode == 0, f"guest failed ({result.returncode}):\n{result.stderr}"
    return json.loads(result.stdout.splitlines()[-1])


def test_version_and_process_id(api_guest: GuestRunner, sdk_deps: Path) -> None:
    out = api_guest.python("import timecraft\n"
                           "client = timecraft.Client()\n"
                           "print(client.version()); print(client.process_id())",
                           deps=sdk_deps)
    version, process_id = out.splitlines()
    assert version and process_id


def test_each_guest_has_its_own_process_id(api_guest: GuestRunner, sdk_deps: Path) -> None:
    code = "import timecraft; print(timecraft.Client().process_id())"
    assert api_guest.python(code, deps=sdk_deps) != api_guest.python(code, deps=sdk_deps)


def test_a_spawned_worker_is_reachable_at_its_address_until_killed(
        api_guest: GuestRunner, sdk_deps: Path) -> None:
    report = run_scenario(api_guest, sdk_deps, "spawn")
    assert report["path"] == "/hello"
    assert report["distinct_id"]
    assert not report["reachable_after_kill"]
    assert report["second_kill"] == "404 not_found"
    if api_guest.runtime is not None:  # the builtin host's addressing scheme
        assert report["address"].startswith("127.") and report["address"] != "127.0.0.1"


def test_http_tasks_succeed_or_fail_with_a_message(api_guest: GuestRunner,
                                                   sdk_deps: Path) -> None:
    report = run_scenario(api_guest, sdk_deps, "tasks")
    assert report["polled"] and report["final_states"]
    assert report["states"] == {"good": "SUCCESS", "crash": "ERROR", "failing": "ERROR"}
    assert report["status"] == 200 and report["worker_header"] == "sdk"
    assert report["echo"] == {"method": "POST", "path": "/task", "port": WORKER_PORT,
                              "body": "payload", "greeting": "hi"}
    assert report["has_process"]
    assert report["crash_error"] and report["failing_error"]
    assert report["after_discard"] == "404 not_found"
    if api_guest.runtime is not None:  # the builtin host's messages
        assert "exit status 3" in report["crash_error"]
        assert "cannot start (on purpose)" in report["failing_error"]
