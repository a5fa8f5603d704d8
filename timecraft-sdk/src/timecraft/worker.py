"""Workers: HTTP servers that answer the requests of HTTP tasks.

python.wasm has no threads, so the server handles one request at a time; the
runtime queues the others on the listening socket.
"""

from __future__ import annotations

import http.server
import socketserver
from typing import Callable

from timecraft.messages import HTTPRequest, HTTPResponse

RequestHandler = Callable[[HTTPRequest], HTTPResponse]
Handler = RequestHandler | type[http.server.BaseHTTPRequestHandler]
# The runtime delivers the tasks of a worker to the address it was given, so a
# worker listens on every address of its own by default.
ANY_ADDRESS = "0.0.0.0"


class WorkerServer(http.server.HTTPServer):
    """http.server's HTTPServer without its reverse DNS lookup at bind time.

    HTTPServer names itself with socket.getfqdn(), which needs gethostbyaddr:
    WASI has none, so python.wasm fails there. The bound address serves as
    the name instead.
    """

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


def _adapter(handle: RequestHandler) -> type[http.server.BaseHTTPRequestHandler]:
    """An http.server handler class that calls `handle` for every method."""

    class FunctionHandler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = HTTPRequest(
                port=int(self.server.server_address[1]),  # type: ignore[index]
                method=self.command,
                path=self.path,
                headers={name: ", ".join(self.headers.get_all(name, []))
                         for name in dict.fromkeys(self.headers.keys())},
                body=self.rfile.read(length) if length else b"",
            )
            response = handle(request)
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            # One request per connection: the server is single-threaded, so an
            # idle kept-alive connection would keep every other client waiting.
            self.send_header("Connection", "close")
            self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    return FunctionHandler


def make_server(address: tuple[str, int] | int, handler: Handler) -> WorkerServer:
    """An HTTP server bound to `address` (a port alone means every address).

    `handler` is either a function from HTTPRequest to HTTPResponse or an
    http.server request handler class.
    """
    if isinstance(address, int):
        address = (ANY_ADDRESS, address)
    if isinstance(handler, type) and issubclass(handler, http.server.BaseHTTPRequestHandler):
        handler_class = handler
    else:
        handler_class = _adapter(handler)  # type: ignore[arg-type]
    return WorkerServer(address, handler_class)


def serve_forever(address: tuple[str, int] | int, handler: Handler) -> None:
    """Run a worker: serve HTTP requests on `address` until the process is stopped."""
    with make_server(address, handler) as server:
        server.serve_forever()
