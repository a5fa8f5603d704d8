"""TLS for python.wasm, offloaded to the WASI host ("hTLS").

The guest has no OpenSSL: CPython's `_ssl` is not built. Instead, once a
wrapped TCP socket is connected, it calls `setsockopt(fd, 0x74696d65, 1,
server_name)` (the name's bytes, without a trailing NUL), before any byte is
sent or received; from then on the host runs a TLS client on that connection
(handshake, certificate chain and server name checked against the *host's*
trust store) and the guest's send/recv carry plaintext.

The host does the handshake in the background: the socket is writable at
once, and recv waits (or reports EAGAIN) until decrypted data arrives. A
failed handshake shows on the next recv or send; under the real timecraft
runtime it ends the whole run instead ("unexpected error: tls: ..."), so no
guest code sees it. Trust anchors are the host's: timecraft (like the
built-in host) honours SSL_CERT_FILE and SSL_CERT_DIR in its own environment.

This module keeps the part of the standard `ssl` API that `http.client`,
`urllib.request`, `urllib3` and `requests` use. What hTLS cannot do raises
`SSLUnsupportedError` (both an `SSLError` and a `NotImplementedError`) with a
message that says so; nothing silently falls back to plaintext or to a weaker
check. The rule for settings that cannot be passed to the host:

* a request for *stricter* verification than the host does (CRL checks,
  TLS 1.3 only, pinning by fingerprint, client certificates) raises;
* a request for *looser* verification (CERT_OPTIONAL, check_hostname=False,
  extra trust anchors) is accepted, and the host still verifies fully against
  `server_hostname` and its own trust store, so such connections fail closed
  with `SSLCertVerificationError` rather than connect insecurely;
* CERT_NONE cannot be honoured in any useful way (the caller wants a
  connection that verification would refuse), so `wrap_socket` refuses it.

Known deviations from CPython's `ssl`, each deliberate:

* `load_verify_locations()` is accepted but its CA files are not used: trust
  anchors come from the host (its system store or SSL_CERT_FILE/SSL_CERT_DIR,
  plus the built-in host's `--ca-file`).
  It is accepted because `requests` calls it at import time with certifi's
  bundle, which is close to the system store.
* `getpeercert()` raises: the certificate never leaves the host.
* `version()` and `cipher()` return None: the host does not report them.
* `OPENSSL_VERSION` starts with "OpenSSL " because urllib3 2.x trusts
  `HAS_NEVER_CHECK_COMMON_NAME` only for such strings and otherwise matches
  host names itself through `getpeercert()`, which hTLS cannot serve. The rest
  of the string says the TLS is the host's.
"""

from __future__ import annotations

import base64
import enum
import errno as _errno
import os
import socket
from collections import namedtuple
from typing import Any, Iterable, NamedTuple

# -- version information -------------------------------------------------------

OPENSSL_VERSION = "OpenSSL 3.0 API emulated by python.wasm; TLS runs in the WASI host (hTLS)"
# The API level emulated: urllib3 2.x refuses anything below 1.1.1.
OPENSSL_VERSION_INFO = (3, 0, 0, 0, 0)
OPENSSL_VERSION_NUMBER = 0x30000000

HAS_SNI = True  # the server name is the hTLS option's value
HAS_ALPN = False  # the hTLS option carries no ALPN list
HAS_NPN = False
HAS_NEVER_CHECK_COMMON_NAME = True  # hTLS matches subjectAltName only
# The host negotiates TLS 1.2 or 1.3, never older protocols.
HAS_SSLv2 = False
HAS_SSLv3 = False
HAS_TLSv1 = False
HAS_TLSv1_1 = False
HAS_TLSv1_2 = True
HAS_TLSv1_3 = True

_HTLS_LEVEL = 0x74696D65  # "time"
_HTLS_SERVER_NAME = 1
_PEM_HEADER = "-----BEGIN CERTIFICATE-----"
_PEM_FOOTER = "-----END CERTIFICATE-----"


