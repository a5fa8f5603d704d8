"""Only the guest reaches its API, and the API stays within the guest's grants and limits."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import wasmtime

from host.api import SERVICE_PATH, VERSION, ApiServer, start_api
from host.api.children import ProcessSlots
from host.api.errors import ApiError, TaskFailure
from host.api.messages import ModuleCommand, TaskInput
from host.api.methods import exchange_with_worker
from host.builtin_runtime import LazyApi
from host.grants import close_opened, open_grants
from host.requests import ApiLimits, Grant, RunRequest
from host.virtual_network import API_PORT
from wasm_guests import SocketGuest

INET, DGRAM, STREAM = 1, 1, 2
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp
_UNIX_ACCEPTING = 0x10000  # __SO_ACCEPTCON in /proc/net/unix


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def listening_sockets(pid: int) -> set[str]:
    """Listening TCP and Unix sockets of process `pid`, as table lines."""
    owned = _socket_inodes(pid)
    found = set()
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[3] == _LISTEN and fields[9] in owned:
                    found.add(f"{table} {fields[1]}")
    with open(f"/proc/{pid}/net/unix") as lines:
        for line in list(lines)[1:]:
            fields = line.split()
            if int(fields[3], 16) & _UNIX_ACCEPTING and fields[6] in owned:
                found.add(f"unix {' '.join(fields[7:])}")
    return found


@pytest.fixture
def api_guest(tmp_path: Path) -> Iterator[tuple[SocketGuest, LazyApi]]:
    request = RunRequest(module=tmp_path / "guest.wasm", args=[], env={"PWD": "/app"},
                         grants=[Grant(tmp_path, "/app")], sockets="wasmedgev2")
    api = LazyApi(request)
    guest = SocketGuest([], api_serve=api.serve)
    yield guest, api
    guest.close()
    api.close()


def guest_call(guest: SocketGuest, method: str, message: dict) -> tuple[int, dict]:
    """One API call from inside the guest, through its WasmEdge socket calls."""
    fd = guest.socket(INET, STREAM)
    assert guest.call("sock_connect", fd, guest.address("127.0.0.1"),
                      API_PORT) == 0
    body = json.dumps(message).encode()
    request = (f"POST {SERVICE_PATH}{method} HTTP/1.1\r\nHost: 127.0.0.1:7463\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
               "Connection: close\r\n\r\n").encode() + body
    assert guest.send(fd, request) == (0, len(request))
    reply = b""
    while True:
        errno, data = guest.recv(fd, 65536)
        assert errno == 0
        if not data:
            break
        reply += data
    assert guest.call("fd_close", fd) == 0
    head, _, payload = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


def test_the_guest_reaches_its_api_at_timecrafts_address(
        api_guest: tuple[SocketGuest, LazyApi]) -> None:
    guest, _ = api_guest
    assert guest_call(guest, "Version", {}) == (200, {"version": VERSION})
    fd = guest.socket(INET, STREAM)
    assert guest.call("sock_connect", fd, guest.address("127.0.0.1"), 7463) == 0
    peer, out = guest.bytes_at(struct.pack("<II", guest.alloc(128), 128)), guest.alloc(4)
    assert guest.call("sock_getpeeraddr", fd, peer, out) == 0
    assert (guest.read_address(peer), guest.u32(out)) == ((INET, bytes([127, 0, 0, 1])), 7463)


def test_a_datagram_socket_stays_one(api_guest: tuple[SocketGuest, LazyApi]) -> None:
    guest, _ = api_guest
    fd = guest.socket(INET, DGRAM)
    assert guest.call("sock_connect", fd, guest.address("127.0.0.1"), 7463) == 0
    assert guest.getsockopt(fd, 0, 1) == (0, DGRAM)  # SO_TYPE


def test_no_other_process_can_reach_the_api(api_guest: tuple[SocketGuest, LazyApi]) -> None:
    guest, _ = api_guest
    before = listening_sockets(os.getpid())
    assert guest_call(guest, "Version", {})[0] == 200
    # Whatever a local process could connect to would be listening now.
    assert listening_sockets(os.getpid()) - before == set()


# -- limits -------------------------------------------------------------------------

SPINNING_MODULE = '(module (memory (export "memory") 1) (func (export "_start") (loop br 0)))'
# Listens on port 8080 and accepts one connection, then never answers.
LISTENING_MODULE = """(module
 (import "wasi_snapshot_preview1" "sock_open" (func $open (param i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "sock_bind" (func $bind (param i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "sock_listen" (func $listen (param i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
 (memory (export "memory") 1)
 (data (i32.const 0) "\\10\\00\\00\\00\\80\\00\\00\\00")  ;; address {buf 16, 128 bytes}
 (data (i32.const 16) "\\01\\00")  ;; IPv4 0.0.0.0
 (func (export "_start")
  (drop (call $open (i32.const 1) (i32.const 2) (i32.const 200)))
  (drop (call $bind (i32.load (i32.const 200)) (i32.const 0) (i32.const 8080)))
  (drop (call $listen (i32.load (i32.const 200)) (i32.const 5)))
  (drop (call $accept (i32.load (i32.const 200)) (i32.const 0) (i32.const 204)))
  (loop br 0)))"""


def limited_api(tmp_path: Path, **limits: int) -> ApiServer:
    (tmp_path / "spin.wasm").write_bytes(wasmtime.wat2wasm(SPINNING_MODULE))
    (tmp_path / "listen.wasm").write_bytes(wasmtime.wat2wasm(LISTENING_MODULE))
    request = RunRequest(module=tmp_path / "guest.wasm", args=[], env={"PWD": "/app"},
                         grants=[Grant(tmp_path, "/app")], sockets="wasmedgev2",
                         api_limits=ApiLimits()._replace(**limits))
    server = start_api(request)
    server.api.startup_timeout = 1.0
    return server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ApiServer]:
    api_server = limited_api(tmp_path, processes=2, work=2, body=1000, tasks=3)
    yield api_server
    api_server.close()


def exchange(server: ApiServer, head: str, body: bytes = b"") -> tuple[int, dict]:
    """Send a raw request on a new connection; the reply's status and JSON body.

    The connection is read until the server closes it, which it does only
    once the connection no longer counts against the limit.
    """
    with server.connect() as connection:
        connection.settimeout(10)
        connection.sendall(head.encode() + b"\r\nConnection: close\r\n\r\n" + body)
        reply = b""
        while data := connection.recv(65536):
            reply += data
    header, _, payload = reply.partition(b"\r\n\r\n")
    return int(header.split()[1]), json.loads(payload)


def call(server: ApiServer, method: str, message: dict) -> tuple[int, dict]:
    body = json.dumps(message).encode()
    return exchange(server, f"POST {SERVICE_PATH}{method} HTTP/1.1\r\n"
                    f"Content-Length: {len(body)}", body)


@pytest.mark.parametrize(("length", "status"), [
    (str(2 ** 40), 413),  # 1 TiB: refused before reading
    ("1001", 413),        # just over the limit
    ("9" * 60_000, 413),  # more digits than int() takes
    ("-1", 400),          # would read until the connection ends
    ("-5", 400),
    ("+5", 400),
    ("five", 400),
])
def test_request_bodies_are_bounded(server: ApiServer, length: str, status: int) -> None:
    reply_status, reply = exchange(
        server, f"POST {SERVICE_PATH}Version HTTP/1.1\r\nContent-Length: {length}")
    assert reply_status == status and "Content-Length" in reply["message"]


def test_a_body_within_the_limit_is_read(server: ApiServer) -> None:
    padding = " " * (1000 - 2)
    assert exchange(server, f"POST {SERVICE_PATH}Version HTTP/1.1\r\nContent-Length: 1000",
                    ("{" + padding + "}").encode()) == (200, {"version": VERSION})


def test_api_connections_are_bounded(server: ApiServer) -> None:
    first, second = server.connect(), server.connect()
    with pytest.raises(ConnectionRefusedError):
        server.connect()
    first.close()
    for _ in range(100):  # its thread notices the end of the connection
        try:
            server.connect().close()
            break
        except ConnectionRefusedError:
            time.sleep(0.05)
    else:
        pytest.fail("a closed connection did not free its place")
    second.close()


def test_spawned_processes_are_bounded(server: ApiServer) -> None:
    spawned = [call(server, "Spawn", {"module": {"path": "spin.wasm"}}) for _ in range(3)]
    assert [status for status, _ in spawned] == [200, 200, 429]
    assert spawned[2][1]["code"] == "resource_exhausted"
    assert "--max-processes" in spawned[2][1]["message"]
    assert call(server, "Kill", {"processId": spawned[0][1]["processId"]})[0] == 200
    assert call(server, "Spawn", {"module": {"path": "spin.wasm"}})[0] == 200


def test_the_process_limit_covers_the_whole_tree(tmp_path: Path) -> None:
    """A child host takes its slots from the same file as its parent; a dead child's is free."""
    parent = ProcessSlots(2)
    holder = parent.take()
    sleeper = subprocess.Popen(["sleep", "60"], pass_fds=(holder,))
    os.close(holder)
    child_host = ProcessSlots(2, parent.shared_fd)  # what a child host sees
    os.close(child_host.take())  # the one free slot, given back at once
    kept = child_host.take()
    with pytest.raises(ApiError, match="2 processes"):
        parent.take()
    sleeper.kill()
    sleeper.wait()
    os.close(parent.take())  # the sleeper's slot was freed by its end
    os.close(kept)


def test_kept_tasks_are_bounded(server: ApiServer) -> None:
    task = {"module": {"path": "spin.wasm"}, "httpRequest": {"port": 8080}}
    status, reply = call(server, "SubmitTasks", {"requests": [task] * 4})
    assert (status, reply["code"]) == (429, "resource_exhausted")
    status, reply = call(server, "SubmitTasks", {"requests": [task] * 3})
    assert status == 200 and len(reply["taskId"]) == 3
    assert call(server, "SubmitTasks", {"requests": [task]})[0] == 429
    assert call(server, "DiscardTasks", {"taskId": reply["taskId"][:1]})[0] == 200
    assert call(server, "SubmitTasks", {"requests": [task]})[0] == 200


def test_running_tasks_are_bounded(tmp_path: Path) -> None:
    server = limited_api(tmp_path, work=1)
    try:
        task = {"module": {"path": "spin.wasm"}, "httpRequest": {"port": 8080}}
        status, reply = call(server, "SubmitTasks", {"requests": [task, task]})
        assert status == 200
        time.sleep(0.3)  # well within the first task's 1 s wait for its worker
        status, lookup = call(server, "LookupTasks", {"taskId": reply["taskId"]})
        states = [response["state"] for response in lookup["responses"]]
        assert states == ["TASK_STATE_INITIALIZING", "TASK_STATE_QUEUED"]
    finally:
        server.close()


@pytest.mark.parametrize(("http_request", "problem"), [
    ({"headers": [{"name": "X-A", "value": "1\r\nX-Injected: 2"}]}, "CR, LF or NUL"),
    ({"headers": [{"name": "X A", "value": "1"}]}, "not a header name"),
    ({"method": "GET /x HTTP/1.1\r\n"}, "not an HTTP method"),
    ({"path": "/a b"}, "spaces or control characters"),
])
def test_a_task_that_cannot_be_sent_ends_in_error(server: ApiServer, http_request: dict,
                                                  problem: str) -> None:
    # The worker listens, so the request gets as far as being written to it.
    server.api.startup_timeout = 60.0
    task = {"module": {"path": "listen.wasm"}, "httpRequest": {"port": 8080, **http_request}}
    status, reply = call(server, "SubmitTasks", {"requests": [task]})
    assert status == 200
    status, reply = call(server, "PollTasks", {"batchSize": 1, "timeoutNs": "30000000000"})
    (outcome,) = reply["responses"]
    assert outcome["state"] == "TASK_STATE_ERROR" and problem in outcome["errorMessage"]


def test_poll_takes_any_timeout(server: ApiServer) -> None:
    task = {"module": {"path": "spin.wasm"},
            "httpRequest": {"port": 8080, "headers": [{"name": "A", "value": "\n"}]}}
    assert call(server, "SubmitTasks", {"requests": [task]})[0] == 200
    status, reply = call(server, "PollTasks", {"batchSize": 1, "timeoutNs": str(10 ** 30)})
    assert status == 200 and len(reply["responses"]) == 1


def test_a_worker_response_is_bounded(tmp_path: Path) -> None:
    class Large(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2000")
            self.end_headers()
            self.wfile.write(b"x" * 2000)

        def log_message(self, *args: object) -> None:
            pass

    with http.server.HTTPServer(("127.0.0.1", 0), Large) as worker:
        threading.Thread(target=worker.handle_request, daemon=True).start()
        connection = http.client.HTTPConnection(*worker.server_address[:2], timeout=10)
        request = TaskInput(ModuleCommand("w.wasm", (), ()), "GET", "/", (), b"", 80)
        with pytest.raises(TaskFailure, match="larger than 1000 bytes"):
            exchange_with_worker(connection, request, 1000)


# -- what a spawned process sees -------------------------------------------------------

# Exits with the errno of opening secret.txt in its second preopen (0: it is there).
PROBING_MODULE = """(module
 (import "wasi_snapshot_preview1" "path_open"
  (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
 (memory (export "memory") 1)
 (data (i32.const 16) "secret.txt")
 (func (export "_start")
  (call $exit (call $open (i32.const 4) (i32.const 1) (i32.const 16) (i32.const 10)
                          (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0)
                          (i32.const 64)))))"""
EXITING_MODULE = """(module
 (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
 (memory (export "memory") 1)
 (func (export "_start") (call $exit (i32.const {code}))))"""
ENOENT = 44


def spawned_exit_status(server: ApiServer, path: str) -> int:
    status, reply = call(server, "Spawn", {"module": {"path": path}})
    assert status == 200, reply
    return server.api._children[reply["processId"]].popen.wait(timeout=60)


def test_a_grant_replaced_by_a_symlink_does_not_widen_a_childs_view(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "dist").mkdir(parents=True)
    (project / "probe.wasm").write_bytes(wasmtime.wat2wasm(PROBING_MODULE))
    (tmp_path / "secret.txt").write_text("outside every grant")
    # The host opens its grants when it starts, before the guest runs.
    grants = open_grants([Grant(project, "/project"), Grant(project / "dist", "/project/dist")])
    # The guest then puts a symlink out of its grants where dist/ was.
    (project / "dist").rename(project / "dist-old")
    (project / "dist").symlink_to("..")
    assert (project / "dist" / "secret.txt").is_file()
    server = start_api(RunRequest(module=project / "guest.wasm", args=[],
                                  env={"PWD": "/project"}, grants=grants))
    try:
        assert spawned_exit_status(server, "/project/probe.wasm") == ENOENT
        # Not an accident of the probe: with the secret inside, it sees it.
        (project / "dist-old" / "secret.txt").write_text("inside")
        assert spawned_exit_status(server, "/project/probe.wasm") == 0
    finally:
        server.close()
        close_opened(grants, [])


def test_the_child_runs_the_module_its_parent_opened(tmp_path: Path) -> None:
    app, elsewhere = tmp_path / "app", tmp_path / "elsewhere"
    (app / "mods").mkdir(parents=True)
    elsewhere.mkdir()
    (app / "mods" / "m.wasm").write_bytes(wasmtime.wat2wasm(EXITING_MODULE.format(code=5)))
    (elsewhere / "m.wasm").write_bytes(wasmtime.wat2wasm(EXITING_MODULE.format(code=7)))
    server = start_api(RunRequest(module=app / "guest.wasm", args=[], env={"PWD": "/app"},
                                  grants=[Grant(app, "/app")]))
    launcher = server.api.launcher
    try:
        module = ModuleCommand("mods/m.wasm", (), ())
        guest_path, module_fd = launcher.open_module(module.path)
        # The guest swaps the directory for a symlink out of its grant in between.
        (app / "mods").rename(app / "mods-old")
        (app / "mods").symlink_to("../elsewhere")
        try:
            child = launcher.launch(module, guest_path, module_fd)
        finally:
            os.close(module_fd)
        assert child.popen.wait(timeout=60) == 5
        # From now on that path leads outside: refused, in the words used for a missing file.
        status, reply = call(server, "Spawn", {"module": {"path": "mods/m.wasm"}})
        _, missing = call(server, "Spawn", {"module": {"path": "mods/none.wasm"}})
        assert status == 400
        assert reply["message"] == missing["message"].replace("none.wasm", "m.wasm")
    finally:
        server.close()
