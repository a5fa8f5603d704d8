"""The timecraft host API, served by the builtin runtime to its guest.

Each guest gets its own API server (Connect protocol, JSON over HTTP/1.1) on
an ephemeral loopback port; the socket layer sends the guest's connections to
127.0.0.1:7463, timecraft's API address, there (see NetworkView). The guest
sees only its own view: its process id, the processes it spawned, the tasks
it submitted.

Spawned processes and task workers are modules run by child hosts
(`python -m host run`), each with its own loopback address, 127.x.y.z chosen
at random outside 127.0.0.0/24 so that concurrent runs rarely collide; the
child's binds to 0.0.0.0 or 127.0.0.1, and its connections to 127.0.0.1,
land on it (NetworkView). A child inherits this
guest's grants and environment (the module spec's env is added on top), so a
python.wasm child finds its stdlib and packages. Children stop with the guest:
close() kills them, and should this host die without closing, each child
notices that its lifeline pipe (see exit_with_parent) has no writer left.
"""

from __future__ import annotations

import base64
import collections
import http.client
import http.server
import json
import os
import posixpath
import random
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from host.cli import run_arguments
from host.requests import RunRequest

VERSION = "timecraft-python-host 0.1"
SERVICE_PATH = "/timecraft.server.v1.TimecraftService/"
# python.wasm compiles for a while the first time it runs on a machine.
STARTUP_TIMEOUT = 120.0
RESPONSE_TIMEOUT = 60.0
EXIT_PARENT_GONE = 143
_STDERR_TAIL_LINES = 20
_CONNECT_RETRY_DELAY = 0.05

QUEUED, INITIALIZING, EXECUTING = "TASK_STATE_QUEUED", "TASK_STATE_INITIALIZING", \
    "TASK_STATE_EXECUTING"
ERROR, SUCCESS = "TASK_STATE_ERROR", "TASK_STATE_SUCCESS"

JSONObject = dict[str, Any]

_HTTP_STATUS = {"invalid_argument": 400, "not_found": 404, "internal": 500,
                "unimplemented": 501}