# -- enumerations (values match CPython's, so code mixing ints keeps working) ----

class _SSLMethod(enum.IntEnum):
    PROTOCOL_TLS = 2
    PROTOCOL_TLS_CLIENT = 16
    PROTOCOL_TLS_SERVER = 17
    PROTOCOL_SSLv23 = PROTOCOL_TLS


class VerifyMode(enum.IntEnum):
    CERT_NONE = 0
    CERT_OPTIONAL = 1
    CERT_REQUIRED = 2


class VerifyFlags(enum.IntFlag):
    VERIFY_DEFAULT = 0
    VERIFY_CRL_CHECK_LEAF = 0x4
    VERIFY_CRL_CHECK_CHAIN = 0xC
    VERIFY_X509_STRICT = 0x20
    VERIFY_ALLOW_PROXY_CERTS = 0x40
    VERIFY_X509_TRUSTED_FIRST = 0x8000
    VERIFY_X509_PARTIAL_CHAIN = 0x80000


class Options(enum.IntFlag):
    OP_ALL = 0x80000050
    OP_NO_SSLv2 = 0  # OpenSSL 1.1+ dropped SSLv2 entirely, so the flag is 0
    OP_NO_SSLv3 = 0x2000000
    OP_NO_TLSv1 = 0x4000000
    OP_NO_TLSv1_1 = 0x10000000
    OP_NO_TLSv1_2 = 0x8000000
    OP_NO_TLSv1_3 = 0x20000000
    OP_NO_COMPRESSION = 0x20000
    OP_NO_TICKET = 0x4000
    OP_CIPHER_SERVER_PREFERENCE = 0x400000
    OP_SINGLE_DH_USE = 0
    OP_SINGLE_ECDH_USE = 0
    OP_NO_RENEGOTIATION = 0x40000000
    OP_ENABLE_MIDDLEBOX_COMPAT = 0x100000
    OP_IGNORE_UNEXPECTED_EOF = 0x80


class TLSVersion(enum.IntEnum):
    MINIMUM_SUPPORTED = -2
    MAXIMUM_SUPPORTED = -1
    SSLv3 = 0x300
    TLSv1 = 0x301
    TLSv1_1 = 0x302
    TLSv1_2 = 0x303
    TLSv1_3 = 0x304


class SSLErrorNumber(enum.IntEnum):
    SSL_ERROR_SSL = 1
    SSL_ERROR_WANT_READ = 2
    SSL_ERROR_WANT_WRITE = 3
    SSL_ERROR_WANT_X509_LOOKUP = 4
    SSL_ERROR_SYSCALL = 5
    SSL_ERROR_ZERO_RETURN = 6
    SSL_ERROR_WANT_CONNECT = 7
    SSL_ERROR_EOF = 8
    SSL_ERROR_INVALID_ERROR_CODE = 10


class _ASN1Object(NamedTuple):
    nid: int
    shortname: str
    longname: str
    oid: str


class Purpose(_ASN1Object, enum.Enum):
    """Extended key usage a context is made for (only SERVER_AUTH works here)."""

    SERVER_AUTH = (129, "serverAuth", "TLS Web Server Authentication", "1.3.6.1.5.5.7.3.1")
    CLIENT_AUTH = (130, "clientAuth", "TLS Web Client Authentication", "1.3.6.1.5.5.7.3.2")


# The module-level names code uses, e.g. ssl.CERT_REQUIRED.
globals().update(_SSLMethod.__members__)
globals().update(VerifyMode.__members__)
globals().update(VerifyFlags.__members__)
globals().update(Options.__members__)
globals().update(SSLErrorNumber.__members__)
PROTOCOL_TLS = _SSLMethod.PROTOCOL_TLS  # spelled out too, for readers and linters
PROTOCOL_TLS_CLIENT = _SSLMethod.PROTOCOL_TLS_CLIENT
PROTOCOL_TLS_SERVER = _SSLMethod.PROTOCOL_TLS_SERVER
CERT_NONE = VerifyMode.CERT_NONE
CERT_OPTIONAL = VerifyMode.CERT_OPTIONAL
CERT_REQUIRED = VerifyMode.CERT_REQUIRED

