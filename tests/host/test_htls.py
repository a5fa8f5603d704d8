"""Host TLS offload against a local TLS server whose CA is made at test time."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from typing import Iterator

import pytest

from wasm_guests import SocketGuest
from host import wasi_abi as abi
from host.wasi_sockets import HTLS_LEVEL, HTLS_SERVER_NAME

trustme = pytest.importorskip("trustme")
INET, STREAM = 1, 2


class EchoTlsServer:
    """Accepts TLS connections on 127.0.0.1 and echoes one message back on each."""

    def __init__(self, certificate_authority: "trustme.CA") -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate_authority.issue_cert("localhost").configure_cert(self.context)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(connection, server_side=True) as tls:
                    data = tls.recv(1024)
                    tls.sendall(b"echo:" + data)
            except (ssl.SSLError, OSError):
                pass  # rejected handshakes are the point of some tests

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def authority() -> "trustme.CA":
    return trustme.CA()


@pytest.fixture
def server(authority: "trustme.CA") -> Iterator[EchoTlsServer]:
    instance = EchoTlsServer(authority)
    yield instance
    instance.close()


@pytest.fixture
def ca_file(authority: "trustme.CA", tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return str(path)


def _connected(guest: SocketGuest, port: int) -> int:
    fd = guest.socket(INET, STREAM)
    assert guest.call("sock_connect", fd, guest.address("127.0.0.1"), port) == 0
    return fd


def test_trusted_certificate(server: EchoTlsServer, ca_file: str) -> None:
    guest = SocketGuest([], ca_file=ca_file)
    fd = _connected(guest, server.port)
    assert guest.setsockopt(fd, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost") == 0
    assert guest.send(fd, b"hello") == (0, 5)
    assert guest.recv(fd) == (0, b"echo:hello")
    assert guest.recv(fd) == (0, b"")
    guest.close()


def test_ca_file_from_environment(server: EchoTlsServer, ca_file: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMECRAFT_PYTHON_CA_FILE", ca_file)
    guest = SocketGuest([])
    fd = _connected(guest, server.port)
    assert guest.setsockopt(fd, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost\0") == 0
    assert guest.send(fd, b"x") == (0, 1)
    assert guest.recv(fd) == (0, b"echo:x")
    guest.close()


def test_untrusted_certificate_is_rejected(server: EchoTlsServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIMECRAFT_PYTHON_CA_FILE", raising=False)
    guest = SocketGuest([])
    fd = _connected(guest, server.port)
    assert guest.setsockopt(fd, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost") == abi.EACCES
    assert guest.send(fd, b"plaintext?")[0] == abi.EACCES  # never falls back to plaintext
    assert guest.recv(fd)[0] == abi.EACCES
    guest.close()


def test_wrong_server_name_is_rejected(server: EchoTlsServer, ca_file: str) -> None:
    guest = SocketGuest([], ca_file=ca_file)
    fd = _connected(guest, server.port)
    assert guest.setsockopt(fd, HTLS_LEVEL, HTLS_SERVER_NAME, b"example.org") == abi.EACCES
    guest.close()


def test_option_refused_after_plaintext(server: EchoTlsServer, ca_file: str) -> None:
    guest = SocketGuest([], ca_file=ca_file)
    fd = _connected(guest, server.port)
    assert guest.send(fd, b"x")[0] == 0
    assert guest.setsockopt(fd, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost") == abi.EINVAL
    guest.close()


def test_nonblocking_handshake_polls_until_ready(server: EchoTlsServer, ca_file: str) -> None:
    guest = SocketGuest([], ca_file=ca_file)
    fd = guest.socket(INET, STREAM)
    guest.set_nonblocking(fd)
    status = guest.call("sock_connect", fd, guest.address("127.0.0.1"), server.port)
    assert status in (0, abi.EINPROGRESS)
    assert guest.poll(fd, abi.EVENTTYPE_FD_WRITE) == [abi.EVENTTYPE_FD_WRITE]
    assert guest.setsockopt(fd, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost") == 0
    assert guest.poll(fd, abi.EVENTTYPE_FD_WRITE) == [abi.EVENTTYPE_FD_WRITE]
    assert guest.send(fd, b"async") == (0, 5)
    assert guest.poll(fd, abi.EVENTTYPE_FD_READ) == [abi.EVENTTYPE_FD_READ]
    assert guest.recv(fd) == (0, b"echo:async")
    guest.close()


def test_nonblocking_handshake_failure_surfaces(server: EchoTlsServer, ca_file: str) -> None:
    guest = SocketGuest([], ca_file=ca_file)
    fd = guest.socket(INET, STREAM)
    guest.set_nonblocking(fd)
    guest.call("sock_connect", fd, guest.address("127.0.0.1"), server.port)
    assert guest.poll(fd, abi.EVENTTYPE_FD_WRITE) == [abi.EVENTTYPE_FD_WRITE]
    # On loopback the server may answer before setsockopt returns, which then
    # already reports the failure; otherwise polling finishes the handshake.
    status = guest.setsockopt(fd, HTLS_LEVEL, HTLS_SERVER_NAME, b"wrong.example")
    assert status in (0, abi.EACCES)
    assert guest.poll(fd, abi.EVENTTYPE_FD_READ) == [abi.EVENTTYPE_FD_READ]
    assert guest.recv(fd)[0] == abi.EACCES
    guest.close()


def test_htls_needs_a_tcp_socket() -> None:
    guest = SocketGuest([])
    fd = guest.socket(INET, 1)
    assert guest.setsockopt(fd, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost") == abi.EINVAL
    assert guest.setsockopt(fd, HTLS_LEVEL, 2, b"x") == abi.ENOPROTOOPT
    guest.close()
