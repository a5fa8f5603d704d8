"""A client of the timecraft host API (Connect protocol, JSON over HTTP/1.1)."""

from __future__ import annotations

import os
from typing import Iterable

import requests

from timecraft.messages import (
    JSONObject,
    ModuleSpec,
    ProcessID,
    TaskID,
    TaskRequest,
    TaskResponse,
)

DEFAULT_ADDRESS = "127.0.0.1:7463"
# Overrides the default address, for a runtime serving the API elsewhere.
ADDRESS_VARIABLE = "TIMECRAFT_API_ADDRESS"
SERVICE = "timecraft.server.v1.TimecraftService"
DEFAULT_TIMEOUT = 30.0


class TimecraftError(Exception):
    """A call the API refused or could not answer.

    `status` is the HTTP status (None when no answer came back), `code` the
    Connect error code ("not_found", "unavailable", ...).
    """

    def __init__(self, method: str, status: int | None, code: str, message: str) -> None:
        super().__init__(f"{method}: {code}: {message}" + (f" (HTTP {status})" if status else ""))
        self.method = method
        self.status = status
        self.code = code
        self.message = message


def base_url(address: str) -> str:
    """`host:port` or an http:// URL, as the URL method paths are appended to."""
    address = address.strip().rstrip("/")
    return address if "://" in address else f"http://{address}"


class Client:
    """Calls the API of the runtime this program runs under.

    The address is, in order: the `address` argument, $TIMECRAFT_API_ADDRESS,
    then timecraft's own 127.0.0.1:7463.
    """

    def __init__(self, address: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = base_url(address or os.environ.get(ADDRESS_VARIABLE) or DEFAULT_ADDRESS)
        self.timeout = timeout
        self._session = requests.Session()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, message: JSONObject, extra_timeout: float = 0.0) -> JSONObject:
        try:
            reply = self._session.post(f"{self.url}/{SERVICE}/{method}", json=message,
                                       timeout=self.timeout + extra_timeout)
        except requests.RequestException as error:
            raise TimecraftError(method, None, "unavailable", str(error)) from error
        try:
            body = reply.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            # Not the API answering (a proxy, another server): its text says why.
            raise TimecraftError(method, reply.status_code, "unknown",
                                 reply.text.strip() or str(reply.reason))
        if reply.status_code != 200:
            raise TimecraftError(method, reply.status_code, body.get("code", "unknown"),
                                 body.get("message", ""))
        return body

    def version(self) -> str:
        return self._call("Version", {}).get("version", "")

    def process_id(self) -> ProcessID:
        return ProcessID(self._call("ProcessID", {}).get("processId", ""))

    def submit_tasks(self, tasks: Iterable[TaskRequest]) -> list[TaskID]:
        reply = self._call("SubmitTasks", {"requests": [task.to_json() for task in tasks]})
        return [TaskID(task_id) for task_id in reply.get("taskId", [])]

    def lookup_tasks(self, task_ids: Iterable[TaskID]) -> list[TaskResponse]:
        reply = self._call("LookupTasks", {"taskId": list(task_ids)})
        return [TaskResponse.from_json(item) for item in reply.get("responses", [])]

    def poll_tasks(self, batch_size: int, timeout_ns: int) -> list[TaskResponse]:
        """Up to `batch_size` tasks that finished, waiting up to `timeout_ns` for one."""
        reply = self._call("PollTasks", {"batchSize": batch_size, "timeoutNs": str(timeout_ns)},
                           extra_timeout=timeout_ns / 1e9)
        return [TaskResponse.from_json(item) for item in reply.get("responses", [])]

    def discard_tasks(self, task_ids: Iterable[TaskID]) -> None:
        self._call("DiscardTasks", {"taskId": list(task_ids)})

    def spawn(self, module: ModuleSpec) -> tuple[ProcessID, str]:
        """Start `module` as its own process; returns its id and network address."""
        reply = self._call("Spawn", {"module": module.to_json()})
        return ProcessID(reply.get("processId", "")), reply.get("ipAddress", "")

    def kill(self, process_id: ProcessID) -> None:
        self._call("Kill", {"processId": process_id})

