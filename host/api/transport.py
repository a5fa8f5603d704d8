"""The API over HTTP/1.1 (Connect protocol, JSON bodies)."""

from __future__ import annotations

import errno
import http.server
import json
import socket
import threading
import uuid
from typing import Any

from host.api.errors import ApiError
from host.api.messages import JSONObject
from host.api.methods import Api
from host.requests import RunRequest

SERVICE_PATH = "/timecraft.server.v1.TimecraftService/"
# An idle connection gives its place back after this long.
IDLE_TIMEOUT = 60.0


class _ConnectHandler(http.server.BaseHTTPRequestHandler):
    server: ApiServer  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def do_POST(self) -> None:
        try:
            method = self._method()
            raw = self._body()
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

    def _body(self) -> bytes:
        """The request body, read only when it has a length within the limit."""
        limit = self.server.api.limits.body
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True  # the body is still on the wire
            raise ApiError("invalid_argument", "send the body with a Content-Length", status=411)
        text = self.headers.get("Content-Length") or "0"
        if not (text.isascii() and text.isdigit()):  # no sign, no spaces
            self.close_connection = True
            raise ApiError("invalid_argument", f"Content-Length {text[:40]!r} is not a length")
        # More digits than any limit has: too large, whatever the number.
        length = int(text) if len(text) <= len(str(limit)) else limit + 1
        if length > limit:
            self.close_connection = True
            raise ApiError("resource_exhausted", f"Content-Length {text[:40]} is more than the "
                           f"{limit} bytes this API takes (see --max-api-body)", status=413)
        return self.rfile.read(length) if length else b"{}"

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


class ApiServer:
    """Serves the API on connections handed to it: it listens on no address.

    The guest's connections to 127.0.0.1:7463 come from connect(), one end of
    a socket pair whose other end the socket layer puts behind the guest's
    socket, so no other process, user or guest can reach this API. Each
    connection is served by its own thread.
    """

    def __init__(self, api: Api) -> None:
        self.api = api
        self.max_connections = api.limits.work
        self._connections: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self._closed = False

    def connect(self) -> socket.socket:
        """A new connection to the API (raises ConnectionRefusedError when at its limit)."""
        ours, theirs = socket.socketpair()
        try:
            self.serve(ours)
        except OSError:
            theirs.close()
            raise
        return theirs

    def serve(self, connection: socket.socket) -> None:
        """Serve the API on `connection`, or close it and refuse when at the limit."""
        with self._lock:
            refused = self._closed or len(self._connections) >= self.max_connections
            if not refused:
                self._connections.add(connection)
        if refused:
            connection.close()
            raise ConnectionRefusedError(
                errno.ECONNREFUSED, f"the timecraft API serves at most {self.max_connections} "
                "connections at once")
        threading.Thread(target=self._handle, args=(connection,), name="timecraft-api",
                         daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        try:
            _ConnectHandler(connection, ("guest", 0), self)  # type: ignore[arg-type]
        except OSError:
            pass  # the guest went away mid-request
        finally:
            with self._lock:
                self._connections.discard(connection)
            connection.close()

    def listen_on_loopback(self) -> tuple[str, int]:
        """Also serve on an ephemeral loopback TCP port, and return its address.

        For tests and tools on the host side only: every local process can
        connect to that port, so a guest's own API never does this.
        """
        with self._lock:
            if self._listener is None:
                self._listener = socket.create_server(("127.0.0.1", 0))
                threading.Thread(target=self._accept, args=(self._listener,),
                                 name="timecraft-api-listener", daemon=True).start()
            host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                self.serve(connection)
            except ConnectionRefusedError:
                pass

    def close(self) -> None:
        """Stop serving (open connections are cut) and stop the guest's processes."""
        with self._lock:
            self._closed = True
            connections = list(self._connections)
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.api.close()


def start_api(request: RunRequest) -> ApiServer:
    """The API server of the guest `request` runs, ready for connect()."""
    return ApiServer(Api(request, request.process_id or str(uuid.uuid4())))
