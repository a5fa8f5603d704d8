"""Host TLS offload (hTLS): the TLS client run on a connection the host dialed.

timecraft wraps the connection in a Go `crypto/tls` client whose only setting
is the server name (spec §8): default verification against the system roots,
no ALPN, Go's default versions, SNI unless the name is an IP address (whose
IP SAN is then checked). This module is that client for the built-in host:
the trust store built the way Go builds its system pool, and a TLS session
over memory buffers that host/tunnels.py feeds with the connection's bytes.
Importing `ssl` costs every start a few milliseconds, so nothing imports this
module before a guest asks for hTLS.
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Mapping

from host import wasi_abi as abi
from host.errors import TlsFailure

# An extra CA bundle the built-in host trusts besides the system roots.
CA_FILE_ENV = "TIMECRAFT_PYTHON_CA_FILE"
# What Go's crypto/x509 reads (root.go): each replaces a default.
CERT_FILE_ENV = "SSL_CERT_FILE"
CERT_DIR_ENV = "SSL_CERT_DIR"
_CHUNK = 65536
_MAX_CERT_FILE = 4 << 20  # a certificate file larger than this is not one


def _load_file(context: ssl.SSLContext, path: str) -> bool:
    try:
        context.load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError, ValueError):
        return False
    return True


def _load_directory(context: ssl.SSLContext, directory: str) -> None:
    """Every certificate in every file of `directory`, as Go loads SSL_CERT_DIR.

    OpenSSL's own directory lookup needs hash-named files; Go reads them all.
    """
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        try:
            if not os.path.isfile(path) or os.path.getsize(path) > _MAX_CERT_FILE:
                continue
            with open(path, "rb") as file:
                text = file.read().decode("ascii")
            context.load_verify_locations(cadata=text)
        except (OSError, UnicodeDecodeError, ssl.SSLError, ValueError):
            continue  # Go skips what it cannot parse, too


def client_context(extra_ca_file: str | None,
                   environ: Mapping[str, str] = os.environ) -> ssl.SSLContext:
    """Go's system roots, the built-in host's extra CA files, verification always on.

    SSL_CERT_FILE replaces the default bundle file and SSL_CERT_DIR (a
    colon-separated list) the default directories, each on its own, as Go's
    crypto/x509 does; timecraft honours both in its own environment.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, names checked
    # Go checks subjectAltName only, never the common name.
    context.hostname_checks_common_name = False
    defaults = ssl.get_default_verify_paths()
    cert_file = environ.get(CERT_FILE_ENV) or defaults.openssl_cafile
    if cert_file:
        _load_file(context, cert_file)
    cert_dirs = environ.get(CERT_DIR_ENV)
    if cert_dirs:
        for directory in cert_dirs.split(":"):
            _load_directory(context, directory)
    elif defaults.openssl_capath and os.path.isdir(defaults.openssl_capath):
        context.load_verify_locations(capath=defaults.openssl_capath)
    for extra in (extra_ca_file, environ.get(CA_FILE_ENV)):
        if extra and not _load_file(context, extra):
            print(f"host: hTLS cannot use the CA file {extra}: it is missing or holds no "
                  "PEM certificate", file=sys.stderr)
    return context


def _failure(error: Exception) -> TlsFailure:
    if isinstance(error, ssl.SSLCertVerificationError):
        # The certificate or the name was not accepted.
        return TlsFailure(abi.EACCES, error.verify_message or str(error))
    return TlsFailure(abi.EIO, str(error) or type(error).__name__)


def _server_name(value: bytes) -> str:
    """The name as Python's ssl takes it; timecraft passes the bytes to Go verbatim."""
    if not value:
        raise TlsFailure(abi.EIO, "tls: either ServerName or InsecureSkipVerify must be "
                         "specified (the hTLS server name is empty)")
    try:
        name = value.decode("ascii")
    except UnicodeDecodeError:
        raise TlsFailure(abi.EACCES, f"the hTLS server name {value!r} is not ASCII, so no "
                         "certificate can match it") from None
    if "\0" in name or not name.isprintable():
        raise TlsFailure(abi.EIO, f"the hTLS server name {value!r} holds control characters "
                         "(a C string's NUL?); no server accepts it") from None
    return name


class TlsClient:
    """A TLS client session over memory buffers: ciphertext in and out, plaintext in and out."""

    def __init__(self, context: ssl.SSLContext, server_name: bytes) -> None:
        self.server_name = server_name
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        try:
            self._tls = context.wrap_bio(self._incoming, self._outgoing,
                                         server_hostname=_server_name(server_name))
        except (ValueError, UnicodeError, ssl.SSLError) as error:
            raise TlsFailure(abi.EIO, f"the hTLS server name {server_name!r} cannot be "
                             f"used: {error}") from None
        self.established = False

    def handshake(self) -> bool:
        """Advance the handshake; True once it is done. Raises TlsFailure."""
        if not self.established:
            try:
                self._tls.do_handshake()
            except ssl.SSLWantReadError:
                return False
            except (ssl.SSLError, OSError) as error:
                raise _failure(error) from None
            self.established = True
        return True

    def feed(self, ciphertext: bytes) -> None:
        """Bytes from the server; b"" is its end of stream."""
        if ciphertext:
            self._incoming.write(ciphertext)
        else:
            self._incoming.write_eof()

    def outgoing(self) -> bytes:
        """Ciphertext for the server."""
        return self._outgoing.read()

    def encrypt(self, plaintext: bytes) -> None:
        try:
            self._tls.write(plaintext)
        except (ssl.SSLError, OSError) as error:
            raise _failure(error) from None

    def decrypt(self) -> tuple[bytes, bool]:
        """(plaintext received so far, whether the server's stream has ended)."""
        chunks: list[bytes] = []
        while True:
            try:
                chunk = self._tls.read(_CHUNK)
            except ssl.SSLWantReadError:
                return b"".join(chunks), False
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                # A server closing without close_notify is treated as the end
                # of the stream, as Python's ssl module does by default.
                return b"".join(chunks), True
            except (ssl.SSLError, OSError) as error:
                raise _failure(error) from None
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
