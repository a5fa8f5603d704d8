"""Byte tunnels between a guest's socketpair end and a real host connection.

timecraft gives every virtual stream socket one end of a socketpair; when a
connection leaves the virtual network (a dial to a non-local address, or a
connection accepted on the host for a guest listener), a goroutine copies
bytes between the other end and the host connection (spec §7), through a
TLS client when the guest asked for hTLS (§8). Here each tunnel is a daemon
thread; the guest only ever touches its own end, so its poll, recv and send
behave as they do under timecraft: a dialed socket is writable at once and
its data waits in the socketpair until the tunnel moves it.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import threading
from typing import TYPE_CHECKING, Callable, Protocol

from host import wasi_abi as abi
from host.errors import TlsFailure

if TYPE_CHECKING:
    from host.htls import TlsClient

_CHUNK = 65536
_BUFFER_LIMIT = 1 << 20  # bytes held per direction before the tunnel stops reading
_NAME_SHOWN = 100  # a server name is the guest's: only so much of it goes to stderr
_DIAL_ERRNOS = (abi.ECONNREFUSED, abi.ECONNRESET, abi.ENETUNREACH, abi.EHOSTUNREACH,
                abi.ETIMEDOUT, abi.EADDRNOTAVAIL, abi.EACCES, abi.EPERM)


def report(message: str) -> None:
    """Why a connection failed, on the host's stderr (the guest gets an errno)."""
    print(f"host: {message}", file=sys.stderr, flush=True)


class DialedConnection(Protocol):
    """What a tunnel needs of the guest socket it serves."""

    @property
    def closed(self) -> bool: ...

    @property
    def htls_name(self) -> bytes | None: ...

    def fail(self, errno: int, sticky: bool) -> None:
        """Queue `errno` for the guest's next recv/send/SO_ERROR (sticky: every one)."""


def start_dial(owner: DialedConnection, target: tuple, inner: socket.socket,
               window: threading.Event, tls: Callable[[bytes], TlsClient]) -> None:
    """Dial `target` in the background, then tunnel `inner` to it.

    The tunnel waits for `window`: set when the guest sets the hTLS option,
    starts I/O, or closes. From then on it carries TLS or plaintext for good.
    """
    thread = threading.Thread(target=_dial_and_pump, args=(owner, target, inner, window, tls),
                              name=f"dial {target[0]}:{target[1]}", daemon=True)
    thread.start()


def start_bridge(inner: socket.socket, outer: socket.socket, owner: DialedConnection) -> None:
    """Tunnel a connection the host accepted for a guest listener."""
    threading.Thread(target=_pump_and_close, args=(inner, outer, None, owner),
                     name="bridge", daemon=True).start()


def serve_host_listener(listener: socket.socket,
                        deliver: Callable[[socket.socket, tuple], None]) -> None:
    """Accept on a host listener until it is shut down, handing each connection over."""

    def accept_loop() -> None:
        while True:
            try:
                connection, address = listener.accept()
            except OSError:
                return  # shut down with the guest's listener
            deliver(connection, address)

    threading.Thread(target=accept_loop, name="host listener", daemon=True).start()


def _dial_and_pump(owner: DialedConnection, target: tuple, inner: socket.socket,
                   window: threading.Event, tls: Callable[[bytes], TlsClient]) -> None:
    family = socket.AF_INET6 if ":" in target[0] else socket.AF_INET
    try:
        if family == socket.AF_INET6 and target[0].lower().startswith("::ffff:"):
            # Go's dialer has no answer for an IPv4-mapped address on tcp6, and
            # timecraft ends the run on it; the guest gets an errno here.
            report(f"cannot dial [{target[0]}]:{target[1]}: an IPv4-mapped IPv6 address "
                   "(timecraft ends the whole run here)")
            owner.fail(abi.EAFNOSUPPORT, False)
            _close(inner)
            return
        outer = socket.socket(family, socket.SOCK_STREAM)
        try:
            outer.connect(target)
        except OSError as error:
            outer.close()
            errno = abi.from_host(error)
            if errno not in _DIAL_ERRNOS:
                report(f"dialing {target[0]}:{target[1]} failed: {error.strerror or error}")
            owner.fail(errno, False)
            _close(inner)
            return
        while not window.wait(1.0):
            pass
        if owner.closed:
            outer.close()
            _close(inner)
            return
        session = None
        name = owner.htls_name
        if name is not None:
            try:
                session = tls(name)
            except TlsFailure as failure:
                _tls_failed(owner, name, failure)
                outer.close()
                _close(inner)
                return
        _pump_and_close(inner, outer, session, owner)
    except Exception as error:  # noqa: BLE001 - a tunnel thread must never die silently
        report(f"tunnel to {target[0]}:{target[1]} failed: {error!r}")
        owner.fail(abi.EIO, True)
        _close(inner)


