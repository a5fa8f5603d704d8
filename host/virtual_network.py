"""timecraft's virtual network, as one guest sees it (spec §4 and §7).

Every IPv4/IPv6 stream socket is one end of a socketpair, as in timecraft,
and lives in a network private to the guest:

* its interfaces are lo0 (127.0.0.1 and ::1) and en0 (one more IPv4 address:
  172.16.0.0 for a guest started from the command line, the address the API
  gave a spawned one); addresses match exactly, so 127.0.0.2 is not local;
* a connect to a local address reaches the guest's own listeners (the other
  end of the client's socketpair becomes the accepted socket), or fails with
  ECONNREFUSED when nothing listens there;
* a connect anywhere else returns at once and the host dials in the
  background (host/tunnels.py): the result shows in SO_ERROR, read once, or
  on the next recv or send;
* a listener is also exposed on the host, and connections accepted there are
  fed to it with their real peer address.

Where the built-in host differs, on purpose: a listener bound to a loopback
address is exposed on the host's loopback only (timecraft: every interface);
a spawned guest's listeners are exposed at its own address, which is how
other guests reach it (timecraft keeps them virtual); an ephemeral port for a
server is one that is also free on the host, so that its listen cannot fail
on a port another program holds.
"""

from __future__ import annotations

import collections
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from host import wasi_abi as abi
from host.descriptors import Descriptor
from host.errors import WasiError
from host.tunnels import serve_host_listener, start_bridge, start_dial

if TYPE_CHECKING:
    from host.htls import TlsClient

INET, INET6 = 1, 2  # the WasmEdge family numbers
_FAMILIES = {INET: socket.AF_INET, INET6: socket.AF_INET6}
LOOPBACK4 = bytes([127, 0, 0, 1])
LOOPBACK6 = bytes(15) + b"\x01"
ANY4, ANY6 = bytes(4), bytes(16)
FIRST_EN0 = bytes([172, 16, 0, 0])  # timecraft's first process gets 172.16.0.0
EPHEMERAL_FIRST = 49152
API_PORT = 7463  # timecraft's own service, inside every guest at 127.0.0.1
# What sock_open gives a socket, and what an accepted one gets (spec §4).
SOCKET_RIGHTS = abi.RIGHTS_SOCKET
CONNECTION_RIGHTS = abi.RIGHTS_SOCKET & ~abi.RIGHT_SOCK_ACCEPT


class Endpoint(NamedTuple):
    """An IP address (4 or 16 raw bytes) and a port."""

    ip: bytes
    port: int

    @property
    def family(self) -> int:
        return INET if len(self.ip) == 4 else INET6

    def host_address(self) -> tuple:
        family = _FAMILIES[self.family]
        text = socket.inet_ntop(family, self.ip)
        return (text, self.port) if family == socket.AF_INET else (text, self.port, 0, 0)

    @classmethod
    def from_host(cls, address: tuple) -> Endpoint:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        return cls(socket.inet_pton(family, address[0].split("%", 1)[0]), address[1])


def _wildcard(family: int) -> bytes:
    return ANY4 if family == INET else ANY6


