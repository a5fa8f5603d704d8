"""Host TLS offload (hTLS) as timecraft does it (spec §8), against local TLS servers.

The servers listen on 127.0.0.2, which the guest reaches through the host
dialer, with certificates from a CA made at test time. Each test names the
spec rows it checks.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from host import wasi_abi as abi
from host.htls import client_context
from host.wasi_sockets import HTLS_LEVEL, HTLS_SERVER_NAME
from wasm_guests import SocketGuest

INET, DGRAM, STREAM = 1, 1, 2
HOST_SIDE = "127.0.0.2"


class TlsEchoServer:
    """Answers each TLS connection's first message with "echo:" + it; records what it saw."""

    def __init__(self, authority: trustme.CA, *names: str, tls: bool = True) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert(*(names or ("localhost",))).configure_cert(self.context)
        self.context.set_servername_callback(self._note_name)
        self.tls = tls
        self.listener = socket.create_server((HOST_SIDE, 0))
        self.port = self.listener.getsockname()[1]
        self.server_names: list[str | None] = []
        self.alpn: list[str | None] = []
        self.versions: list[str | None] = []
        self.plaintext: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _note_name(self, _sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext
                   ) -> None:
        self.server_names.append(name)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        connection.settimeout(10)
        try:
            if not self.tls:
                self.plaintext.append(connection.recv(1024))
                connection.sendall(b"HTTP/1.0 400 not TLS\r\n\r\n")
                return
            with self.context.wrap_socket(connection, server_side=True) as tls:
                self.alpn.append(tls.selected_alpn_protocol())
                self.versions.append(tls.version())
                data = tls.recv(1024)
                tls.sendall(b"echo:" + data)
        except (ssl.SSLError, OSError):
            pass  # rejected handshakes are the point of some tests
        finally:
            connection.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server(authority: trustme.CA) -> Iterator[TlsEchoServer]:
    instance = TlsEchoServer(authority)
    yield instance
    instance.close()


@pytest.fixture
def ca_file(authority: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(autouse=True)
def no_trust_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "TIMECRAFT_PYTHON_CA_FILE"):
        monkeypatch.delenv(name, raising=False)


def dialed(guest: SocketGuest, port: int, nonblocking: bool = False) -> int:
    fd = guest.socket(INET, STREAM)
    if nonblocking:
        guest.set_nonblocking(fd)
        assert guest.connect(fd, HOST_SIDE, port) == abi.EINPROGRESS
    else:
        assert guest.connect(fd, HOST_SIDE, port) == 0
    return fd


def exchange(guest: SocketGuest, fd: int, name: bytes, message: bytes = b"hello"
             ) -> tuple[int, bytes]:
    assert guest.setsockopt(fd, HTLS_LEVEL, HTLS_SERVER_NAME, name) == 0
    assert guest.send(fd, message) == (0, len(message))
    return guest.recv(fd)


def test_s8_trusted_certificate_tls13_sni_no_alpn(server: TlsEchoServer, ca_file: str) -> None:
    """§8: verified against the trust store; TLS 1.3, SNI = the name, no ALPN offered."""
    guest = SocketGuest([], ca_file=ca_file)
    fd = dialed(guest, server.port)
    assert exchange(guest, fd, b"localhost") == (0, b"echo:hello")
    assert guest.recv(fd) == (0, b"")
    assert (server.server_names, server.alpn, server.versions) == \
        (["localhost"], [None], ["TLSv1.3"])
    guest.close()


def test_s8_an_ip_literal_name_sends_no_sni(authority: trustme.CA, ca_file: str) -> None:
    """§8: for an IP-literal name no SNI is sent and the certificate's IP SAN is checked."""
    server = TlsEchoServer(authority, HOST_SIDE)
    guest = SocketGuest([], ca_file=ca_file)
    try:
        assert exchange(guest, dialed(guest, server.port), HOST_SIDE.encode()) \
            == (0, b"echo:hello")
        assert server.server_names == [None]
    finally:
        guest.close()
        server.close()