def _tls_failed(owner: DialedConnection, name: bytes, failure: TlsFailure) -> None:
    report(f"hTLS handshake with {name[:_NAME_SHOWN].decode('ascii', 'backslashreplace')} failed: "
           f"{failure.reason}; the guest gets errno {failure.errno} "
           "(timecraft ends the whole run here)")
    owner.fail(failure.errno, True)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _pump_and_close(inner: socket.socket, outer: socket.socket, tls: TlsClient | None,
                    owner: DialedConnection) -> None:
    try:
        _pump(inner, outer, tls)
    except TlsFailure as failure:
        assert tls is not None
        _tls_failed(owner, tls.server_name, failure)
    except OSError:
        # The connection broke after it was made: like timecraft's tunnel, the
        # guest then reads what had arrived, and an end of stream.
        pass
    finally:
        _close(inner)
        outer.close()


def _pump(inner: socket.socket, outer: socket.socket, tls: TlsClient | None) -> None:
    """Copy both ways until both directions have ended or either side is gone.

    `to_outer` holds bytes for the host connection (ciphertext under TLS),
    `to_inner` plaintext for the guest. The guest's bytes stay in the
    socketpair while the handshake runs; an end of stream on one side is
    passed on as a half-close once everything before it has been delivered.
    A side that hung up is no longer polled, so that its standing POLLHUP
    cannot keep the loop spinning.
    """
    inner.setblocking(False)
    outer.setblocking(False)
    to_outer, to_inner = bytearray(), bytearray()
    inner_ended = outer_ended = False  # no more bytes will come from that side
    outer_shut = inner_shut = False  # no more bytes will go to that side
    handshaking = tls is not None
    if tls is not None:
        handshaking = not tls.handshake()
        to_outer += tls.outgoing()
    poller = select.poll()
    while True:
        if inner_ended and not to_outer and not outer_shut and not handshaking:
            _shut_write(outer)
            outer_shut = True
        if outer_ended and not to_inner and not inner_shut:
            _shut_write(inner)
            inner_shut = True
        if outer_shut and inner_shut:
            return
        reading_inner = not inner_ended and not handshaking and len(to_outer) < _BUFFER_LIMIT
        reading_outer = not outer_ended and len(to_inner) < _BUFFER_LIMIT
        _watch(poller, inner, not inner_shut or not inner_ended,
               (select.POLLIN if reading_inner else 0) | (select.POLLOUT if to_inner else 0))
        _watch(poller, outer, not outer_shut or not outer_ended,
               (select.POLLIN if reading_outer else 0) | (select.POLLOUT if to_outer else 0))
        ready = dict(poller.poll())
        inner_events = ready.get(inner.fileno(), 0)
        outer_events = ready.get(outer.fileno(), 0)
        if inner_events & (select.POLLHUP | select.POLLERR | select.POLLNVAL) \
                and not inner_events & select.POLLIN:
            # The guest closed its socket: what is left for it is dropped, what
            # it sent is still delivered.
            inner_ended = inner_shut = True
            to_inner.clear()
        if outer_events & select.POLLERR:
            error = outer.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            raise OSError(error, os.strerror(error))
        if outer_events & (select.POLLIN | select.POLLHUP) and reading_outer:
            data = _receive(outer)
            if data is not None:
                outer_ended = not data
                if tls is None:
                    to_inner += data
                else:
                    tls.feed(data)
                    if handshaking:
                        handshaking = not tls.handshake()
                        if handshaking and not data:
                            raise TlsFailure(abi.EIO, "the server closed the connection "
                                             "during the handshake")
                    if not handshaking:
                        plaintext, tls_ended = tls.decrypt()
                        to_inner += plaintext
                        outer_ended = outer_ended or tls_ended
                    to_outer += tls.outgoing()
        elif outer_events & select.POLLHUP and outer_ended:
            outer_shut = True  # the server is gone: nothing more can go to it
            to_outer.clear()
        if inner_events & select.POLLIN and reading_inner:
            data = _receive(inner)
            if data is not None:
                inner_ended = not data
                if tls is None:
                    to_outer += data
                elif data:
                    tls.encrypt(data)
                    to_outer += tls.outgoing()
        if to_outer and outer_events & select.POLLOUT:
            try:
                del to_outer[:_send(outer, to_outer)]
            except OSError:
                if not outer_ended:
                    raise
                outer_shut = True  # the server left first (its close_notify answered)
                to_outer.clear()
        if to_inner and inner_events & select.POLLOUT:
            try:
                del to_inner[:_send(inner, to_inner)]
            except OSError:
                inner_ended = inner_shut = True  # the guest closed its end
                to_inner.clear()


def _watch(poller: select.poll, sock: socket.socket, active: bool, events: int) -> None:
    """Poll `sock` for `events`, or not at all once nothing can happen on it."""
    if active:
        poller.register(sock, events)
    else:
        try:
            poller.unregister(sock)
        except KeyError:
            pass


def _receive(sock: socket.socket) -> bytes | None:
    """Bytes read, b"" at end of stream, None when nothing was ready after all."""
    try:
        return sock.recv(_CHUNK)
    except (BlockingIOError, InterruptedError):
        return None


def _send(sock: socket.socket, data: bytearray) -> int:
    try:
        return sock.send(data, socket.MSG_NOSIGNAL)
    except (BlockingIOError, InterruptedError):
        return 0


def _shut_write(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
