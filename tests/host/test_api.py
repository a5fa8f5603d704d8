"""host/api/: the timecraft API of the builtin runtime, below what the SDK tests see."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
import wasmtime

from host.api import SERVICE_PATH, ApiServer, start_api
from host.requests import Grant, RunRequest

# Runs forever without listening: a worker that never becomes ready.
SPINNING_MODULE = '(module (memory (export "memory") 1) (func (export "_start") (loop br 0)))'


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ApiServer]:
    (tmp_path / "spin.wasm").write_bytes(wasmtime.wat2wasm(SPINNING_MODULE))
    request = RunRequest(module=tmp_path / "guest.wasm", args=[], env={"PWD": "/app"},
                         grants=[Grant(tmp_path, "/app")], sockets="wasmedgev2")
    api_server = start_api(request)
    api_server.api.startup_timeout = 1.0
    yield api_server
    api_server.close()


def post(server: ApiServer, path: str, body: bytes) -> tuple[int, dict]:
    host, port = server.listen_on_loopback()
    request = urllib.request.Request(f"http://{host}:{port}{path}", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def call(server: ApiServer, method: str, message: dict) -> tuple[int, dict]:
    return post(server, SERVICE_PATH + method, json.dumps(message).encode())


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    (SERVICE_PATH + "Nothing", b"{}", 501, "unimplemented"),
    ("/other.Service/Version", b"{}", 404, "not_found"),
    (SERVICE_PATH + "Version", b"not json", 400, "invalid_argument"),
    (SERVICE_PATH + "Version", b"[]", 400, "invalid_argument"),
    (SERVICE_PATH + "Kill", b'{"processId": 7}', 400, "invalid_argument"),
    (SERVICE_PATH + "PollTasks", b'{"batchSize": "x"}', 400, "invalid_argument"),
    (SERVICE_PATH + "LookupTasks", b'{"taskId": [1]}', 400, "invalid_argument"),
])
def test_malformed_calls_get_connect_errors(server: ApiServer, path: str, body: bytes,
                                            status: int, code: str) -> None:
    reply_status, reply = post(server, path, body)
    assert (reply_status, reply["code"]) == (status, code) and reply["message"]


@pytest.mark.parametrize(("task", "message"), [
    ({"module": {"path": "spin.wasm"}}, "httpRequest is required"),
    ({"module": {"path": "spin.wasm"}, "httpRequest": {}}, "not a TCP port"),
    ({"module": {"path": "spin.wasm", "env": ["NOEQUALS"]}, "httpRequest": {"port": 80}},
     "not NAME=VALUE"),
    ({"module": {}, "httpRequest": {"port": 80}}, "path is required"),
    ({"module": {"path": "a", "function": "f"}, "httpRequest": {"port": 80}}, "not supported"),
    ({"module": {"path": "a"}, "httpRequest": {"port": 80, "body": "!!"}}, "not base64"),
])
def test_invalid_tasks_are_refused_at_submission(server: ApiServer, task: dict,
                                                 message: str) -> None:
    status, reply = call(server, "SubmitTasks", {"requests": [task]})
    assert status in (400, 501) and message in reply["message"]


def test_a_module_outside_the_grants_is_refused(server: ApiServer) -> None:
    for path in ("/etc/hostname", "../escape.wasm", "missing.wasm"):
        status, reply = call(server, "Spawn", {"module": {"path": path}})
        assert (status, reply["code"]) == (400, "invalid_argument"), path


def test_a_worker_that_never_listens_ends_in_error(server: ApiServer) -> None:
    status, reply = call(server, "SubmitTasks", {"requests": [
        {"module": {"path": "spin.wasm"}, "httpRequest": {"port": 8080}}]})
    assert status == 200
    status, reply = call(server, "PollTasks", {"batchSize": 1, "timeoutNs": "60000000000"})
    (task,) = reply["responses"]
    assert task["state"] == "TASK_STATE_ERROR" and "did not listen on port 8080" in \
        task["errorMessage"]
    assert task["processId"]


def test_closing_the_api_stops_spawned_processes(server: ApiServer) -> None:
    status, reply = call(server, "Spawn", {"module": {"path": "/app/spin.wasm"}})
    assert status == 200 and reply["ipAddress"] != "127.0.0.1"
    (child,) = server.api._children.values()
    assert child.alive
    server.api.close()
    assert not child.alive


def test_a_child_host_ends_when_its_parent_is_gone() -> None:
    read_end, write_end = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from host.api import exit_with_parent; "
         "exit_with_parent(int(sys.argv[1])); time.sleep(60)", str(read_end)],
        pass_fds=(read_end,))
    os.close(read_end)
    time.sleep(0.2)
    assert child.poll() is None
    os.close(write_end)
    assert child.wait(timeout=10) == 143
