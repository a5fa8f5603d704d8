from __future__ import annotations

import http.server
import threading
from typing import Iterator

import pytest
import requests

from served import served
from timecraft import HTTPRequest, HTTPResponse, make_server, serve_forever
from timecraft.worker import WorkerServer

received: list[HTTPRequest] = []


def echo(request: HTTPRequest) -> HTTPResponse:
    received.append(request)
    if request.path == "/stop":
        raise SystemExit  # ends serve_forever, as a worker's exit would
    return HTTPResponse(201, {"X-Echo": request.method, "Content-Length": "999"},
                        request.body or b"empty")


@pytest.fixture
def worker_url() -> Iterator[str]:
    with served(make_server(("127.0.0.1", 0), echo)) as address:
        yield f"http://{address}"


def test_a_function_handler_gets_the_request_and_answers(worker_url: str) -> None:
    received.clear()
    reply = requests.post(f"{worker_url}/jobs?x=1", data=b"work", headers={"X-A": "1"})
    assert (reply.status_code, reply.headers["X-Echo"], reply.content) == (201, "POST", b"work")
    request = received[-1]
    assert (request.method, request.path, request.body) == ("POST", "/jobs?x=1", b"work")
    assert request.headers["X-A"] == "1" and request.port == int(worker_url.rsplit(":", 1)[1])


def test_head_answers_without_a_body(worker_url: str) -> None:
    reply = requests.head(worker_url)
    assert reply.status_code == 201 and reply.content == b""
    assert requests.get(worker_url).content == b"empty"


def test_a_port_alone_listens_on_every_address() -> None:
    with make_server(0, echo) as server:
        assert isinstance(server, WorkerServer) and server.server_address[0] == "0.0.0.0"


def test_a_handler_class_is_used_as_is() -> None:
    with make_server(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler) as server:
        assert server.RequestHandlerClass is http.server.SimpleHTTPRequestHandler


def test_serve_forever_serves_until_the_worker_exits() -> None:
    with make_server(("127.0.0.1", 0), echo) as probe:
        port = probe.server_address[1]
    stopped = threading.Event()

    def work() -> None:
        try:
            serve_forever(("127.0.0.1", port), echo)
        except SystemExit:
            stopped.set()

    thread = threading.Thread(target=work)
    thread.start()
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/stop", timeout=1)
        except requests.ConnectionError:
            threading.Event().wait(0.05)
        else:
            break
    thread.join(timeout=10)
    assert stopped.is_set()