# Versions and options the host always satisfies (it negotiates TLS 1.2 or 1.3
# and never compresses), versus those that would need control over the host.
_HONOURED_MINIMUMS = frozenset({TLSVersion.MINIMUM_SUPPORTED, TLSVersion.SSLv3, TLSVersion.TLSv1,
                                TLSVersion.TLSv1_1, TLSVersion.TLSv1_2})
_HONOURED_MAXIMUMS = frozenset({TLSVersion.MAXIMUM_SUPPORTED, TLSVersion.TLSv1_3})
_UNENFORCEABLE_OPTIONS = Options.OP_NO_TLSv1_2 | Options.OP_NO_TLSv1_3
_STRICTER_VERIFY_FLAGS = VerifyFlags.VERIFY_CRL_CHECK_CHAIN | VerifyFlags.VERIFY_X509_STRICT


# -- exceptions ----------------------------------------------------------------

class SSLError(OSError):
    """A TLS-level failure. `library` and `reason` follow CPython's attributes."""

    library: str | None = None
    reason: str | None = None

    def __str__(self) -> str:
        return self.strerror if self.strerror else super().__str__()


class SSLZeroReturnError(SSLError):
    """The TLS connection was closed cleanly."""


class SSLWantReadError(SSLError):
    """A non-blocking operation needs the socket to become readable."""


class SSLWantWriteError(SSLError):
    """A non-blocking operation needs the socket to become writable.

    Also raised by do_handshake() on a non-blocking socket while the host is
    still handshaking: the host reports the socket writable once it is done.
    """


class SSLSyscallError(SSLError):
    """A system error underneath TLS."""


class SSLEOFError(SSLError):
    """The peer closed the connection in violation of the protocol."""


class SSLCertVerificationError(SSLError, ValueError):
    """The peer's certificate or name was not accepted by the host."""

    verify_code: int | None = None
    verify_message: str | None = None


CertificateError = SSLCertVerificationError
socket_error = OSError


class SSLUnsupportedError(SSLError, NotImplementedError):
    """A feature hTLS does not offer. Specific to this module.

    Being an SSLError, it surfaces through urllib3/requests as their SSL
    errors; being a NotImplementedError, it says what kind of failure it is.
    """


def _unsupported(what: str) -> SSLUnsupportedError:
    error = SSLUnsupportedError(SSLErrorNumber.SSL_ERROR_SSL,
                                f"hTLS (host TLS offload) does not support {what}")
    error.library, error.reason = "hTLS", "UNSUPPORTED"
    return error


def _errno_name(number: int | None) -> str:
    return _errno.errorcode.get(number or 0, str(number))


def _host_failure(error: OSError, server_hostname: str, *, writing: bool) -> OSError:
    """The exception to raise for `error` from a socket call on an hTLS socket.

    The built-in host reports a failed TLS session as an errno on whatever
    call comes next: EACCES when the certificate or name is not trusted, EIO
    (or EPROTO) for other TLS failures. (timecraft ends the run instead.)
    Connection-level errors (resets, timeouts) are raised unchanged, as
    CPython's ssl module does.
    """
    if isinstance(error, SSLError):
        return error
    if isinstance(error, BlockingIOError):
        wanted = SSLWantWriteError if writing else SSLWantReadError
        return wanted(SSLErrorNumber.SSL_ERROR_WANT_WRITE if writing
                      else SSLErrorNumber.SSL_ERROR_WANT_READ,
                      "The operation did not complete (hTLS socket not ready)")
    if error.errno == _errno.EACCES:
        message = (f"certificate verify failed: the host did not accept the certificate "
                   f"of {server_hostname!r} (checked against the host's trust store; CA "
                   f"files given to the guest's SSLContext are not used)")
        verify_error = SSLCertVerificationError(
            SSLErrorNumber.SSL_ERROR_SSL, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message} (hTLS)")
        verify_error.library, verify_error.reason = "SSL", "CERTIFICATE_VERIFY_FAILED"
        verify_error.verify_message = message
        return verify_error
    if error.errno in (_errno.EIO, _errno.EPROTO):
        tls_error = SSLError(SSLErrorNumber.SSL_ERROR_SSL,
                             f"[SSL] TLS with {server_hostname!r} failed in the host "
                             f"({_errno_name(error.errno)}) (hTLS)")
        tls_error.library = "SSL"
        return tls_error
    return error