class VirtualNetwork:
    """One guest's interfaces, bound ports and listeners."""

    def __init__(self, own_address: str | None = None,
                 api_serve: Callable[[socket.socket], None] | None = None,
                 tls: Callable[[bytes], TlsClient] | None = None) -> None:
        # A spawned guest's en0 is its own loopback address on the host.
        self.own_address = own_address
        self.en0 = socket.inet_aton(own_address) if own_address else FIRST_EN0
        # Serves timecraft's API on the host end of a guest connection to
        # 127.0.0.1:7463: the API listens nowhere, so only this guest reaches it.
        self.api_serve = api_serve
        self.tls = tls
        self._bound: dict[tuple[bytes, int], VirtualStreamSocket | None] = {}
        if api_serve is not None:
            self._bound[LOOPBACK4, API_PORT] = None  # taken by timecraft's service
        self._next_port = EPHEMERAL_FIRST

    def local_ips(self, family: int) -> tuple[bytes, ...]:
        return (LOOPBACK4, self.en0) if family == INET else (LOOPBACK6,)

    def is_local(self, ip: bytes) -> bool:
        return ip in (ANY4, ANY6) or ip in self.local_ips(INET) or ip in self.local_ips(INET6)

    def _interfaces(self, ip: bytes) -> tuple[bytes, ...]:
        """The interface addresses a bind to `ip` registers on (none: unreachable)."""
        if ip in (ANY4, ANY6):
            return self.local_ips(INET if ip == ANY4 else INET6)
        return (ip,) if ip in self.local_ips(INET) + self.local_ips(INET6) else ()

    def bind(self, sock: VirtualStreamSocket, endpoint: Endpoint, server: bool) -> Endpoint:
        """Register `endpoint` for `sock`; port 0 picks the next free port from 49152."""
        interfaces = self._interfaces(endpoint.ip)
        port = endpoint.port or self._ephemeral(interfaces, endpoint, server)
        if any((ip, port) in self._bound for ip in interfaces):
            raise WasiError(abi.EADDRNOTAVAIL)  # timecraft's answer, not EADDRINUSE
        for ip in interfaces:
            self._bound[ip, port] = sock
        return Endpoint(endpoint.ip, port)

    def unbind(self, sock: VirtualStreamSocket) -> None:
        for key in [key for key, owner in self._bound.items() if owner is sock]:
            del self._bound[key]

    def _ephemeral(self, interfaces: tuple[bytes, ...], endpoint: Endpoint,
                   server: bool) -> int:
        span = 65536 - EPHEMERAL_FIRST
        for step in range(span):
            port = EPHEMERAL_FIRST + (self._next_port - EPHEMERAL_FIRST + step) % span
            if any((ip, port) in self._bound for ip in interfaces):
                continue
            if server and not self._free_on_host(endpoint, port):
                continue
            self._next_port = port + 1
            return port
        raise WasiError(abi.EADDRINUSE)

    def _free_on_host(self, endpoint: Endpoint, port: int) -> bool:
        probe = socket.socket(_FAMILIES[endpoint.family], socket.SOCK_STREAM)
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(self.exposure(Endpoint(endpoint.ip, port)))
        except OSError:
            return False
        finally:
            probe.close()
        return True

    def listener_at(self, endpoint: Endpoint) -> VirtualStreamSocket | None:
        """The guest listener a connect to a local `endpoint` reaches, if any."""
        if endpoint.ip in (ANY4, ANY6):  # 0.0.0.0:port reaches any local listener
            candidates = [owner for (_, port), owner in self._bound.items()
                          if port == endpoint.port]
        else:
            candidates = [self._bound.get((endpoint.ip, endpoint.port))]
        return next((owner for owner in candidates if owner is not None and owner.listening),
                    None)

    def is_api(self, endpoint: Endpoint) -> bool:
        return self.api_serve is not None and endpoint == (LOOPBACK4, API_PORT)

    def exposure(self, bound: Endpoint) -> tuple:
        """Where a guest listener is exposed on the host."""
        if self.own_address is not None and bound.family == INET:
            host = self.own_address
        elif bound.ip in (ANY4, ANY6):
            host = "0.0.0.0" if bound.family == INET else "::"
        else:
            host = "127.0.0.1" if bound.family == INET else "::1"
        return (host, bound.port) if bound.family == INET else (host, bound.port, 0, 0)


