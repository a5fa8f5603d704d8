"""The API over HTTP/1.1 (Connect protocol, JSON bodies)."""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from typing import Any

from host.api.errors import ApiError
from host.api.messages import JSONObject
from host.api.methods import Api
from host.requests import RunRequest

SERVICE_PATH = "/timecraft.server.v1.TimecraftService/"


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
