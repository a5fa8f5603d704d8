"""Host TLS offload: a TLS client run by the host on a guest's TCP socket.

The session sits between the guest's plaintext and the kernel socket through
memory BIOs, so the same code serves blocking and non-blocking sockets: every
step that would block on a non-blocking socket reports EAGAIN instead.
"""

from __future__ import annotations

import os
import socket
import ssl

from host import wasi_abi as abi
from host.errors import WasiError

CA_FILE_ENV = "TIMECRAFT_PYTHON_CA_FILE"
_RECEIVE_CHUNK = 65536


def client_context(extra_ca_file: str | None) -> ssl.SSLContext:
    """System trust store plus an optional extra CA bundle; verification always on."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    # The server name must be in subjectAltName, as modern clients require.
    context.hostname_checks_common_name = False
    for ca_file in (extra_ca_file, os.environ.get(CA_FILE_ENV)):
        if ca_file:
            context.load_verify_locations(cafile=ca_file)
    return context


def _errno_for_tls_failure(error: Exception) -> int:
    if isinstance(error, ssl.SSLCertVerificationError):
        return abi.EACCES  # the peer's certificate or name is not trusted
    if isinstance(error, OSError) and not isinstance(error, ssl.SSLError) and error.errno:
        return abi.from_host(error)
    return abi.EIO


class TlsSession:
    def __init__(self, context: ssl.SSLContext, server_name: str) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_name)
        self._unsent = b""  # ciphertext the kernel has not accepted yet
        self._plaintext = b""  # decrypted bytes the guest has not received yet
        self._peer_closed = False
        self.established = False
        self.failure = 0  # WASI errno once the session is unusable

    # -- moving ciphertext -----------------------------------------------------

    def flush(self, sock: socket.socket) -> bool:
        """Send pending ciphertext; False while a non-blocking socket is full."""
        self._unsent += self._outgoing.read()
        while self._unsent:
            try:
                sent = sock.send(self._unsent)
            except BlockingIOError:
                return False
            self._unsent = self._unsent[sent:]
        return True

    def receive(self, sock: socket.socket) -> bool:
        """Feed ciphertext from the socket; False when nothing is available yet."""
        try:
            data = sock.recv(_RECEIVE_CHUNK)
        except BlockingIOError:
            return False
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()
        return True

    @property
    def has_unsent(self) -> bool:
        return bool(self._unsent) or self._outgoing.pending > 0

    # -- session steps -----------------------------------------------------------

    def _fail(self, error: Exception) -> WasiError:
        self.failure = _errno_for_tls_failure(error)
        return WasiError(self.failure)

    def advance_handshake(self, sock: socket.socket) -> int:
        """0 once established, EAGAIN while in progress, or the failure errno."""
        if self.failure:
            return self.failure
        try:
            while not self.established:
                try:
                    self._tls.do_handshake()
                    self.established = True
                except ssl.SSLWantReadError:
                    if not self.flush(sock) or not self.receive(sock):
                        return abi.EAGAIN
            self.flush(sock)
        except (ssl.SSLError, OSError) as error:
            return self._fail(error).errno
        return 0

    def _decrypt_available(self) -> None:
        """Move whatever complete records arrived into the plaintext buffer."""
        while True:
            try:
                chunk = self._tls.read(_RECEIVE_CHUNK)
            except ssl.SSLWantReadError:
                return
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                # A peer closing without close_notify is treated as EOF, the way
                # Python's own ssl module does by default.
                self._peer_closed = True
                return
            except ssl.SSLError as error:
                raise self._fail(error) from error
            if not chunk:
                self._peer_closed = True
                return
            self._plaintext += chunk

    def readable_now(self) -> bool:
        if self.failure or self._plaintext or self._peer_closed:
            return True
        if self.established:
            self._decrypt_available()
        return bool(self.failure or self._plaintext or self._peer_closed)

    def recv_into(self, sock: socket.socket, buffers: list[memoryview], peek: bool) -> int:
        self._require_established(sock)
        while not self.readable_now():
            if not self.flush(sock) or not self.receive(sock):
                raise WasiError(abi.EAGAIN)
        if self.failure:
            raise WasiError(self.failure)
        taken = 0
        for buffer in buffers:
            piece = self._plaintext[taken:taken + len(buffer)]
            buffer[:len(piece)] = piece
            taken += len(piece)
            if len(piece) < len(buffer):
                break
        if not peek:
            self._plaintext = self._plaintext[taken:]
        return taken

    def send(self, sock: socket.socket, buffers: list[memoryview]) -> int:
        self._require_established(sock)
        if self._unsent and not self.flush(sock):
            raise WasiError(abi.EAGAIN)  # keep at most one write's worth buffered
        data = b"".join(buffers)
        try:
            written = self._tls.write(data)
            self.flush(sock)
        except (ssl.SSLError, OSError) as error:
            raise self._fail(error) from error
        return written

    def _require_established(self, sock: socket.socket) -> None:
        status = self.advance_handshake(sock)
        if status:
            raise WasiError(status)