class VirtualStreamSocket(Descriptor):
    """An IPv4/IPv6 stream socket of the virtual network: one end of a socketpair.

    `state` is None until connect, then "internal" (to a guest listener),
    "dialed" (the host dials) or "accepted". A listener's own socketpair is
    its queue's doorbell: one byte per waiting connection, so that poll and
    a blocking accept wait on it like on any socket.
    """

    __slots__ = ("network", "family", "guest_end", "partner", "bound", "listening", "state",
                 "peer", "pending_error", "tls_error", "io_started", "htls_name",
                 "htls_allowed", "window", "queue", "lock", "host_listener", "closed")

    def __init__(self, network: VirtualNetwork, family: int, rights: int = SOCKET_RIGHTS,
                 inheriting: int = CONNECTION_RIGHTS, flags: int = 0,
                 ends: tuple[socket.socket, socket.socket | None] | None = None) -> None:
        guest_end, partner = ends or socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        super().__init__(guest_end.fileno(), abi.FILETYPE_SOCKET_STREAM, rights, inheriting,
                         flags)
        guest_end.setblocking(not flags & abi.FDFLAG_NONBLOCK)
        self.network = network
        self.family = family
        self.guest_end = guest_end
        self.partner = partner
        self.bound: Endpoint | None = None
        self.listening = False
        self.state: str | None = None
        self.peer: Endpoint | None = None
        self.pending_error = 0  # a dial error, cleared by SO_ERROR or the next I/O
        self.tls_error = 0  # a failed hTLS session: every later I/O reports it
        self.io_started = False  # the first recv/send/shutdown closes the hTLS window
        self.htls_name: bytes | None = None
        self.htls_allowed = False
        self.window = threading.Event()  # wakes the tunnel: hTLS set, I/O started, closed
        self.queue: collections.deque[VirtualStreamSocket] = collections.deque()
        self.lock = threading.Lock()
        self.host_listener: socket.socket | None = None
        self.closed = False

    # -- what the tunnel thread reports ------------------------------------------

    def fail(self, errno: int, sticky: bool) -> None:
        if sticky:
            self.tls_error = errno
        else:
            self.pending_error = errno

    # -- names ------------------------------------------------------------------

    def local_name(self) -> Endpoint:
        return self.bound or Endpoint(_wildcard(self.family), 0)

    def peer_name(self) -> Endpoint:
        if self.peer is None:
            raise WasiError(abi.ENOTCONN)
        return self.peer

    # -- bind, listen, connect, accept -----------------------------------------------

    def bind(self, endpoint: Endpoint, server: bool = True) -> None:
        if self.bound is not None:
            raise WasiError(abi.EINVAL)
        if endpoint.family != self.family:
            raise WasiError(abi.EAFNOSUPPORT)
        self.bound = self.network.bind(self, endpoint, server)

    def listen(self) -> None:
        if self.state is not None:
            raise WasiError(abi.EINVAL)
        if self.listening:
            return  # a second listen is accepted; the backlog is ignored
        if self.bound is None:
            self.bind(Endpoint(_wildcard(self.family), 0))
        assert self.bound is not None
        host = socket.socket(_FAMILIES[self.family], socket.SOCK_STREAM)
        try:
            host.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.family == INET6:
                host.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            host.bind(self.network.exposure(self.bound))
            host.listen(socket.SOMAXCONN)
        except OSError:
            host.close()
            raise WasiError(abi.EADDRINUSE) from None
        self.host_listener = host
        self.listening = True
        serve_host_listener(host, self._bridge)

    def _bridge(self, connection: socket.socket, address: tuple) -> None:
        """A connection accepted on the host: queue it with its real peer address."""
        guest_end, inner = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        accepted = self._accepted_socket(guest_end)
        accepted.peer = Endpoint.from_host(address)
        if self._enqueue(accepted):
            start_bridge(inner, connection, accepted)
        else:
            inner.close()
            connection.close()

    def _accepted_socket(self, guest_end: socket.socket) -> VirtualStreamSocket:
        accepted = VirtualStreamSocket(self.network, self.family, CONNECTION_RIGHTS, 0,
                                       ends=(guest_end, None))
        accepted.state = "accepted"
        return accepted

    def _enqueue(self, accepted: VirtualStreamSocket) -> bool:
        with self.lock:
            if self.closed or self.partner is None:
                accepted.close()
                return False
            self.queue.append(accepted)
            self.partner.send(b"\0")
        return True

    def connect(self, endpoint: Endpoint) -> int:
        """0 or EINPROGRESS (non-blocking, even when already connected); raises WasiError."""
        if self.listening:
            raise WasiError(abi.EINVAL)
        if self.state is not None:
            raise WasiError(abi.EISCONN)
        if self.bound is None:
            self.bind(Endpoint(_wildcard(self.family), 0), server=False)
        network = self.network
        if network.is_api(endpoint):
            self._connect_api()
        elif network.is_local(endpoint.ip):
            listener = network.listener_at(endpoint)
            if listener is None:
                raise WasiError(abi.ECONNREFUSED)
            self._connect_internal(listener)
        else:
            self._dial(endpoint, htls_allowed=True)
        self.peer = endpoint
        return abi.EINPROGRESS if self.flags & abi.FDFLAG_NONBLOCK else 0

    def _connect_internal(self, listener: VirtualStreamSocket) -> None:
        partner, self.partner = self.partner, None
        assert partner is not None
        accepted = listener._accepted_socket(partner)
        accepted.peer = self.local_name()
        accepted.bound = listener.local_name()
        self.state = "internal"
        listener._enqueue(accepted)

    def _connect_api(self) -> None:
        partner, self.partner = self.partner, None
        assert partner is not None and self.network.api_serve is not None
        try:
            self.network.api_serve(partner)
        except ConnectionRefusedError:
            raise WasiError(abi.ECONNREFUSED) from None
        self.state = "internal"  # hTLS is refused on it, as on any guest-internal connection

    def _dial(self, target: Endpoint, htls_allowed: bool) -> None:
        inner, self.partner = self.partner, None
        assert inner is not None and self.network.tls is not None
        self.state = "dialed"
        self.htls_allowed = htls_allowed
        start_dial(self, target.host_address(), inner, self.window, self.network.tls)

    def accept(self, flags: int) -> VirtualStreamSocket:
        if not self.listening:
            raise WasiError(abi.EINVAL)
        if not self.guest_end.recv(1):  # waits (or EAGAIN) like accept(2)
            raise WasiError(abi.EINVAL)
        with self.lock:
            accepted = self.queue.popleft()
        if accepted.bound is None:
            accepted.bound = self.local_name()
        accepted.flags = flags  # stored verbatim, as timecraft does
        accepted.set_nonblocking(bool(flags & abi.FDFLAG_NONBLOCK))
        return accepted

    # -- data ---------------------------------------------------------------------

    def _begin_io(self) -> None:
        if not self.io_started:
            self.io_started = True
            self.window.set()
        if self.tls_error:
            raise WasiError(self.tls_error)
        if self.pending_error:
            error, self.pending_error = self.pending_error, 0
            raise WasiError(error)

    def receive(self, buffers: list[memoryview], peek: bool) -> int:
        if self.listening:
            raise WasiError(abi.EINVAL)
        self._begin_io()
        # WAITALL is not honoured: timecraft's socketpair end is non-blocking
        # at the OS level. Unknown flags are ignored.
        received = self.guest_end.recvmsg_into(buffers, 0, socket.MSG_PEEK if peek else 0)[0]
        if received == 0 and self.tls_error:
            raise WasiError(self.tls_error)  # woken by the failed session's close
        return received

    def send(self, buffers: list[memoryview]) -> int:
        if self.listening or self.state is None:
            raise WasiError(abi.ENOTCONN)
        self._begin_io()
        return self.guest_end.sendmsg(buffers, [], socket.MSG_NOSIGNAL)

    def read_into(self, buffers: list[memoryview]) -> int:
        return self.receive(buffers, False)

    def write_from(self, buffers: list[memoryview]) -> int:
        return self.send(buffers)

    def shutdown(self, how: int) -> None:
        if self.state is None:
            raise WasiError(abi.ENOTCONN)
        if not self.io_started:
            self.io_started = True
            self.window.set()
        self.guest_end.shutdown(how)

    def take_error(self) -> int:
        """SO_ERROR: the pending error, cleared by reading it."""
        error, self.pending_error = self.pending_error or self.tls_error, 0
        return error

    def set_htls(self, server_name: bytes) -> None:
        """Only after a connect the host dials, before any I/O, once (spec §8)."""
        if self.state != "dialed" or not self.htls_allowed or self.io_started \
                or self.htls_name is not None:
            raise WasiError(abi.EINVAL)
        self.htls_name = server_name
        self.window.set()

    # -- descriptor ----------------------------------------------------------------

    def set_nonblocking(self, nonblocking: bool) -> None:
        self.guest_end.setblocking(not nonblocking)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            waiting = list(self.queue)
            self.queue.clear()
        self.window.set()
        self.network.unbind(self)
        if self.host_listener is not None:
            try:
                self.host_listener.shutdown(socket.SHUT_RDWR)  # wakes its accept thread
            except OSError:
                pass
            self.host_listener.close()
        for accepted in waiting:
            accepted.close()
        if self.partner is not None:
            self.partner.close()
        self.guest_end.close()