# -- helpers -------------------------------------------------------------------

DefaultVerifyPaths = namedtuple(
    "DefaultVerifyPaths",
    "cafile capath openssl_cafile_env openssl_cafile openssl_capath_env openssl_capath")


def get_default_verify_paths() -> DefaultVerifyPaths:
    """No paths: the trust store is the host's and is not visible to the guest."""
    return DefaultVerifyPaths(None, None, "SSL_CERT_FILE", "", "SSL_CERT_DIR", "")


def DER_cert_to_PEM_cert(der_cert_bytes: bytes) -> str:
    encoded = base64.standard_b64encode(der_cert_bytes).decode("ascii")
    lines = [encoded[start:start + 64] for start in range(0, len(encoded), 64)]
    return "\n".join([_PEM_HEADER, *lines, _PEM_FOOTER]) + "\n"


def PEM_cert_to_DER_cert(pem_cert_string: str) -> bytes:
    text = pem_cert_string.strip()
    if not text.startswith(_PEM_HEADER):
        raise ValueError(f"Invalid PEM encoding; must start with {_PEM_HEADER}")
    if not text.endswith(_PEM_FOOTER):
        raise ValueError(f"Invalid PEM encoding; must end with {_PEM_FOOTER}")
    body = text[len(_PEM_HEADER):-len(_PEM_FOOTER)]
    return base64.decodebytes(body.encode("ascii", "strict"))


def _server_name_bytes(server_hostname: str) -> bytes:
    """The hTLS option value: the ASCII (IDNA) form of the name."""
    if not isinstance(server_hostname, str):
        raise TypeError(f"server_hostname must be a str, not {type(server_hostname).__name__}")
    if not server_hostname or server_hostname.startswith("."):
        raise ValueError(f"invalid server_hostname {server_hostname!r}")
    if "\0" in server_hostname:
        raise ValueError("server_hostname must not contain NUL characters")
    try:
        return server_hostname.encode("idna")
    except UnicodeError as error:
        raise ValueError(f"invalid server_hostname {server_hostname!r}: {error}") from error


# -- context -------------------------------------------------------------------

