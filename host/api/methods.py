"""The API's methods for one guest, independent of the transport, and how tasks run."""

from __future__ import annotations

import base64
import http.client
import queue
import subprocess
import threading
import time
from typing import Callable

from host.api.children import ChildProcess, ProcessLauncher
from host.api.errors import ApiError, TaskFailure
from host.api.messages import JSONObject, ModuleCommand, TaskInput, field, strings
from host.api.tasks import ERROR, EXECUTING, INITIALIZING, SUCCESS, Task, TaskBoard
from host.requests import RunRequest

VERSION = "timecraft-python-host 0.1"
# python.wasm compiles for a while the first time it runs on a machine.
STARTUP_TIMEOUT = 120.0
RESPONSE_TIMEOUT = 60.0
_CONNECT_RETRY_DELAY = 0.05


def exchange_with_worker(connection: http.client.HTTPConnection, request: TaskInput, max_body: int
              ) -> JSONObject:
    connection.putrequest(request.method, request.path, skip_accept_encoding=True)
    for name, value in request.headers:
        connection.putheader(name, value)
    if request.body or request.method in ("POST", "PUT", "PATCH"):
        connection.putheader("Content-Length", str(len(request.body)))
    connection.endheaders(request.body or None)
    reply = connection.getresponse()
    body = reply.read(max_body + 1)
    if len(body) > max_body:
        raise TaskFailure(f"the response body is larger than {max_body} bytes (see --max-api-body)")
    response: JSONObject = {"statusCode": reply.status,
                            "headers": [{"name": name, "value": value}
                                        for name, value in reply.getheaders()]}
    if body:
        response["body"] = base64.b64encode(body).decode("ascii")
    return response


class Api:
    """The methods of the API for one guest, independent of the transport."""

    def __init__(self, request: RunRequest, process_id: str,
                 startup_timeout: float = STARTUP_TIMEOUT,
                 response_timeout: float = RESPONSE_TIMEOUT) -> None:
        self.process_id = process_id
        self.limits = request.api_limits
        self.launcher = ProcessLauncher(request)
        self.startup_timeout = startup_timeout
        self.response_timeout = response_timeout
        self.board = TaskBoard(self.limits.tasks)
        self._children: dict[str, ChildProcess] = {}
        # Tasks with the same module share a worker, as in timecraft.
        self._workers: dict[ModuleCommand, ChildProcess] = {}
        self._worker_start = threading.Lock()
        # Tasks wait here for one of at most `limits.work` runner threads.
        self._queue: queue.SimpleQueue[Task] = queue.SimpleQueue()
        self._runners = 0
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
        process_id = field(message, "processId", str, "")
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
        inputs = [TaskInput.from_json(task) for task in field(message, "requests", list, [])]
        tasks = self.board.add(inputs)
        for task in tasks:
            self._queue.put(task)
        with self._lock:
            starting = min(self.limits.work - self._runners, len(tasks))
            self._runners += starting
        for _ in range(starting):
            threading.Thread(target=self._run_tasks, name="timecraft-task", daemon=True).start()
        return {"taskId": [task.task_id for task in tasks]}

    def lookup_tasks(self, message: JSONObject) -> JSONObject:
        tasks = self.board.find(strings(message, "taskId"))
        with self.board.changed:
            return {"responses": [task.to_json() for task in tasks]}

    def poll_tasks(self, message: JSONObject) -> JSONObject:
        batch_size = field(message, "batchSize", int, 0)
        if batch_size <= 0:
            raise ApiError("invalid_argument", "batchSize must be positive")
        timeout = max(0, field(message, "timeoutNs", int, 0)) / 1e9
        return {"responses": self.board.poll(batch_size, timeout)}

    def discard_tasks(self, message: JSONObject) -> JSONObject:
        self.board.discard(strings(message, "taskId"))
        return {}

    # -- running tasks ------------------------------------------------------------

    def _worker_for(self, module: ModuleCommand) -> ChildProcess:
        with self._worker_start:  # tasks arriving together still share one worker
            with self._lock:
                worker = self._workers.get(module)
                if worker is not None and worker.alive:
                    return worker
            worker = self._start(module)
            with self._lock:
                self._workers[module] = worker
            return worker

    def _run_tasks(self) -> None:
        while True:
            self._run_task(self._queue.get())

    def _run_task(self, task: Task) -> None:
        try:
            problem = task.request.http_problem()
            if problem is not None:
                raise TaskFailure(problem)
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
        except Exception as error:  # noqa: BLE001 - whatever happens, the task must end
            self.board.move(task, ERROR, error_message=f"internal error: {type(error).__name__}: "
                            f"{error}")
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
            return exchange_with_worker(connection, request, self.limits.body)
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
