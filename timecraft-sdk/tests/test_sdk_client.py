from __future__ import annotations

import http.server
from pathlib import Path
from typing import Iterator

import pytest

from host.api import VERSION, ApiServer
from served import served
from timecraft import ADDRESS_VARIABLE, Client, ModuleSpec, TimecraftError, make_server


def test_version_and_process_id(client: Client, server: ApiServer) -> None:
    assert client.version() == VERSION
    assert client.process_id() == server.api.process_id


def test_the_address_comes_from_the_environment(server: ApiServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    host, port = server.listen_on_loopback()
    monkeypatch.setenv(ADDRESS_VARIABLE, f"{host}:{port}")
    with Client() as client:
        assert client.url == f"http://{host}:{port}"
        assert client.version() == VERSION


def test_the_default_address_is_timecrafts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ADDRESS_VARIABLE, raising=False)
    assert Client().url == "http://127.0.0.1:7463"
    assert Client("http://api.local:80/").url == "http://api.local:80"


@pytest.mark.parametrize("call", [
    lambda client: client.lookup_tasks(["no-such-task"]),
    lambda client: client.discard_tasks(["no-such-task"]),
    lambda client: client.kill("no-such-process"),
])
def test_unknown_ids_are_not_found(client: Client, call) -> None:
    with pytest.raises(TimecraftError) as caught:
        call(client)
    error = caught.value
    assert (error.status, error.code) == (404, "not_found")
    assert "no-such" in error.message and error.method in str(error)


def test_invalid_arguments_name_the_method(client: Client, tmp_path: Path) -> None:
    with pytest.raises(TimecraftError) as caught:
        client.poll_tasks(batch_size=0, timeout_ns=0)
    assert (caught.value.method, caught.value.status, caught.value.code) == (
        "PollTasks", 400, "invalid_argument")
    with pytest.raises(TimecraftError, match="not a file in a directory granted"):
        client.spawn(ModuleSpec("/nowhere/module.wasm"))


def test_an_empty_poll_returns_after_its_timeout(client: Client) -> None:
    assert client.poll_tasks(batch_size=5, timeout_ns=50_000_000) == []


class _Failing(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = b"upstream exploded" if self.path.endswith("/Version") else b"[1]"
        self.send_response(502 if self.path.endswith("/Version") else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def broken_api() -> Iterator[str]:
    """A server that answers like a broken proxy, not like the API."""
    with served(make_server(("127.0.0.1", 0), _Failing)) as address:
        yield address


def test_a_non_json_error_keeps_the_status_and_text(broken_api: str) -> None:
    with pytest.raises(TimecraftError) as caught:
        Client(broken_api).version()
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        502, "unknown", "upstream exploded")


def test_a_reply_that_is_not_an_object_is_an_error(broken_api: str) -> None:
    with pytest.raises(TimecraftError) as caught:
        Client(broken_api).process_id()
    assert caught.value.code == "unknown" and caught.value.message == "[1]"


def test_no_server_is_unavailable(broken_api: str) -> None:
    with make_server(("127.0.0.1", 0), _Failing) as closed:
        port = closed.server_address[1]
    with pytest.raises(TimecraftError) as caught:
        Client(f"127.0.0.1:{port}", timeout=5).version()
    assert caught.value.status is None and caught.value.code == "unavailable"