class SSLContext:
    """TLS client settings. Only what the host can honour is accepted."""

    def __init__(self, protocol: int = PROTOCOL_TLS_CLIENT) -> None:
        try:
            self._protocol = _SSLMethod(protocol)
        except ValueError:
            raise ValueError(f"invalid or unsupported protocol version {protocol!r}") from None
        if self._protocol == PROTOCOL_TLS_SERVER:
            raise _unsupported("server-side TLS (PROTOCOL_TLS_SERVER); it is client-only")
        # CPython's defaults: a client context verifies; the generic one does not.
        client = self._protocol == PROTOCOL_TLS_CLIENT
        self._verify_mode = CERT_REQUIRED if client else CERT_NONE
        self._check_hostname = client
        self._options = (Options.OP_ALL | Options.OP_NO_SSLv3 | Options.OP_NO_COMPRESSION
                         | Options.OP_CIPHER_SERVER_PREFERENCE
                         | Options.OP_ENABLE_MIDDLEBOX_COMPAT)
        self._verify_flags = VerifyFlags.VERIFY_X509_TRUSTED_FIRST
        self._minimum_version = TLSVersion.TLSv1_2
        self._maximum_version = TLSVersion.MAXIMUM_SUPPORTED
        self._alpn_protocols: list[str] = []

    @property
    def protocol(self) -> _SSLMethod:
        return self._protocol

    @property
    def verify_mode(self) -> VerifyMode:
        return self._verify_mode

    @verify_mode.setter
    def verify_mode(self, value: int) -> None:
        mode = VerifyMode(value)
        if mode == CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname "
                             "is enabled.")
        # CERT_NONE is refused by wrap_socket, not here: contexts made with it
        # (e.g. by PROTOCOL_TLS defaults) are fine as long as they wrap nothing.
        self._verify_mode = mode

    @property
    def check_hostname(self) -> bool:
        """With False the host still checks the name given as server_hostname."""
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value: bool) -> None:
        enabled = bool(value)
        if enabled and self._verify_mode == CERT_NONE:
            self._verify_mode = CERT_REQUIRED  # as CPython does
        self._check_hostname = enabled

    @property
    def hostname_checks_common_name(self) -> bool:
        return False

    @hostname_checks_common_name.setter
    def hostname_checks_common_name(self, value: bool) -> None:
        if value:
            raise _unsupported("matching host names against the subject common name")

    @property
    def post_handshake_auth(self) -> None:
        """None: post-handshake authentication needs client certificates."""
        return None

    @post_handshake_auth.setter
    def post_handshake_auth(self, value: bool) -> None:
        if value:
            raise _unsupported("post-handshake client authentication")

    @property
    def options(self) -> Options:
        return self._options

    @options.setter
    def options(self, value: int) -> None:
        options = Options(value)
        if options & _UNENFORCEABLE_OPTIONS:
            raise _unsupported("OP_NO_TLSv1_2/OP_NO_TLSv1_3; the host picks TLS 1.2 or 1.3")
        self._options = options

    @property
    def verify_flags(self) -> VerifyFlags:
        return self._verify_flags

    @verify_flags.setter
    def verify_flags(self, value: int) -> None:
        flags = VerifyFlags(value)
        if flags & _STRICTER_VERIFY_FLAGS:
            raise _unsupported("CRL checks or VERIFY_X509_STRICT; the host's verification "
                               "policy applies")
        self._verify_flags = flags

    @property
    def minimum_version(self) -> TLSVersion:
        return self._minimum_version

    @minimum_version.setter
    def minimum_version(self, value: int) -> None:
        version = TLSVersion(value)
        if version not in _HONOURED_MINIMUMS:
            raise _unsupported(f"minimum_version={version.name}; the host may negotiate TLS 1.2")
        self._minimum_version = version

    @property
    def maximum_version(self) -> TLSVersion:
        return self._maximum_version

    @maximum_version.setter
    def maximum_version(self, value: int) -> None:
        version = TLSVersion(value)
        if version not in _HONOURED_MAXIMUMS:
            raise _unsupported(f"maximum_version={version.name}; the host may negotiate TLS 1.3")
        self._maximum_version = version

    # -- trust anchors and credentials ----------------------------------------------

    def load_default_certs(self, purpose: Purpose = Purpose.SERVER_AUTH) -> None:
        """Nothing to load: the host verifies against the system trust store."""
        if not isinstance(purpose, Purpose):
            raise TypeError(purpose)

    def set_default_verify_paths(self) -> None:
        """Nothing to set: the host verifies against the system trust store."""

    def load_verify_locations(self, cafile: str | bytes | None = None,
                              capath: str | bytes | None = None,
                              cadata: str | bytes | None = None) -> None:
        """Accepted, but the CAs are not used: trust comes from the host.

        A server whose CA only these files trust fails verification (fail
        closed); give such a CA to the host instead (`--ca-file`).
        """
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        for name, value in (("cafile", cafile), ("capath", capath)):
            if value is not None and not isinstance(value, (str, bytes)):
                raise TypeError(f"{name} should be a valid filesystem path")
        if cadata is not None and not isinstance(cadata, (str, bytes, bytearray, memoryview)):
            raise TypeError("cadata should be an ASCII string or a bytes-like object")

    def load_cert_chain(self, certfile: Any, keyfile: Any = None, password: Any = None) -> None:
        raise _unsupported("client certificates (load_cert_chain)")

    def set_ciphers(self, ciphers: str) -> None:
        raise _unsupported("choosing cipher suites; the host picks them")

    def set_alpn_protocols(self, alpn_protocols: Iterable[str]) -> None:
        """Recorded and validated, but not offered: hTLS carries no ALPN list.

        Servers then use their default protocol (HTTP/1.1 for HTTPS), and
        selected_alpn_protocol() reports None, which callers treat that way.
        """
        protocols = list(alpn_protocols)
        for protocol in protocols:
            if not 0 < len(protocol.encode("ascii")) < 256:
                raise ValueError(f"ALPN protocols must be 1 to 255 in length: {protocol!r}")
        self._alpn_protocols = protocols

    # -- wrapping --------------------------------------------------------------------

    def wrap_socket(self, sock: socket.socket, server_side: bool = False,
                    do_handshake_on_connect: bool = True, suppress_ragged_eofs: bool = True,
                    server_hostname: str | None = None, session: object = None) -> SSLSocket:
        """Turn hTLS on for `sock`; `sock` is detached and must not be used again."""
        if server_side:
            raise _unsupported("server-side TLS; it is client-only")
        if session is not None:
            raise _unsupported("TLS session reuse")
        if not suppress_ragged_eofs:
            raise _unsupported("reporting ragged EOFs; the host treats them as end of stream")
        if self._verify_mode == CERT_NONE:
            raise _unsupported("verify_mode=CERT_NONE; the host always verifies the "
                               "certificate and the server name")
        if server_hostname is None:
            if self._check_hostname:
                raise ValueError("check_hostname requires server_hostname")
            raise ValueError("hTLS requires server_hostname: the host verifies the "
                             "certificate against it")
        name = _server_name_bytes(server_hostname)
        if sock.type != socket.SOCK_STREAM:
            raise NotImplementedError("only stream sockets are supported")
        if do_handshake_on_connect and sock.gettimeout() == 0.0:
            raise ValueError("do_handshake_on_connect should not be specified for "
                             "non-blocking sockets")
        return SSLSocket._wrap(sock, self, server_hostname, name, do_handshake_on_connect)

    def wrap_bio(self, incoming: Any, outgoing: Any, server_side: bool = False,
                 server_hostname: str | None = None, session: object = None) -> Any:
        raise _unsupported("wrap_bio/SSLObject; only sockets can be wrapped")


