"""Reading request messages: proto3 JSON checked field by field into typed values."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

from host.api.errors import ApiError

JSONObject = dict[str, Any]

# RFC 9110 tokens (methods, header names); field values without CR, LF or NUL.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FIELD_VALUE = re.compile(r"[^\r\n\0]*")
# A request target: no whitespace or control characters.
_TARGET = re.compile(r"[^\x00-\x20\x7f]+")


def field(message: JSONObject, name: str, kind: type, default: Any) -> Any:
    value = message.get(name, default)
    if kind is int and isinstance(value, str):  # proto3 JSON int64: a decimal string
        try:
            value = int(value)
        except ValueError:
            raise ApiError("invalid_argument", f"{name}: not an integer: {value!r}") from None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ApiError("invalid_argument", f"{name}: expected {kind.__name__}, got {value!r}")
    return value


def strings(message: JSONObject, name: str) -> list[str]:
    items = field(message, name, list, [])
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
        path = field(spec, "path", str, "")
        if not path:
            raise ApiError("invalid_argument", "module: path is required")
        env = []
        for item in strings(spec, "env"):
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise ApiError("invalid_argument", f"module: env entry {item!r} is not NAME=VALUE")
            env.append((name, value))
        return cls(path, tuple(strings(spec, "args")), tuple(env))


@dataclass(frozen=True)
class TaskInput:
    module: ModuleCommand
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    port: int

    def http_problem(self) -> str | None:
        """Why this request cannot be sent over HTTP/1.1, if it cannot.

        Checked when the task runs, not at submission: the task is accepted
        and ends in ERROR with this message, as an HTTP client would fail it.
        """
        if not _TOKEN.fullmatch(self.method):
            return f"httpRequest.method {self.method!r} is not an HTTP method"
        if not _TARGET.fullmatch(self.path):
            return f"httpRequest.path {self.path!r} has spaces or control characters"
        for name, value in self.headers:
            if not _TOKEN.fullmatch(name):
                return f"httpRequest.headers: {name!r} is not a header name"
            if not _FIELD_VALUE.fullmatch(value):
                return f"httpRequest.headers: the value of {name} has CR, LF or NUL in it"
        return None

    @classmethod
    def from_json(cls, task: Any) -> TaskInput:
        if not isinstance(task, dict):
            raise ApiError("invalid_argument", "requests: expected TaskRequest objects")
        request = task.get("httpRequest")
        if not isinstance(request, dict):
            raise ApiError("invalid_argument", "httpRequest is required (only HTTP tasks exist)")
        port = field(request, "port", int, 0)
        if not 0 < port < 65536:
            raise ApiError("invalid_argument", f"httpRequest.port: {port} is not a TCP port")
        headers = []
        for header in field(request, "headers", list, []):
            if not isinstance(header, dict):
                raise ApiError("invalid_argument", "httpRequest.headers: expected {name, value}")
            headers.append((field(header, "name", str, ""), field(header, "value", str, "")))
        encoded = field(request, "body", str, "")
        try:  # proto3 JSON readers accept the URL-safe alphabet and missing padding
            body = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_",
                                    validate=True)
        except ValueError:
            raise ApiError("invalid_argument", "httpRequest.body: not base64") from None
        return cls(ModuleCommand.from_json(task.get("module")),
                   field(request, "method", str, "") or "GET",
                   field(request, "path", str, "") or "/", tuple(headers), body, port)
