"""Tasks and processes with python.wasm workers started by the host API."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from host.api import ApiServer
from scripts import layout
from timecraft import (Client, HTTPRequest, ModuleSpec, TaskRequest, TaskResponse, TaskState,
                       TimecraftError)

WORKER_SOURCE = """\
import os, sys
from timecraft import HTTPResponse, serve_forever

def handle(request):
    if request.path == "/crash":
        os._exit(5)
    return HTTPResponse(200, {"X-Pid": os.environ.get("ROLE", "")}, b"done:" + request.body)

serve_forever(("0.0.0.0", int(sys.argv[1])), handle)
"""
PORT = 8400


@pytest.fixture
def worker_client(worker_server: ApiServer, tmp_path: Path) -> Client:
    (tmp_path / "worker.py").write_text(WORKER_SOURCE)
    host, port = worker_server.listen_on_loopback()
    return Client(f"http://{host}:{port}")


def worker_spec(role: str) -> ModuleSpec:
    return ModuleSpec(str(layout.PYTHON_WASM), ["worker.py", str(PORT)], {"ROLE": role})


def wait_final(client: Client, count: int) -> dict[str, TaskResponse]:
    finished: dict[str, TaskResponse] = {}
    deadline = time.monotonic() + 300
    while len(finished) < count and time.monotonic() < deadline:
        for response in client.poll_tasks(batch_size=count, timeout_ns=2_000_000_000):
            finished[response.task_id] = response
    return finished


def test_a_task_succeeds_and_another_crashes(worker_client: Client) -> None:
    good, crash = worker_client.submit_tasks([
        TaskRequest(worker_spec("good"), HTTPRequest(PORT, "POST", "/", body=b"x")),
        TaskRequest(worker_spec("crash"), HTTPRequest(PORT, "GET", "/crash")),
    ])
    assert wait_final(worker_client, 2).keys() == {good, crash}
    result, failure = worker_client.lookup_tasks([good, crash])
    assert result.state is TaskState.SUCCESS and result.process_id
    assert result.http_response is not None
    assert (result.http_response.status_code, result.http_response.body) == (200, b"done:x")
    assert result.http_response.headers["X-Pid"] == "good"
    assert failure.state is TaskState.ERROR and "exit status 5" in failure.error_message
    worker_client.discard_tasks([good, crash])
    with pytest.raises(TimecraftError):
        worker_client.lookup_tasks([good])


def test_a_spawned_worker_listens_at_its_address_until_killed(worker_client: Client) -> None:
    process_id, address = worker_client.spawn(worker_spec("spawned"))
    assert address.startswith("127.") and process_id != worker_client.process_id()
    deadline = time.monotonic() + 120
    while True:
        try:
            reply = requests.post(f"http://{address}:{PORT}/", data=b"y", timeout=10)
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline, "the spawned worker never listened"
            time.sleep(0.1)
    assert reply.content == b"done:y"
    worker_client.kill(process_id)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{address}:{PORT}/", timeout=5)