def create_default_context(purpose: Purpose = Purpose.SERVER_AUTH, *,
                           cafile: str | None = None, capath: str | None = None,
                           cadata: str | bytes | None = None) -> SSLContext:
    """A client context that verifies certificates and host names."""
    if not isinstance(purpose, Purpose):
        raise TypeError(purpose)
    if purpose != Purpose.SERVER_AUTH:
        raise _unsupported("server-side contexts (Purpose.CLIENT_AUTH); it is client-only")
    context = SSLContext(PROTOCOL_TLS_CLIENT)
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    else:
        context.load_default_certs(purpose)
    return context


def _create_unverified_context(protocol: int = PROTOCOL_TLS_CLIENT, *,
                               cert_reqs: int = CERT_NONE, check_hostname: bool = False,
                               purpose: Purpose = Purpose.SERVER_AUTH, certfile: Any = None,
                               keyfile: Any = None, cafile: str | None = None,
                               capath: str | None = None,
                               cadata: str | bytes | None = None) -> SSLContext:
    """CPython's insecure context; wrap_socket refuses it unless made verifying."""
    if purpose != Purpose.SERVER_AUTH:
        raise _unsupported("server-side contexts (Purpose.CLIENT_AUTH); it is client-only")
    context = SSLContext(protocol)
    context.check_hostname = check_hostname
    context.verify_mode = cert_reqs
    if certfile or keyfile:
        context.load_cert_chain(certfile, keyfile)
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    return context


