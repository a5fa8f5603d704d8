"""The API's messages as dataclasses, and their proto3 JSON mapping.

proto3 JSON: lowerCamelCase names, enums by name, bytes as base64, int64 as
decimal strings (numbers are accepted too), and default values left out.
"""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass, field
from typing import Any, Mapping, NewType

TaskID = NewType("TaskID", str)
ProcessID = NewType("ProcessID", str)

JSONObject = dict[str, Any]


class TaskState(enum.Enum):
    UNSPECIFIED = "TASK_STATE_UNSPECIFIED"
    QUEUED = "TASK_STATE_QUEUED"
    INITIALIZING = "TASK_STATE_INITIALIZING"
    EXECUTING = "TASK_STATE_EXECUTING"
    ERROR = "TASK_STATE_ERROR"
    SUCCESS = "TASK_STATE_SUCCESS"

    @property
    def is_final(self) -> bool:
        return self in (TaskState.ERROR, TaskState.SUCCESS)

    @classmethod
    def from_json(cls, value: str | int | None) -> TaskState:
        if value is None:
            return cls.UNSPECIFIED
        if isinstance(value, int):  # proto3 JSON readers accept enum numbers too
            return list(cls)[value]
        return cls(value)


def encode_bytes(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_bytes(text: str | None) -> bytes:
    # Writers may use the URL-safe alphabet and drop padding; both are valid proto3 JSON.
    if not text:
        return b""
    normalized = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(normalized + "=" * (-len(normalized) % 4))


def encode_headers(headers: Mapping[str, str]) -> list[JSONObject]:
    return [{"name": name, "value": value} for name, value in headers.items()]


def decode_headers(items: list[JSONObject] | None) -> dict[str, str]:
    """Repeated headers are joined with ", ", which HTTP defines as equivalent."""
    headers: dict[str, str] = {}
    for item in items or ():
        name, value = item.get("name", ""), item.get("value", "")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _without_defaults(message: JSONObject) -> JSONObject:
    return {name: value for name, value in message.items() if value not in ("", 0, [], None)}


@dataclass
class ModuleSpec:
    """A WebAssembly module to run: its path, arguments and environment."""

    path: str
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    function: str = ""
    outbound_proxy: ModuleSpec | None = None

    def to_json(self) -> JSONObject:
        return _without_defaults({
            "path": self.path,
            "function": self.function,
            "args": list(self.args),
            "env": [f"{name}={value}" for name, value in self.env.items()],
            "outboundProxy": self.outbound_proxy.to_json() if self.outbound_proxy else None,
        })

    @classmethod
    def from_json(cls, data: JSONObject) -> ModuleSpec:
        proxy = data.get("outboundProxy")
        return cls(
            path=data.get("path", ""),
            args=list(data.get("args", [])),
            env=dict(item.partition("=")[::2] for item in data.get("env", [])),
            function=data.get("function", ""),
            outbound_proxy=cls.from_json(proxy) if proxy else None,
        )


@dataclass
class HTTPRequest:
    """A request the runtime delivers to a worker listening on `port`."""

    port: int
    method: str = "GET"
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def to_json(self) -> JSONObject:
        return _without_defaults({
            "method": self.method,
            "path": self.path,
            "headers": encode_headers(self.headers),
            "body": encode_bytes(self.body),
            "port": self.port,
        })

    @classmethod
    def from_json(cls, data: JSONObject) -> HTTPRequest:
        return cls(
            port=int(data.get("port", 0)),
            method=data.get("method", ""),
            path=data.get("path", ""),
            headers=decode_headers(data.get("headers")),
            body=decode_bytes(data.get("body")),
        )


@dataclass
class HTTPResponse:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def to_json(self) -> JSONObject:
        return _without_defaults({
            "statusCode": self.status_code,
            "headers": encode_headers(self.headers),
            "body": encode_bytes(self.body),
        })

    @classmethod
    def from_json(cls, data: JSONObject) -> HTTPResponse:
        return cls(
            status_code=int(data.get("statusCode", 0)),
            headers=decode_headers(data.get("headers")),
            body=decode_bytes(data.get("body")),
        )


@dataclass
class TaskRequest:
    """An HTTP task: `http_request` delivered to a worker running `module`."""

    module: ModuleSpec
    http_request: HTTPRequest

    def to_json(self) -> JSONObject:
        return {"module": self.module.to_json(), "httpRequest": self.http_request.to_json()}


@dataclass
class TaskResponse:
    task_id: TaskID
    state: TaskState
    process_id: ProcessID | None = None
    error_message: str = ""
    http_response: HTTPResponse | None = None

    @classmethod
    def from_json(cls, data: JSONObject) -> TaskResponse:
        response = data.get("httpResponse")
        return cls(
            task_id=TaskID(data.get("taskId", "")),
            state=TaskState.from_json(data.get("state")),
            process_id=ProcessID(data["processId"]) if data.get("processId") else None,
            error_message=data.get("errorMessage", ""),
            http_response=HTTPResponse.from_json(response) if response is not None else None,
        )
