"""A worker for HTTP tasks: `python sdk_worker.py PORT`.

It echoes what it received; the path /exit makes it die mid-request, the way
a crashing worker does.
"""

import json
import os
import sys

from timecraft import HTTPRequest, HTTPResponse, serve_forever


def handle(request: HTTPRequest) -> HTTPResponse:
    if request.path == "/exit":
        print("worker: exiting on request", file=sys.stderr, flush=True)
        os._exit(3)
    echo = {"method": request.method, "path": request.path, "port": request.port,
            "body": request.body.decode(), "greeting": request.headers.get("X-Greeting", "")}
    return HTTPResponse(200, {"Content-Type": "application/json", "X-Worker": "sdk"},
                        json.dumps(echo).encode())


serve_forever(("0.0.0.0", int(sys.argv[1])), handle)