# What http.client and urllib.request call; callers may replace it.
_create_default_https_context = create_default_context


# -- socket --------------------------------------------------------------------

class SSLSocket(socket.socket):
    """A TCP socket whose bytes the host encrypts; obtained from wrap_socket()."""

    # Set by _wrap(): instances never run __init__.
    _context: SSLContext
    server_hostname: str
    do_handshake_on_connect: bool
    suppress_ragged_eofs: bool
    server_side: bool
    _server_name: bytes  # the hTLS option's value
    _htls_started: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{type(self).__name__} does not have a public constructor. "
                        "Instances are returned by SSLContext.wrap_socket().")

    @classmethod
    def _wrap(cls, sock: socket.socket, context: SSLContext, server_hostname: str,
              name: bytes, do_handshake_on_connect: bool) -> SSLSocket:
        timeout = sock.gettimeout()
        self = cls.__new__(cls)
        # Take over the descriptor, as CPython's SSLSocket does: the plain
        # object must not be used for plaintext any more.
        socket.socket.__init__(self, sock.family, sock.type, sock.proto, sock.detach())
        self.settimeout(timeout)
        self._context = context
        self.server_hostname = server_hostname
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = True
        self.server_side = False
        self._server_name = name
        self._htls_started = False
        try:
            # The host accepts the option only once the socket is connected
            # (EINVAL before): an unconnected socket gets it in connect().
            if self._is_connected():
                self._start_htls()
                if do_handshake_on_connect:
                    self.do_handshake()
        except BaseException:
            self.close()
            raise
        return self

    def _start_htls(self) -> None:
        """Hand the connection to the host's TLS client, before any I/O on it."""
        if self._htls_started:
            return
        try:
            self.setsockopt(_HTLS_LEVEL, _HTLS_SERVER_NAME, self._server_name)
        except OSError as error:
            raise self._setsockopt_failure(error) from error
        self._htls_started = True

    def _setsockopt_failure(self, error: OSError) -> OSError:
        if error.errno in (_errno.ENOPROTOOPT, _errno.ENOTSUP, _errno.EOPNOTSUPP):
            return _unsupported(f"this WASI host (setsockopt of the hTLS option failed with "
                                f"{_errno_name(error.errno)}); refusing to send plaintext")
        if error.errno == _errno.EINVAL:
            return SSLError(SSLErrorNumber.SSL_ERROR_SSL,
                            "the host refused to start TLS on this socket (EINVAL): it must be "
                            "a TCP socket that has not sent or received anything yet (hTLS)")
        return _host_failure(error, self.server_hostname, writing=True)

    def _is_connected(self) -> bool:
        try:
            self.getpeername()
        except OSError as error:
            if error.errno != _errno.ENOTCONN:
                raise
            return False
        return True

    @property
    def context(self) -> SSLContext:
        return self._context

    # -- handshake -------------------------------------------------------------------

    def do_handshake(self, block: bool = False) -> None:
        """Raise a failure the host has already reported; never waits.

        The host runs the handshake in the background and says nothing while
        it runs: the socket is writable at once, and recv reports EAGAIN until
        decrypted data arrives. There is nothing to wait for, so this only
        peeks without blocking: a queued failure (or a dial error left in
        SO_ERROR, which reading clears) is raised here; any later one comes
        from the next recv or send.
        """
        previous_timeout = self.gettimeout()
        self.settimeout(0.0)
        try:
            peeked = socket.socket.recv(self, 1, socket.MSG_PEEK)
        except BlockingIOError:
            return  # nothing has arrived yet, and nothing has failed
        except OSError as error:
            raise _host_failure(error, self.server_hostname, writing=False) from error
        finally:
            self.settimeout(previous_timeout)
        if not peeked:
            pending = self.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if pending:
                failure = OSError(pending, os.strerror(pending))
                raise _host_failure(failure, self.server_hostname, writing=False)

    def connect(self, address: Any) -> None:
        try:
            super().connect(address)
        except BlockingIOError:
            # A non-blocking connect in progress, as with plain sockets; the
            # host takes the option from now on.
            self._start_htls()
            raise
        except OSError as error:
            raise _host_failure(error, self.server_hostname, writing=True) from error
        self._start_htls()
        if self.do_handshake_on_connect:
            self.do_handshake()

    def connect_ex(self, address: Any) -> int:
        try:
            self.connect(address)
        except SSLError:
            raise
        except OSError as error:
            return error.errno or _errno.EIO
        return 0

    # -- data ------------------------------------------------------------------------

    def send(self, data: Any, flags: int = 0) -> int:
        self._check_flags(flags, "send")
        try:
            return super().send(data, flags)
        except OSError as error:
            raise _host_failure(error, self.server_hostname, writing=True) from error

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._check_flags(flags, "sendall")
        try:
            super().sendall(data, flags)
        except OSError as error:
            raise _host_failure(error, self.server_hostname, writing=True) from error

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._check_flags(flags, "recv")
        try:
            return super().recv(bufsize, flags)
        except OSError as error:
            raise _host_failure(error, self.server_hostname, writing=False) from error

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._check_flags(flags, "recv_into")
        try:
            return super().recv_into(buffer, nbytes, flags)
        except OSError as error:
            raise _host_failure(error, self.server_hostname, writing=False) from error

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        # os.sendfile would hand the file to the kernel socket, past the host's TLS.
        return self._sendfile_use_send(file, offset, count)  # type: ignore[attr-defined]

    @staticmethod
    def _check_flags(flags: int, call: str) -> None:
        # MSG_PEEK is the only flag the host honours on a TLS stream.
        if flags & ~socket.MSG_PEEK:
            raise ValueError(f"flags {flags:#x} not allowed in calls to {call}() on SSLSocket")

    def pending(self) -> int:
        """0: decrypted data waits in the host, where poll/select see it."""
        return 0

    def recvfrom(self, bufsize: int, flags: int = 0) -> Any:
        raise ValueError("recvfrom not allowed on instances of SSLSocket")

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> Any:
        raise ValueError("recvfrom_into not allowed on instances of SSLSocket")

    def sendto(self, data: Any, *args: Any) -> int:
        raise ValueError("sendto not allowed on instances of SSLSocket")

    def recvmsg(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("recvmsg not allowed on instances of SSLSocket")

    def recvmsg_into(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("recvmsg_into not allowed on instances of SSLSocket")

    def sendmsg(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("sendmsg not allowed on instances of SSLSocket")

    def dup(self) -> SSLSocket:
        raise NotImplementedError("Can't dup() SSLSocket instances")

    # -- what the host keeps to itself -------------------------------------------------

    def getpeercert(self, binary_form: bool = False) -> Any:
        raise _unsupported("getpeercert(): the peer certificate stays in the host, which "
                           f"verified it for {self.server_hostname!r}")

    def version(self) -> None:
        """None: the host does not tell the guest the negotiated TLS version."""
        return None

    def cipher(self) -> None:
        """None: the host does not tell the guest the negotiated cipher."""
        return None

    def shared_ciphers(self) -> None:
        return None

    def compression(self) -> None:
        return None

    def selected_alpn_protocol(self) -> None:
        """None: hTLS offers no ALPN, so nothing was negotiated."""
        return None

    def unwrap(self) -> socket.socket:
        raise _unsupported("unwrap(): the host keeps TLS on the connection until it closes")
