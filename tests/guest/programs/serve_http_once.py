"""Serve one HTTP GET on 127.0.0.1 at a free port, then exit.

The first line printed is the port, so whoever started this knows where to
connect.
"""

import http.server
import sys

WAIT_SECONDS = 30


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"python.wasm served {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # stderr is for errors only


class OneShotServer(http.server.HTTPServer):
    timeout = WAIT_SECONDS

    def handle_timeout(self) -> None:
        sys.exit(f"no request within {WAIT_SECONDS} s")


with OneShotServer(("127.0.0.1", 0), Handler) as server:
    print(server.server_address[1], flush=True)
    server.handle_request()