def test_s8_ssl_cert_file_is_honoured(server: TlsEchoServer, ca_file: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """§8 certificate roots: SSL_CERT_FILE in the host's environment replaces the bundle."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    guest = SocketGuest([])
    assert exchange(guest, dialed(guest, server.port), b"localhost") == (0, b"echo:hello")
    guest.close()


def test_s8_ssl_cert_dir_loads_every_file(server: TlsEchoServer, ca_file: str,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    """§8 certificate roots: SSL_CERT_DIR (colon-separated) is read file by file, like Go."""
    directory = tmp_path / "certs"
    directory.mkdir()
    (directory / "ca.pem").write_text(Path(ca_file).read_text())  # not a hash name
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent")
    monkeypatch.setenv("SSL_CERT_DIR", f"{tmp_path / 'missing'}:{directory}")
    guest = SocketGuest([])
    assert exchange(guest, dialed(guest, server.port), b"localhost") == (0, b"echo:hello")
    guest.close()


def test_s8_another_ca_in_ssl_cert_file_is_not_trusted(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """§8 certificate roots: SSL_CERT_FILE naming another CA gives an unknown authority."""
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    context = client_context(None)
    assert len(context.get_ca_certs()) == 1


def test_the_extra_ca_file_from_the_environment(server: TlsEchoServer, ca_file: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in host's own addition: TIMECRAFT_PYTHON_CA_FILE (or --ca-file) adds a CA."""
    monkeypatch.setenv("TIMECRAFT_PYTHON_CA_FILE", ca_file)
    guest = SocketGuest([])
    assert exchange(guest, dialed(guest, server.port), b"localhost") == (0, b"echo:hello")
    guest.close()


@pytest.mark.parametrize(("name", "errno"), [
    (b"localhost", abi.EACCES),  # untrusted CA (no CA file given)
    (b"wrong.test", abi.EACCES),
    (b"localhost\0", abi.EIO),  # a C string's NUL: no server accepts that name
    (b"", abi.EIO),
    (b"\xff", abi.EACCES),  # issue 8: undecodable names give an errno, never a crash
])
def test_s8_failures_give_an_errno_and_say_why(server: TlsEchoServer, ca_file: str,
                                               name: bytes, errno: int,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """§8 failures: timecraft ends the run; ours gives the next I/O an errno, never plaintext."""
    guest = SocketGuest([], ca_file=None if name == b"localhost" else ca_file)
    fd = dialed(guest, server.port)
    assert guest.setsockopt(fd, HTLS_LEVEL, HTLS_SERVER_NAME, name) == 0
    status, data = guest.recv(fd)
    assert (status, data) == (errno, b"")
    assert guest.send(fd, b"plaintext?")[0] == errno  # every later I/O
    assert guest.getsockopt(fd, 0, 2) == (0, errno)
    assert "timecraft ends the whole run here" in capsys.readouterr().err
    assert server.plaintext == []
    guest.close()


def test_s8_a_plaintext_peer_is_a_failure(authority: trustme.CA, ca_file: str) -> None:
    """§8 failures: a peer that does not speak TLS ("first record does not look like TLS")."""
    server = TlsEchoServer(authority, tls=False)
    guest = SocketGuest([], ca_file=ca_file)
    try:
        fd = dialed(guest, server.port)
        assert guest.setsockopt(fd, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost") == 0
        assert guest.recv(fd)[0] == abi.EIO
        assert not any(b"hello" in data for data in server.plaintext)
    finally:
        guest.close()
        server.close()


def test_s8_when_the_option_is_refused(server: TlsEchoServer, ca_file: str) -> None:
    """§8: EINVAL before connect, after a send, on a guest-internal or listening socket, twice."""
    guest = SocketGuest([], ca_file=ca_file)
    before = guest.socket(INET, STREAM)
    assert guest.setsockopt(before, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost") == abi.EINVAL
    after_send = dialed(guest, server.port)
    assert guest.send(after_send, b"x")[0] == 0
    assert guest.setsockopt(after_send, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost") \
        == abi.EINVAL
    listener, port = guest.listener()
    assert guest.setsockopt(listener, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost") == abi.EINVAL
    internal = guest.socket(INET, STREAM)
    assert guest.connect(internal, "127.0.0.1", port) == 0
    assert guest.setsockopt(internal, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost") == abi.EINVAL
    twice = dialed(guest, server.port)
    assert guest.setsockopt(twice, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost") == 0
    assert guest.setsockopt(twice, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost") == abi.EINVAL
    assert guest.getsockopt(twice, HTLS_LEVEL, HTLS_SERVER_NAME)[0] == abi.EINVAL
    assert guest.setsockopt(twice, HTLS_LEVEL, 2, b"x") == abi.EINVAL
    assert guest.setsockopt(guest.socket(INET, DGRAM), HTLS_LEVEL, HTLS_SERVER_NAME,
                            b"localhost") == abi.ENOTSUP
    guest.close()


def test_s8_poll_does_not_close_the_window(server: TlsEchoServer, ca_file: str) -> None:
    """§8: the option is still accepted after a poll."""
    guest = SocketGuest([], ca_file=ca_file)
    fd = dialed(guest, server.port)
    assert abi.EVENTTYPE_FD_WRITE in guest.poll(fd, abi.EVENTTYPE_FD_WRITE, timeout_ns=0)
    assert exchange(guest, fd, b"localhost") == (0, b"echo:hello")
    guest.close()


def test_s8_nonblocking(server: TlsEchoServer, ca_file: str) -> None:
    """§8 non-blocking: EINPROGRESS, option 0, writable at once, SO_ERROR 0, send at once,
    recv EAGAIN until the decrypted data arrives, then a READ poll fires."""
    guest = SocketGuest([], ca_file=ca_file)
    fd = dialed(guest, server.port, nonblocking=True)
    assert guest.setsockopt(fd, HTLS_LEVEL, HTLS_SERVER_NAME, b"localhost") == 0
    assert abi.EVENTTYPE_FD_WRITE in guest.poll(fd, abi.EVENTTYPE_FD_WRITE, timeout_ns=0)
    assert guest.getsockopt(fd, 0, 2) == (0, 0)
    assert guest.recv(fd)[0] == abi.EAGAIN  # never EINPROGRESS during the handshake
    assert guest.send(fd, b"async") == (0, 5)
    assert guest.poll(fd, abi.EVENTTYPE_FD_READ) == [abi.EVENTTYPE_FD_READ]
    assert guest.recv(fd) == (0, b"echo:async")
    guest.close()


def test_s8_without_the_option_the_tunnel_carries_plaintext(authority: trustme.CA) -> None:
    """§8: first I/O without the option: the only plaintext mode."""
    server = TlsEchoServer(authority, tls=False)
    guest = SocketGuest([])
    try:
        fd = dialed(guest, server.port)
        assert guest.send(fd, b"GET / HTTP/1.0\r\n\r\n") == (0, 18)
        assert guest.recv(fd)[1].startswith(b"HTTP/1.0 400")
        time.sleep(0.05)
        assert server.plaintext == [b"GET / HTTP/1.0\r\n\r\n"]
    finally:
        guest.close()
        server.close()
