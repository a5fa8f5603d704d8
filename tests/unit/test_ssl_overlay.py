"""Unit tests of the guest's `ssl` replacement (python/Lib/ssl.py) on host CPython.

The module is loaded from its file under another name, so the real `ssl`
stays in place for pytest and everything else in this process.
"""

from __future__ import annotations

import errno
import importlib.util
import socket
import ssl as real_ssl
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterator

import pytest

OVERLAY_PATH = Path(__file__).resolve().parents[2] / "python" / "Lib" / "ssl.py"
HTLS_LEVEL = 0x74696D65


def _load_overlay() -> ModuleType:
    spec = importlib.util.spec_from_file_location("htls_ssl_overlay", OVERLAY_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hssl() -> ModuleType:
    return _load_overlay()


class Recorder:
    """Stands in for the host's answer to the hTLS setsockopt."""

    def __init__(self, error: int | None = None) -> None:
        self.calls: list[tuple[int, int, bytes]] = []
        self.error = error

    def __call__(self, sock: socket.socket, level: int, option: int, value: bytes) -> None:
        self.calls.append((level, option, bytes(value)))
        if self.error is not None:
            raise OSError(self.error, errno.errorcode[self.error])


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected stream pair: the client end gets wrapped, the peer sees its bytes."""
    client, peer = socket.socketpair()
    yield client, peer
    client.close()
    peer.close()


def _record_setsockopt(hssl: ModuleType, monkeypatch: pytest.MonkeyPatch,
                       error: int | None = None) -> Recorder:
    recorder = Recorder(error)
    # A plain function, so that it binds to the socket like the method it replaces.
    monkeypatch.setattr(hssl.SSLSocket, "setsockopt",
                        lambda sock, level, option, value: recorder(sock, level, option, value))
    return recorder


# -- loading ---------------------------------------------------------------------------

def test_loads_without_shadowing_the_real_ssl(hssl: ModuleType) -> None:
    assert sys.modules["ssl"] is real_ssl
    assert hssl.__name__ == "htls_ssl_overlay"


def test_does_not_need_the_ssl_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "_ssl", None)  # import _ssl now raises ImportError
    assert _load_overlay().SSLContext is not None


# -- constants and types -------------------------------------------------------------

def test_constants_match_cpython_values(hssl: ModuleType) -> None:
    names = ["PROTOCOL_TLS", "PROTOCOL_TLS_CLIENT", "PROTOCOL_TLS_SERVER", "CERT_NONE",
             "CERT_OPTIONAL", "CERT_REQUIRED", "OP_NO_SSLv2", "OP_NO_SSLv3", "OP_NO_TLSv1",
             "OP_NO_TLSv1_1", "OP_NO_TLSv1_2", "OP_NO_TLSv1_3", "OP_NO_COMPRESSION",
             "OP_NO_TICKET", "OP_ALL", "VERIFY_X509_STRICT", "VERIFY_X509_PARTIAL_CHAIN",
             "VERIFY_X509_TRUSTED_FIRST", "SSL_ERROR_SSL", "SSL_ERROR_EOF"]
    for name in names:
        assert int(getattr(hssl, name)) == int(getattr(real_ssl, name)), name
    assert hssl.PROTOCOL_SSLv23 == hssl.PROTOCOL_TLS
    for version in ("TLSv1_2", "TLSv1_3", "MINIMUM_SUPPORTED", "MAXIMUM_SUPPORTED"):
        assert int(hssl.TLSVersion[version]) == int(real_ssl.TLSVersion[version])
    assert isinstance(hssl.CERT_REQUIRED, hssl.VerifyMode)
    assert isinstance(hssl.OP_NO_COMPRESSION, hssl.Options)


def test_feature_flags_describe_host_tls(hssl: ModuleType) -> None:
    assert hssl.HAS_SNI is True
    assert hssl.HAS_ALPN is False
    assert hssl.HAS_NEVER_CHECK_COMMON_NAME is True
    assert hssl.HAS_TLSv1_2 and hssl.HAS_TLSv1_3 and not hssl.HAS_TLSv1
    assert "hTLS" in hssl.OPENSSL_VERSION and "host" in hssl.OPENSSL_VERSION
    # urllib3 2.x trusts HAS_NEVER_CHECK_COMMON_NAME only for these, see the module doc.
    assert hssl.OPENSSL_VERSION.startswith("OpenSSL ")
    assert hssl.OPENSSL_VERSION_INFO >= (1, 1, 1)
    assert hssl.OPENSSL_VERSION_NUMBER >> 28 == hssl.OPENSSL_VERSION_INFO[0]


def test_purpose_matches_cpython(hssl: ModuleType) -> None:
    for name in ("SERVER_AUTH", "CLIENT_AUTH"):
        ours, theirs = hssl.Purpose[name], real_ssl.Purpose[name]
        assert (ours.nid, ours.shortname, ours.oid) == (theirs.nid, theirs.shortname, theirs.oid)


def test_names_http_client_and_urllib3_import_exist(hssl: ModuleType) -> None:
    wanted = ["CERT_REQUIRED", "HAS_NEVER_CHECK_COMMON_NAME", "OP_NO_COMPRESSION",
              "OP_NO_TICKET", "OPENSSL_VERSION", "PROTOCOL_TLS", "PROTOCOL_TLS_CLIENT",
              "VERIFY_X509_PARTIAL_CHAIN", "VERIFY_X509_STRICT", "OP_NO_SSLv2", "OP_NO_SSLv3",
              "SSLContext", "TLSVersion", "SSLError", "CertificateError", "SSLSocket",
              "create_default_context", "_create_default_https_context",
              "_create_unverified_context", "DER_cert_to_PEM_cert", "PEM_cert_to_DER_cert",
              "get_default_verify_paths"]
    assert [name for name in wanted if not hasattr(hssl, name)] == []


def test_exception_hierarchy(hssl: ModuleType) -> None:
    assert issubclass(hssl.SSLError, OSError)
    for name in ("SSLZeroReturnError", "SSLWantReadError", "SSLWantWriteError",
                 "SSLSyscallError", "SSLEOFError", "SSLCertVerificationError"):
        assert issubclass(getattr(hssl, name), hssl.SSLError), name
    assert issubclass(hssl.SSLCertVerificationError, ValueError)
    assert hssl.CertificateError is hssl.SSLCertVerificationError
    assert issubclass(hssl.SSLUnsupportedError, hssl.SSLError)
    assert issubclass(hssl.SSLUnsupportedError, NotImplementedError)
    assert str(hssl.SSLError(1, "[SSL] message")) == "[SSL] message"


def test_pem_der_round_trip_matches_cpython(hssl: ModuleType) -> None:
    der = bytes(range(256)) * 3
    pem = hssl.DER_cert_to_PEM_cert(der)
    assert pem == real_ssl.DER_cert_to_PEM_cert(der)
    assert hssl.PEM_cert_to_DER_cert(pem) == der
    with pytest.raises(ValueError):
        hssl.PEM_cert_to_DER_cert("not a certificate")


def test_default_verify_paths_point_nowhere(hssl: ModuleType) -> None:
    paths = hssl.get_default_verify_paths()
    assert paths._fields == real_ssl.get_default_verify_paths()._fields
    assert paths.cafile is None and paths.capath is None


# -- context ---------------------------------------------------------------------------

def test_create_default_context_defaults(hssl: ModuleType) -> None:
    context = hssl.create_default_context()
    assert context.protocol == hssl.PROTOCOL_TLS_CLIENT
    assert context.verify_mode == hssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version == hssl.TLSVersion.TLSv1_2
    assert context.maximum_version == hssl.TLSVersion.MAXIMUM_SUPPORTED
    assert context.options & hssl.OP_NO_SSLv3 and context.options & hssl.OP_NO_COMPRESSION
    assert context.post_handshake_auth is None
    assert context.hostname_checks_common_name is False
    assert hssl._create_default_https_context is hssl.create_default_context


def test_context_defaults_follow_protocol(hssl: ModuleType) -> None:
    assert hssl.SSLContext().protocol == hssl.PROTOCOL_TLS_CLIENT
    generic = hssl.SSLContext(hssl.PROTOCOL_TLS)
    assert generic.verify_mode == hssl.CERT_NONE and generic.check_hostname is False
    with pytest.raises(ValueError):
        hssl.SSLContext(99)


def test_check_hostname_and_verify_mode_interlock(hssl: ModuleType) -> None:
    context = hssl.create_default_context()
    with pytest.raises(ValueError, match="check_hostname"):
        context.verify_mode = hssl.CERT_NONE
    context.check_hostname = False
    context.verify_mode = hssl.CERT_NONE
    context.check_hostname = True
    assert context.verify_mode == hssl.CERT_REQUIRED


def test_settings_the_host_satisfies_are_accepted(hssl: ModuleType) -> None:
    # What urllib3's create_urllib3_context and http.client do.
    context = hssl.SSLContext(hssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = hssl.TLSVersion.TLSv1_2
    context.maximum_version = hssl.TLSVersion.MAXIMUM_SUPPORTED
    context.options |= hssl.OP_NO_SSLv2 | hssl.OP_NO_SSLv3 | hssl.OP_NO_COMPRESSION \
        | hssl.OP_NO_TICKET | hssl.OP_NO_TLSv1 | hssl.OP_NO_TLSv1_1
    context.verify_flags |= hssl.VERIFY_X509_PARTIAL_CHAIN
    context.hostname_checks_common_name = False
    context.post_handshake_auth = False
    context.verify_mode = hssl.CERT_OPTIONAL  # looser; the host still requires a valid chain
    context.load_default_certs()
    context.set_default_verify_paths()
    context.load_verify_locations(cafile="/nonexistent/ca-bundle.pem")
    context.set_alpn_protocols(["h2", "http/1.1"])
    assert context.options & hssl.OP_NO_TICKET


@pytest.mark.parametrize("change", [
    lambda c, m: setattr(c, "minimum_version", m.TLSVersion.TLSv1_3),
    lambda c, m: setattr(c, "maximum_version", m.TLSVersion.TLSv1_2),
    lambda c, m: setattr(c, "options", c.options | m.OP_NO_TLSv1_2),
    lambda c, m: setattr(c, "options", c.options | m.OP_NO_TLSv1_3),
    lambda c, m: setattr(c, "verify_flags", m.VerifyFlags.VERIFY_CRL_CHECK_LEAF),
    lambda c, m: setattr(c, "verify_flags", m.VERIFY_X509_STRICT),
    lambda c, m: setattr(c, "hostname_checks_common_name", True),
    lambda c, m: setattr(c, "post_handshake_auth", True),
    lambda c, m: c.load_cert_chain("client.pem"),
    lambda c, m: c.set_ciphers("ECDHE+AESGCM"),
    lambda c, m: c.wrap_bio(None, None, server_hostname="example.com"),
], ids=["min-tls13", "max-tls12", "no-tls12", "no-tls13", "crl", "x509-strict",
        "common-name", "pha", "client-cert", "ciphers", "wrap-bio"])
def test_unsupported_settings_raise_clearly(hssl: ModuleType, change) -> None:
    context = hssl.create_default_context()
    with pytest.raises(hssl.SSLUnsupportedError, match="hTLS .* does not support"):
        change(context, hssl)


def test_server_side_contexts_are_refused(hssl: ModuleType) -> None:
    with pytest.raises(NotImplementedError, match="client-only"):
        hssl.SSLContext(hssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(NotImplementedError, match="client-only"):
        hssl.create_default_context(hssl.Purpose.CLIENT_AUTH)
    with pytest.raises(TypeError):
        hssl.create_default_context("serverAuth")


def test_load_verify_locations_validates_arguments(hssl: ModuleType) -> None:
    context = hssl.create_default_context()
    with pytest.raises(TypeError):
        context.load_verify_locations()
    with pytest.raises(TypeError):
        context.load_verify_locations(cafile=42)


def test_alpn_protocols_are_validated(hssl: ModuleType) -> None:
    with pytest.raises(ValueError):
        hssl.create_default_context().set_alpn_protocols([""])


# -- wrapping --------------------------------------------------------------------------

def test_wrap_socket_sets_the_htls_option(hssl: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                          pair: tuple[socket.socket, socket.socket]) -> None:
    recorder = _record_setsockopt(hssl, monkeypatch)
    client, peer = pair
    context = hssl.create_default_context()
    wrapped = context.wrap_socket(client, server_hostname="example.com")
    with wrapped:
        assert recorder.calls == [(HTLS_LEVEL, 1, b"example.com")]
        assert isinstance(wrapped, socket.socket) and isinstance(wrapped, hssl.SSLSocket)
        assert client.fileno() == -1  # the plain object gave up the descriptor
        assert wrapped.server_hostname == "example.com" and wrapped.context is context
        # Plaintext in, plaintext out: the host encrypts on the wire.
        wrapped.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert peer.recv(100) == b"GET / HTTP/1.1\r\n\r\n"
        peer.sendall(b"HTTP/1.1 200 OK\r\n")
        with wrapped.makefile("rb") as reader:
            assert reader.readline() == b"HTTP/1.1 200 OK\r\n"
        peer.sendall(b"body")
        assert wrapped.recv(4, socket.MSG_PEEK) == b"body"
        buffer = bytearray(4)
        assert wrapped.recv_into(buffer) == 4 and buffer == b"body"
        assert (wrapped.version(), wrapped.cipher(), wrapped.selected_alpn_protocol()) == \
            (None, None, None)
        assert wrapped.pending() == 0


def test_wrap_keeps_the_timeout(hssl: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                pair: tuple[socket.socket, socket.socket]) -> None:
    _record_setsockopt(hssl, monkeypatch)
    client, _ = pair
    client.settimeout(2.5)
    with hssl.create_default_context().wrap_socket(client, server_hostname="a.test") as wrapped:
        assert wrapped.gettimeout() == 2.5


def test_international_names_are_sent_as_a_labels(
        hssl: ModuleType, monkeypatch: pytest.MonkeyPatch,
        pair: tuple[socket.socket, socket.socket]) -> None:
    recorder = _record_setsockopt(hssl, monkeypatch)
    hssl.create_default_context().wrap_socket(pair[0], server_hostname="bücher.example").close()
    assert recorder.calls[0][2] == b"xn--bcher-kva.example"


def test_wrap_before_connect_sets_the_option_at_connect(
        hssl: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # timecraft refuses the option (EINVAL) on a socket that is not connected yet.
    recorder = _record_setsockopt(hssl, monkeypatch)
    with socket.create_server(("127.0.0.1", 0)) as server, socket.socket() as plain:
        wrapped = hssl.create_default_context().wrap_socket(plain, server_hostname="a.test")
        with wrapped:
            assert recorder.calls == []
            assert wrapped.fileno() >= 0
            wrapped.connect(server.getsockname())
            assert recorder.calls == [(HTLS_LEVEL, 1, b"a.test")]


def test_a_non_blocking_connect_sets_the_option_while_in_progress(
        hssl: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _record_setsockopt(hssl, monkeypatch)
    with socket.create_server(("127.0.0.1", 0)) as server, socket.socket() as plain:
        wrapped = hssl.create_default_context().wrap_socket(
            plain, server_hostname="a.test", do_handshake_on_connect=False)
        with wrapped:
            wrapped.setblocking(False)
            assert wrapped.connect_ex(server.getsockname()) in (0, errno.EINPROGRESS)
            assert recorder.calls == [(HTLS_LEVEL, 1, b"a.test")]


def test_the_handshake_never_waits_and_sees_an_early_close(
        hssl: ModuleType, monkeypatch: pytest.MonkeyPatch,
        pair: tuple[socket.socket, socket.socket]) -> None:
    # The host reports neither progress nor success: the socket is writable at
    # once and nothing can be read until the server speaks.
    _record_setsockopt(hssl, monkeypatch)
    client, peer = pair
    client.settimeout(5)
    with hssl.create_default_context().wrap_socket(client, server_hostname="a.test") as wrapped:
        wrapped.do_handshake()
        assert wrapped.gettimeout() == 5
        peer.close()
        wrapped.do_handshake()  # end of stream without a pending error: nothing to raise
        assert wrapped.recv(1) == b""


@pytest.mark.parametrize("check_hostname", [True, False])
def test_server_hostname_is_required(hssl: ModuleType, check_hostname: bool,
                                     pair: tuple[socket.socket, socket.socket]) -> None:
    context = hssl.create_default_context()
    context.check_hostname = check_hostname
    with pytest.raises(ValueError, match="server_hostname"):
        context.wrap_socket(pair[0])
    assert pair[0].fileno() >= 0  # refused before taking the socket


@pytest.mark.parametrize("bad_name", ["", ".example", "a\0b"])
def test_bad_server_names_are_refused(hssl: ModuleType, bad_name: str,
                                      pair: tuple[socket.socket, socket.socket]) -> None:
    with pytest.raises(ValueError):
        hssl.create_default_context().wrap_socket(pair[0], server_hostname=bad_name)


@pytest.mark.parametrize("kwargs", [
    {"server_side": True}, {"suppress_ragged_eofs": False}, {"session": object()}])
def test_unsupported_wrap_arguments(hssl: ModuleType, kwargs: dict,
                                    pair: tuple[socket.socket, socket.socket]) -> None:
    with pytest.raises(hssl.SSLUnsupportedError):
        hssl.create_default_context().wrap_socket(pair[0], server_hostname="a.test", **kwargs)


def test_cert_none_is_refused_at_wrap(hssl: ModuleType,
                                      pair: tuple[socket.socket, socket.socket]) -> None:
    context = hssl._create_unverified_context()
    assert context.verify_mode == hssl.CERT_NONE
    with pytest.raises(hssl.SSLUnsupportedError, match="CERT_NONE"):
        context.wrap_socket(pair[0], server_hostname="a.test")


def test_non_stream_and_non_blocking_sockets(hssl: ModuleType,
                                             pair: tuple[socket.socket, socket.socket]) -> None:
    context = hssl.create_default_context()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
        with pytest.raises(NotImplementedError, match="stream"):
            context.wrap_socket(datagram, server_hostname="a.test")
    pair[0].setblocking(False)
    with pytest.raises(ValueError, match="non-blocking"):
        context.wrap_socket(pair[0], server_hostname="a.test")


def test_what_the_host_keeps_raises(hssl: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                    pair: tuple[socket.socket, socket.socket]) -> None:
    _record_setsockopt(hssl, monkeypatch)
    with hssl.create_default_context().wrap_socket(pair[0], server_hostname="a.test") as wrapped:
        for call in (wrapped.getpeercert, lambda: wrapped.getpeercert(True), wrapped.unwrap):
            with pytest.raises(hssl.SSLUnsupportedError):
                call()
        with pytest.raises(NotImplementedError):
            wrapped.dup()
        with pytest.raises(ValueError):
            wrapped.recvfrom(10)
        with pytest.raises(ValueError):
            wrapped.sendto(b"x", ("127.0.0.1", 1))
        with pytest.raises(ValueError, match="flags"):
            wrapped.recv(10, socket.MSG_WAITALL)
    with pytest.raises(TypeError, match="public constructor"):
        hssl.SSLSocket()


# -- errors from the host --------------------------------------------------------------

@pytest.mark.parametrize(("host_errno", "expected"), [
    (errno.EACCES, "SSLCertVerificationError"),
    (errno.EIO, "SSLError"),
    (errno.EPROTO, "SSLError"),
    (errno.ENOPROTOOPT, "SSLUnsupportedError"),
    (errno.EOPNOTSUPP, "SSLUnsupportedError"),
    (errno.EINVAL, "SSLError"),
])
def test_setsockopt_failures_are_ssl_errors(hssl: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                            pair: tuple[socket.socket, socket.socket],
                                            host_errno: int, expected: str) -> None:
    _record_setsockopt(hssl, monkeypatch, error=host_errno)
    client, peer = pair
    with pytest.raises(hssl.SSLError) as caught:
        hssl.create_default_context().wrap_socket(client, server_hostname="a.test")
    assert type(caught.value).__name__ == expected
    assert caught.value.__cause__.errno == host_errno
    assert "hTLS" in str(caught.value)
    peer.settimeout(1)
    assert peer.recv(1) == b""  # the wrapped socket was closed, nothing was sent


def test_certificate_error_says_what_failed(hssl: ModuleType) -> None:
    error = hssl._host_failure(OSError(errno.EACCES, "denied"), "a.test", writing=False)
    assert isinstance(error, hssl.SSLCertVerificationError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(error) and "'a.test'" in str(error)
    assert error.reason == "CERTIFICATE_VERIFY_FAILED" and error.verify_message


def test_host_without_htls_fails_closed(hssl: ModuleType,
                                        pair: tuple[socket.socket, socket.socket]) -> None:
    # A real kernel knows nothing of level 0x74696d65: the wrap must not go plaintext.
    client, peer = pair
    with pytest.raises(hssl.SSLError):
        hssl.create_default_context().wrap_socket(client, server_hostname="a.test")
    peer.settimeout(1)
    assert peer.recv(1) == b""


def test_connection_errors_pass_unchanged(hssl: ModuleType) -> None:
    reset = ConnectionResetError(errno.ECONNRESET, "reset")
    assert hssl._host_failure(reset, "a.test", writing=False) is reset
    timeout = TimeoutError("timed out")
    assert hssl._host_failure(timeout, "a.test", writing=True) is timeout


def test_not_ready_becomes_want_errors(hssl: ModuleType) -> None:
    busy = BlockingIOError(errno.EAGAIN, "again")
    assert isinstance(hssl._host_failure(busy, "a.test", writing=False), hssl.SSLWantReadError)
    assert isinstance(hssl._host_failure(busy, "a.test", writing=True), hssl.SSLWantWriteError)