class ApiError(Exception):
    """A Connect error: `code` names it, the HTTP status follows from it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return _HTTP_STATUS[self.code]


class TaskFailure(Exception):
    """Why a task ended in ERROR; the message becomes its errorMessage."""


# -- parsing requests -------------------------------------------------------------

def _field(message: JSONObject, name: str, kind: type, default: Any) -> Any:
    value = message.get(name, default)
    if kind is int and isinstance(value, str):  # proto3 JSON int64: a decimal string
        try:
            value = int(value)
        except ValueError:
            raise ApiError("invalid_argument", f"{name}: not an integer: {value!r}") from None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ApiError("invalid_argument", f"{name}: expected {kind.__name__}, got {value!r}")
    return value


def _strings(message: JSONObject, name: str) -> list[str]:
    items = _field(message, name, list, [])
    if not all(isinstance(item, str) for item in items):
        raise ApiError("invalid_argument", f"{name}: expected a list of strings")
    return items


@dataclass(frozen=True)
class ModuleCommand:
    """A ModuleSpec this host can run: a module path seen by the guest, args, env."""

    path: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]

    @classmethod
    def from_json(cls, spec: Any) -> ModuleCommand:
        if not isinstance(spec, dict):
            raise ApiError("invalid_argument", "module: expected a ModuleSpec")
        if spec.get("function") or spec.get("outboundProxy"):
            raise ApiError("unimplemented", "module: function and outboundProxy are not "
                           "supported by the builtin runtime")
        path = _field(spec, "path", str, "")
        if not path:
            raise ApiError("invalid_argument", "module: path is required")
        env = []
        for item in _strings(spec, "env"):
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise ApiError("invalid_argument", f"module: env entry {item!r} is not NAME=VALUE")
            env.append((name, value))
        return cls(path, tuple(_strings(spec, "args")), tuple(env))


@dataclass(frozen=True)
class TaskInput:
    module: ModuleCommand
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    port: int

    @classmethod
    def from_json(cls, task: Any) -> TaskInput:
        if not isinstance(task, dict):
            raise ApiError("invalid_argument", "requests: expected TaskRequest objects")
        request = task.get("httpRequest")
        if not isinstance(request, dict):
            raise ApiError("invalid_argument", "httpRequest is required (only HTTP tasks exist)")
        port = _field(request, "port", int, 0)
        if not 0 < port < 65536:
            raise ApiError("invalid_argument", f"httpRequest.port: {port} is not a TCP port")
        headers = []
        for header in _field(request, "headers", list, []):
            if not isinstance(header, dict):
                raise ApiError("invalid_argument", "httpRequest.headers: expected {name, value}")
            headers.append((_field(header, "name", str, ""), _field(header, "value", str, "")))
        encoded = _field(request, "body", str, "")
        try:  # proto3 JSON readers accept the URL-safe alphabet and missing padding
            body = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_",
                                    validate=True)
        except ValueError:
            raise ApiError("invalid_argument", "httpRequest.body: not base64") from None
        return cls(ModuleCommand.from_json(task.get("module")),
                   _field(request, "method", str, "") or "GET",
                   _field(request, "path", str, "") or "/", tuple(headers), body, port)


# -- child processes --------------------------------------------------------------

class ChildProcess:
    """A module running in a child host, with the tail of its stderr kept for errors."""

    def __init__(self, process_id: str, ip_address: str, popen: subprocess.Popen[bytes]) -> None:
        self.process_id = process_id
        self.ip_address = ip_address
        self.popen = popen
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)
        self._relay = threading.Thread(target=self._relay_stderr, daemon=True)
        self._relay.start()

    def _relay_stderr(self) -> None:
        # Shown on the host's stderr as it comes, and kept to explain a failure.
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            os.write(2, line)
            self.stderr_tail.append(line.decode(errors="replace").rstrip())

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def exit_summary(self) -> str:
        self._relay.join(timeout=1)
        last = next((line for line in reversed(self.stderr_tail) if line), "")
        return f"exit status {self.popen.returncode}" + (f": {last}" if last else "")

    def stop(self) -> None:
        # SIGKILL: the child host cannot be trusted to act on SIGTERM while its
        # guest computes; its own children follow through their lifeline.
        self.popen.kill()
        self.popen.wait()
        self._relay.join(timeout=1)


def _new_loopback_address(taken: set[str]) -> str:
    while True:
        address = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        if address not in taken:
            return address


class ProcessLauncher:
    """Starts modules in child hosts that see what this guest sees."""

    def __init__(self, request: RunRequest) -> None:
        self.request = request
        # Children inherit the read end; nothing is ever written, so it reaches
        # end of file exactly when this process is gone.
        self.lifeline_read, self.lifeline_write = os.pipe()
        self._addresses: set[str] = set()

    def module_on_host(self, guest_path: str) -> Path:
        """The host file behind a module path the guest gave, within its grants only."""
        if not guest_path.startswith("/"):
            guest_path = posixpath.join(self.request.env.get("PWD", "/"), guest_path)
        guest_path = posixpath.normpath(guest_path)
        for grant in self.request.grants:
            root = grant.guest_path.rstrip("/") or "/"
            if guest_path != root and not guest_path.startswith(root.rstrip("/") + "/"):
                continue
            granted = grant.host_path.resolve()
            candidate = (granted / posixpath.relpath(guest_path, root)).resolve()
            if candidate.is_relative_to(granted) and candidate.is_file():
                return candidate
        raise ApiError("invalid_argument",
                       f"module {guest_path} is not a file in a directory granted to this guest")

    def start(self, module: ModuleCommand) -> ChildProcess:
        host_path = self.module_on_host(module.path)
        process_id = str(uuid.uuid4())
        address = _new_loopback_address(self._addresses)
        self._addresses.add(address)
        child = self.request._replace(
            module=host_path, args=list(module.args),
            env={**self.request.env, **dict(module.env)},
            process_id=process_id, ip_address=address, lifeline_fd=self.lifeline_read)
        command = [sys.executable, "-m", "host",
                   *run_arguments(child, runtime="builtin", internal=True)]
        # The child's stdout goes to our stderr: the guest's own stdout stays its own.
        popen = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=2,
                                 stderr=subprocess.PIPE, pass_fds=(self.lifeline_read,))
        return ChildProcess(process_id, address, popen)

    def close(self) -> None:
        os.close(self.lifeline_read)
        os.close(self.lifeline_write)


def exit_with_parent(lifeline_fd: int) -> None:
    """End this host when the one that spawned it is gone (its pipe reaches EOF)."""

    def watch() -> None:
        while os.read(lifeline_fd, 1):
            pass
        os._exit(EXIT_PARENT_GONE)  # the guest may be deep in wasm code: no unwinding

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


# -- tasks ------------------------------------------------------------------------

@dataclass
class Task:
    task_id: str
    request: TaskInput
    state: str = QUEUED
    process_id: str = ""
    error_message: str = ""
    response: JSONObject | None = None

    def to_json(self) -> JSONObject:
        message: JSONObject = {"taskId": self.task_id, "state": self.state}
        if self.process_id:
            message["processId"] = self.process_id
        if self.error_message:
            message["errorMessage"] = self.error_message
        if self.response is not None:
            message["httpResponse"] = self.response
        return message


@dataclass
class TaskBoard:
    """Every task of the guest, and the finished ones PollTasks has not returned yet."""

    tasks: dict[str, Task] = field(default_factory=dict)
    unpolled: collections.deque[str] = field(default_factory=collections.deque)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, request: TaskInput) -> Task:
        task = Task(str(uuid.uuid4()), request)
        with self.changed:
            self.tasks[task.task_id] = task
        return task

    def move(self, task: Task, state: str, **outcome: Any) -> None:
        with self.changed:
            task.state = state
            for name, value in outcome.items():
                setattr(task, name, value)
            if state in (ERROR, SUCCESS) and task.task_id in self.tasks:
                self.unpolled.append(task.task_id)
                self.changed.notify_all()

    def find(self, task_ids: list[str]) -> list[Task]:
        with self.changed:
            missing = [task_id for task_id in task_ids if task_id not in self.tasks]
            if missing:
                raise ApiError("not_found", f"no task {', '.join(missing)}")
            return [self.tasks[task_id] for task_id in task_ids]

    def discard(self, task_ids: list[str]) -> None:
        with self.changed:
            self.find(task_ids)
            for task_id in task_ids:
                del self.tasks[task_id]

    def poll(self, batch_size: int, timeout: float) -> list[JSONObject]:
        deadline = time.monotonic() + timeout
        finished: list[JSONObject] = []
        with self.changed:
            while not finished:
                while self.unpolled and len(finished) < batch_size:
                    task = self.tasks.get(self.unpolled.popleft())
                    if task is not None:  # else discarded meanwhile
                        finished.append(task.to_json())
                remaining = deadline - time.monotonic()
                if finished or remaining <= 0:
                    break
                self.changed.wait(remaining)
        return finished


def _exchange(connection: http.client.HTTPConnection, request: TaskInput) -> JSONObject:
    connection.putrequest(request.method, request.path, skip_accept_encoding=True)
    for name, value in request.headers:
        connection.putheader(name, value)
    if request.body or request.method in ("POST", "PUT", "PATCH"):
        connection.putheader("Content-Length", str(len(request.body)))
    connection.endheaders(request.body or None)
    reply = connection.getresponse()
    body = reply.read()
    response: JSONObject = {"statusCode": reply.status,
                            "headers": [{"name": name, "value": value}
                                        for name, value in reply.getheaders()]}
    if body:
        response["body"] = base64.b64encode(body).decode("ascii")
    return response


# -- the API ----------------------------------------------------------------------

class Api:
    """The methods of the API for one guest, independent of the transport."""

    def __init__(self, request: RunRequest, process_id: str,
                 startup_timeout: float = STARTUP_TIMEOUT,
                 response_timeout: float = RESPONSE_TIMEOUT) -> None:
        self.process_id = process_id
        self.launcher = ProcessLauncher(request)
        self.startup_timeout = startup_timeout
        self.response_timeout = response_timeout
        self.board = TaskBoard()
        self._children: dict[str, ChildProcess] = {}
        # Tasks with the same module share a worker, as in timecraft.
        self._workers: dict[ModuleCommand, ChildProcess] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.methods: dict[str, Callable[[JSONObject], JSONObject]] = {
            "Version": lambda _message: {"version": VERSION},
            "ProcessID": lambda _message: {"processId": self.process_id},
            "Spawn": self.spawn,
            "Kill": self.kill,
            "SubmitTasks": self.submit_tasks,
            "LookupTasks": self.lookup_tasks,
            "PollTasks": self.poll_tasks,
            "DiscardTasks": self.discard_tasks,
        }

    def call(self, method: str, message: JSONObject) -> JSONObject:
        handler = self.methods.get(method)
        if handler is None:
            raise ApiError("unimplemented", f"no method {method}")
        return handler(message)

    def _start(self, module: ModuleCommand) -> ChildProcess:
        with self._lock:
            if self._closed:
                raise ApiError("internal", "the guest is exiting")
            child = self.launcher.start(module)
            self._children[child.process_id] = child
            return child

    def spawn(self, message: JSONObject) -> JSONObject:
        child = self._start(ModuleCommand.from_json(message.get("module")))
        return {"processId": child.process_id, "ipAddress": child.ip_address}

    def kill(self, message: JSONObject) -> JSONObject:
        process_id = _field(message, "processId", str, "")
        with self._lock:
            child = self._children.pop(process_id, None)
            if child is None:
                raise ApiError("not_found", f"no process {process_id!r} started by this guest")
            for module, worker in list(self._workers.items()):
                if worker is child:
                    del self._workers[module]
        child.stop()
        return {}

    def submit_tasks(self, message: JSONObject) -> JSONObject:
        inputs = [TaskInput.from_json(task) for task in _field(message, "requests", list, [])]
        task_ids = []
        for task_input in inputs:
            task = self.board.add(task_input)
            threading.Thread(target=self._run_task, args=(task,), daemon=True).start()
            task_ids.append(task.task_id)
        return {"taskId": task_ids}

    def lookup_tasks(self, message: JSONObject) -> JSONObject:
        tasks = self.board.find(_strings(message, "taskId"))
        with self.board.changed:
            return {"responses": [task.to_json() for task in tasks]}

    def poll_tasks(self, message: JSONObject) -> JSONObject:
        batch_size = _field(message, "batchSize", int, 0)
        if batch_size <= 0:
            raise ApiError("invalid_argument", "batchSize must be positive")
        timeout = max(0, _field(message, "timeoutNs", int, 0)) / 1e9
        return {"responses": self.board.poll(batch_size, timeout)}

    def discard_tasks(self, message: JSONObject) -> JSONObject:
        self.board.discard(_strings(message, "taskId"))
        return {}

    # -- running tasks ------------------------------------------------------------

    def _worker_for(self, module: ModuleCommand) -> ChildProcess:
        with self._lock:
            worker = self._workers.get(module)
            if worker is not None and worker.alive:
                return worker
        worker = self._start(module)
        with self._lock:
            self._workers[module] = worker
        return worker

    def _run_task(self, task: Task) -> None:
        try:
            self.board.move(task, INITIALIZING)
            worker = self._worker_for(task.request.module)
            self.board.move(task, INITIALIZING, process_id=worker.process_id)
            connection = self._connect(worker, task.request.port)
            self.board.move(task, EXECUTING)
            response = self._deliver(worker, connection, task.request)
        except ApiError as error:
            self.board.move(task, ERROR, error_message=error.message)
        except TaskFailure as failure:
            self.board.move(task, ERROR, error_message=str(failure))
        else:
            self.board.move(task, SUCCESS, response=response)

    def _connect(self, worker: ChildProcess, port: int) -> http.client.HTTPConnection:
        """A connection to the worker, retried until it listens (bounded by startup_timeout)."""
        deadline = time.monotonic() + self.startup_timeout
        while True:
            connection = http.client.HTTPConnection(worker.ip_address, port,
                                                    timeout=self.response_timeout)
            try:
                connection.connect()
                return connection
            except OSError:
                connection.close()
            if not worker.alive:
                raise TaskFailure(f"worker {worker.process_id} ended before listening on port "
                                  f"{port} ({worker.exit_summary()})")
            if time.monotonic() > deadline:
                raise TaskFailure(f"worker {worker.process_id} did not listen on port {port} "
                                  f"within {self.startup_timeout:g}s")
            time.sleep(_CONNECT_RETRY_DELAY)

    def _deliver(self, worker: ChildProcess, connection: http.client.HTTPConnection,
                 request: TaskInput) -> JSONObject:
        try:
            return _exchange(connection, request)
        except TimeoutError:
            raise TaskFailure(f"worker {worker.process_id} did not answer within "
                              f"{self.response_timeout:g}s") from None
        except (OSError, http.client.HTTPException) as error:
            try:
                worker.popen.wait(timeout=1)
            except subprocess.TimeoutExpired:
                raise TaskFailure(f"worker {worker.process_id} failed to answer: "
                                  f"{error or type(error).__name__}") from None
            raise TaskFailure(f"worker {worker.process_id} ended while handling the request "
                              f"({worker.exit_summary()})") from None
        finally:
            connection.close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            children = list(self._children.values())
            self._children.clear()
            self._workers.clear()
        for child in children:
            child.stop()
        self.launcher.close()


# -- the HTTP transport -----------------------------------------------------------

class _ConnectHandler(http.server.BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        try:
            method = self._method()
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            try:
                message = json.loads(raw or b"{}")
            except ValueError:
                raise ApiError("invalid_argument", "the body is not JSON") from None
            if not isinstance(message, dict):
                raise ApiError("invalid_argument", "the body is not a JSON object")
            self._reply(200, self.server.api.call(method, message))
        except ApiError as error:
            self._reply(error.status, {"code": error.code, "message": error.message})
        except Exception as error:  # noqa: BLE001 - the guest gets an answer, whatever went wrong here
            self._reply(500, {"code": "internal", "message": f"{type(error).__name__}: {error}"})

    def _method(self) -> str:
        if not self.path.startswith(SERVICE_PATH):
            raise ApiError("not_found", f"no service at {self.path}")
        return self.path[len(SERVICE_PATH):]

    def _reply(self, status: int, message: JSONObject) -> None:
        body = json.dumps(message).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the guest's stderr is the guest's: no access log on it


class ApiServer(http.server.ThreadingHTTPServer):
    """The API over HTTP on an ephemeral loopback port, served from a thread."""

    daemon_threads = True

    def __init__(self, api: Api) -> None:
        super().__init__(("127.0.0.1", 0), _ConnectHandler)
        self.api = api
        self._thread = threading.Thread(target=self.serve_forever, name="timecraft-api",
                                        daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.api.close()


def start_api(request: RunRequest) -> ApiServer:
    """The API server of the guest `request` runs, serving from now on."""
    return ApiServer(Api(request, request.process_id or str(uuid.uuid4())))
