"""Sockets: preview 1's sock_* functions and the WasmEdge v2 socket extension."""

from __future__ import annotations

import select
import socket
import struct
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from host import wasi_abi as abi
from host.descriptors import Descriptor, FdTable
from host.errors import WasiError
from host.guest_memory import GuestMemory
from host.hostcall import WASMEDGE, hostcall

if TYPE_CHECKING:
    import ssl

    from host.htls import TlsSession

# WasmEdge constants (see the socket ABI spec).
_FAMILIES = {1: socket.AF_INET, 2: socket.AF_INET6, 3: socket.AF_UNIX}
_GUEST_FAMILY = {socket.AF_INET: 1, socket.AF_INET6: 2, socket.AF_UNIX: 3}
_SOCKET_TYPES = {0: socket.SOCK_STREAM, 1: socket.SOCK_DGRAM, 2: socket.SOCK_STREAM}
_GUEST_SOCKET_TYPE = {socket.SOCK_DGRAM: 1, socket.SOCK_STREAM: 2}
_PROTOCOLS = {0: 0, 1: socket.IPPROTO_TCP, 2: socket.IPPROTO_UDP}
_GUEST_PROTOCOL = {0: 0, socket.IPPROTO_TCP: 1, socket.IPPROTO_UDP: 2}
_LEVEL_SOCKET = 0
_LEVEL_TCP = 6
HTLS_LEVEL = 0x74696D65
HTLS_SERVER_NAME = 1
# Integer options: (level, option) -> (host level, host option). Others at these
# levels answer ENOTSUP, as timecraft does.
_INTEGER_OPTIONS: dict[tuple[int, int], tuple[int, int]] = {
    (_LEVEL_SOCKET, 0): (socket.SOL_SOCKET, socket.SO_REUSEADDR),
    (_LEVEL_SOCKET, 3): (socket.SOL_SOCKET, socket.SO_DONTROUTE),
    (_LEVEL_SOCKET, 4): (socket.SOL_SOCKET, socket.SO_BROADCAST),
    (_LEVEL_SOCKET, 5): (socket.SOL_SOCKET, socket.SO_SNDBUF),
    (_LEVEL_SOCKET, 6): (socket.SOL_SOCKET, socket.SO_RCVBUF),
    (_LEVEL_SOCKET, 7): (socket.SOL_SOCKET, socket.SO_KEEPALIVE),
    (_LEVEL_SOCKET, 8): (socket.SOL_SOCKET, socket.SO_OOBINLINE),
    (_LEVEL_SOCKET, 10): (socket.SOL_SOCKET, socket.SO_RCVLOWAT),
    (_LEVEL_TCP, 15): (socket.IPPROTO_TCP, socket.TCP_NODELAY),
}
_OPTION_TYPE, _OPTION_ERROR, _OPTION_ACCEPTCONN = 1, 2, 13
_QUERY_OPTIONS = {_OPTION_TYPE, _OPTION_ERROR, _OPTION_ACCEPTCONN}
# getaddrinfo hint flags: passive, canonname, numerichost, numericserv, v4mapped, all, addrconfig
_AI_FLAGS = (socket.AI_PASSIVE, socket.AI_CANONNAME, socket.AI_NUMERICHOST,
             socket.AI_NUMERICSERV, socket.AI_V4MAPPED, socket.AI_ALL, socket.AI_ADDRCONFIG)
_ADDRINFO = struct.Struct("<HBBIIIIII")
_SOCKADDR_HEADER = struct.Struct("<III")
_ADDRESS_BUFFER = struct.Struct("<II")
_V2_ADDRESS_SIZE = 128
_GAI_ERRNO = {socket.EAI_NONAME: abi.ENOENT, socket.EAI_AGAIN: abi.EAGAIN,
              socket.EAI_FAMILY: abi.EAFNOSUPPORT, socket.EAI_SERVICE: abi.EINVAL,
              socket.EAI_SOCKTYPE: abi.ENOTSUP, socket.EAI_MEMORY: abi.WASI_ERRNO["NOMEM"]}
_SHUTDOWN = {abi.SDFLAG_RD: socket.SHUT_RD, abi.SDFLAG_WR: socket.SHUT_WR,
             abi.SDFLAG_RD | abi.SDFLAG_WR: socket.SHUT_RDWR}


# Where timecraft serves its API; the builtin runtime serves it per guest elsewhere.
TIMECRAFT_API_ADDRESS = ("127.0.0.1", 7463)
_OWN_LOOPBACK = ("0.0.0.0", "127.0.0.1")


class NetworkView:
    """What loopback addresses mean to this guest (see host/api/).

    A spawned process has `own_address`: its binds to 0.0.0.0 or 127.0.0.1,
    and its connections to 127.0.0.1, land there instead. `api_connect`, when
    given, opens a connection to the guest's own API: a connection to
    timecraft's API address becomes that (see api_connection).
    """

    def __init__(self, own_address: str | None = None,
                 api_connect: Callable[[], socket.socket] | None = None) -> None:
        self.own_address = own_address
        self.api_connect = api_connect

    def bind_target(self, address: object) -> object:
        if self.own_address and isinstance(address, tuple) and address[0] in _OWN_LOOPBACK:
            return self.own_address, address[1]
        return address

    def connect_target(self, address: object) -> object:
        if self.own_address and isinstance(address, tuple) and address[0] == "127.0.0.1":
            return self.own_address, address[1]
        return address

    def api_connection(self, address: object) -> socket.socket | None:
        """A connection to the guest's API if `address` is timecraft's API address.

        The API listens nowhere: each connection is a socket pair, so only
        this guest reaches its API. The guest's end keeps the identity of
        the TCP connection the guest asked for.
        """
        if self.api_connect is None or address != TIMECRAFT_API_ADDRESS:
            return None
        connection = self.api_connect()
        return ApiConnection(socket.AF_INET, socket.SOCK_STREAM, 0, connection.detach())


class ApiConnection(socket.socket):
    """The guest's end of an API socket pair, seen as a TCP connection to 127.0.0.1:7463."""

    def getpeername(self) -> tuple[str, int]:
        return TIMECRAFT_API_ADDRESS

    def getsockname(self) -> tuple[str, int]:
        return "127.0.0.1", 0

    def getsockopt(self, level: int, option: int, *args: int) -> Any:
        if level == socket.IPPROTO_TCP:
            return 0  # TCP options mean nothing on a socket pair
        return super().getsockopt(level, option, *args)

    def setsockopt(self, level: int, option: int, *args: Any) -> None:
        if level != socket.IPPROTO_TCP:
            super().setsockopt(level, option, *args)


class PollPlan(NamedTuple):
    """How to wait for a descriptor: kernel events on `host_fd`, then `settle`.

    Without `settle`, kernel readiness is guest readiness. With it, readiness
    only means progress can be made (a TLS handshake step, for example): the
    poller calls `settle` and asks for a new plan.
    """

    host_fd: int
    events: int
    settle: Callable[[], None] | None = None


class SocketDescriptor(Descriptor):
    __slots__ = ("sock", "tls", "has_transferred")

    def __init__(self, sock: socket.socket, nonblocking: bool) -> None:
        sock.setblocking(not nonblocking)
        filetype = abi.FILETYPE_SOCKET_DGRAM if sock.type == socket.SOCK_DGRAM \
            else abi.FILETYPE_SOCKET_STREAM
        super().__init__(sock.fileno(), filetype, abi.RIGHTS_SOCKET, 0,
                         abi.FDFLAG_NONBLOCK if nonblocking else 0)
        self.sock = sock
        self.tls: TlsSession | None = None
        # hTLS may only start before any plaintext has crossed the wire.
        self.has_transferred = False

    def read_into(self, buffers: list[memoryview]) -> int:
        return self.receive(buffers, 0)[0]

    def write_from(self, buffers: list[memoryview]) -> int:
        self.has_transferred = True
        if self.tls is not None:
            return self.tls.send(self.sock, buffers)
        return self.sock.sendmsg(buffers)

    def receive(self, buffers: list[memoryview], flags: int) -> tuple[int, int, object]:
        """(bytes, host msg flags, sender address) for a recvmsg into `buffers`."""
        self.has_transferred = True
        if self.tls is not None:
            return self.tls.recv_into(self.sock, buffers, bool(flags & socket.MSG_PEEK)), 0, None
        received, _, message_flags, address = self.sock.recvmsg_into(buffers, 0, flags)
        return received, message_flags, address

    def set_nonblocking(self, nonblocking: bool) -> None:
        self.sock.setblocking(not nonblocking)

    def close(self) -> None:
        self.sock.close()

    def replace_socket(self, sock: socket.socket) -> None:
        """Go on with `sock`, already connected, in place of the socket so far."""
        sock.setblocking(self.sock.getblocking())
        self.sock.close()
        self.sock = sock
        self.host_fd = sock.fileno()

    def poll_plan(self, writing: bool) -> PollPlan | None:
        """None when the guest's operation can proceed right now."""
        events = select.POLLOUT if writing else select.POLLIN
        tls = self.tls
        if tls is None or not self.is_connected():
            return PollPlan(self.host_fd, events)
        if not tls.established and not tls.failure:
            if tls.advance_handshake(self.sock) == abi.EAGAIN:
                wanted = select.POLLOUT if tls.has_unsent else select.POLLIN
                return PollPlan(self.host_fd, wanted, self._settle_tls)
        if tls.failure:
            return None
        if writing:
            if tls.has_unsent and not tls.flush(self.sock):
                return PollPlan(self.host_fd, select.POLLOUT, self._settle_tls)
            return PollPlan(self.host_fd, events)
        if tls.readable_now():
            return None
        return PollPlan(self.host_fd, select.POLLIN, self._settle_tls)

    def _settle_tls(self) -> None:
        tls = self.tls
        assert tls is not None
        try:
            if tls.has_unsent:
                tls.flush(self.sock)
            else:
                tls.receive(self.sock)
        except OSError as error:
            tls.failure = abi.from_host(error)

    def is_connected(self) -> bool:
        try:
            self.sock.getpeername()
        except OSError:
            return False
        return True


class SocketCalls:
    """Host functions for sockets. WasmEdge ones exist only when enabled."""

    def __init__(self, memory: GuestMemory, table: FdTable, extra_ca_file: str | None,
                 network: NetworkView | None = None) -> None:
        self.memory = memory
        self.table = table
        self.network = network or NetworkView()
        self._extra_ca_file = extra_ca_file
        self._tls_context: ssl.SSLContext | None = None

    def _socket(self, fd: int, rights: int = 0) -> SocketDescriptor:
        descriptor = self.table.get(fd)
        if not isinstance(descriptor, SocketDescriptor):
            raise WasiError(abi.ENOTSOCK)
        return self.table.get(fd, rights)  # type: ignore[return-value]

    # -- addresses ---------------------------------------------------------------

    def _read_address(self, descriptor_address: int, port: int, family: int) -> object:
        buffer, length = _ADDRESS_BUFFER.unpack_from(self.memory.view, descriptor_address)
        if length == 4:  # WasmEdge v1: bare IPv4 bytes
            guest_family, raw = 1, self.memory.read(buffer, 4)
        elif length == 16:  # WasmEdge v1: bare IPv6 bytes
            guest_family, raw = 2, self.memory.read(buffer, 16)
        elif length >= 18:
            guest_family = self.memory.u16(buffer)
            raw = self.memory.read(buffer + 2, {1: 4, 2: 16}.get(guest_family, min(length, 128) - 2))
        else:
            raise WasiError(abi.EINVAL)
        host_family = _FAMILIES.get(guest_family)
        if host_family is None:
            raise WasiError(abi.EAFNOSUPPORT)
        if host_family != family:
            raise WasiError(abi.EAFNOSUPPORT)
        if host_family == socket.AF_INET:
            return socket.inet_ntop(socket.AF_INET, raw), port
        if host_family == socket.AF_INET6:
            return socket.inet_ntop(socket.AF_INET6, raw), port, 0, 0
        path = raw.split(b"\0", 1)[0]
        if not path.startswith(b"@"):
            # Filesystem sockets would bypass the directory grants; abstract ones do not.
            raise WasiError(abi.EACCES)
        return b"\0" + path[1:]

    def _write_address(self, descriptor_address: int, address: object, family: int) -> int:
        """Store `address` in the guest's address buffer; returns its port."""
        buffer, length = _ADDRESS_BUFFER.unpack_from(self.memory.view, descriptor_address)
        port = 0
        if family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            raw = socket.inet_pton(family, address[0])
            port = address[1]
        elif isinstance(address, (bytes, str)) and address:
            name = address.encode() if isinstance(address, str) else address
            raw = (b"@" + name[1:] if name.startswith(b"\0") else name)[:125] + b"\0"
        else:
            raw = b""
        if length in (4, 16):
            if len(raw) != length:
                raise WasiError(abi.EINVAL)
            self.memory.write(buffer, raw)
            return port
        if length < 2 + len(raw):
            raise WasiError(abi.EINVAL)
        self.memory.put_u16(buffer, _GUEST_FAMILY.get(family, 0) if raw else 0)
        self.memory.write(buffer + 2, raw)
        return port

    # -- preview 1 ---------------------------------------------------------------

    @hostcall("iii")
    def sock_accept(self, fd: int, flags: int, out: int) -> int:
        listener = self._socket(fd, abi.RIGHT_SOCK_ACCEPT)
        if flags & ~abi.FDFLAG_NONBLOCK:
            return abi.EINVAL
        connection, _ = listener.sock.accept()
        accepted = SocketDescriptor(connection, bool(flags & abi.FDFLAG_NONBLOCK))
        self.memory.put_u32(out, self.table.add(accepted))
        return 0

    @hostcall("iiiiii")
    def sock_recv(self, fd: int, iovs: int, iovs_len: int, riflags: int, out_nread: int,
                  out_roflags: int) -> int:
        descriptor = self._socket(fd, abi.RIGHT_FD_READ)
        received, message_flags = self._receive(descriptor, iovs, iovs_len, riflags)[:2]
        self.memory.put_u32(out_nread, received)
        self.memory.put_u16(out_roflags, message_flags)
        return 0

    def _receive(self, descriptor: SocketDescriptor, iovs: int, iovs_len: int,
                 riflags: int) -> tuple[int, int, object]:
        if riflags & ~(abi.RIFLAG_RECV_PEEK | abi.RIFLAG_RECV_WAITALL):
            raise WasiError(abi.EINVAL)
        host_flags = (socket.MSG_PEEK if riflags & abi.RIFLAG_RECV_PEEK else 0) | (
            socket.MSG_WAITALL if riflags & abi.RIFLAG_RECV_WAITALL else 0)
        buffers = self.memory.iovecs(iovs, iovs_len)
        received, message_flags, address = descriptor.receive(buffers, host_flags)
        truncated = abi.ROFLAG_RECV_DATA_TRUNCATED if message_flags & socket.MSG_TRUNC else 0
        return received, truncated, address

    @hostcall("iiiii")
    def sock_send(self, fd: int, iovs: int, iovs_len: int, _siflags: int, out: int) -> int:
        descriptor = self._socket(fd, abi.RIGHT_FD_WRITE)
        self.memory.put_u32(out, descriptor.write_from(self.memory.iovecs(iovs, iovs_len)))
        return 0

    @hostcall("ii")
    def sock_shutdown(self, fd: int, how: int) -> int:
        descriptor = self._socket(fd, abi.RIGHT_SOCK_SHUTDOWN)
        if how not in _SHUTDOWN:
            return abi.EINVAL
        descriptor.sock.shutdown(_SHUTDOWN[how])
        return 0

    # -- WasmEdge extension ------------------------------------------------------

    @hostcall("iii", abi=WASMEDGE)
    def sock_open(self, family: int, socket_type: int, out: int) -> int:
        host_family = _FAMILIES.get(family)
        if host_family is None:
            return abi.EAFNOSUPPORT
        host_type = _SOCKET_TYPES.get(socket_type)
        if host_type is None:
            return abi.EINVAL
        sock = socket.socket(host_family, host_type)
        self.memory.put_u32(out, self.table.add(SocketDescriptor(sock, False)))
        return 0

    @hostcall("iii", abi=WASMEDGE)
    def sock_bind(self, fd: int, address: int, port: int) -> int:
        descriptor = self._socket(fd)
        target = self._read_address(address, port, descriptor.sock.family)
        descriptor.sock.bind(self.network.bind_target(target))
        return 0

    @hostcall("iii", abi=WASMEDGE)
    def sock_connect(self, fd: int, address: int, port: int) -> int:
        descriptor = self._socket(fd)
        requested = self._read_address(address, port, descriptor.sock.family)
        api = self.network.api_connection(requested) \
            if descriptor.sock.type == socket.SOCK_STREAM else None
        if api is not None:
            descriptor.replace_socket(api)
            return 0
        target = self.network.connect_target(requested)
        if descriptor.flags & abi.FDFLAG_NONBLOCK:
            return abi.from_host_number(descriptor.sock.connect_ex(target))
        descriptor.sock.connect(target)
        self._start_tls_if_ready(descriptor)
        return 0

    @hostcall("ii", abi=WASMEDGE)
    def sock_listen(self, fd: int, backlog: int) -> int:
        self._socket(fd).sock.listen(backlog)
        return 0

    @hostcall("iiiiiiii", abi=WASMEDGE)
    def sock_recv_from(self, fd: int, iovs: int, iovs_len: int, address: int, riflags: int,
                       out_port: int, out_nread: int, out_roflags: int) -> int:
        descriptor = self._socket(fd, abi.RIGHT_FD_READ)
        received, truncated, sender = self._receive(descriptor, iovs, iovs_len, riflags)
        port = self._write_address(address, sender, descriptor.sock.family)
        self.memory.put_u32(out_port, port)
        self.memory.put_u32(out_nread, received)
        self.memory.put_u16(out_roflags, truncated)
        return 0

    @hostcall("iiiiiii", name="sock_recv_from", abi=WASMEDGE)
    def sock_recv_from_v1(self, fd: int, iovs: int, iovs_len: int, address: int, riflags: int,
                          out_nread: int, out_roflags: int) -> int:
        descriptor = self._socket(fd, abi.RIGHT_FD_READ)
        received, truncated, sender = self._receive(descriptor, iovs, iovs_len, riflags)
        self._write_address(address, sender, descriptor.sock.family)
        self.memory.put_u32(out_nread, received)
        self.memory.put_u16(out_roflags, truncated)
        return 0

    @hostcall("iiiiiii", abi=WASMEDGE)
    def sock_send_to(self, fd: int, iovs: int, iovs_len: int, address: int, port: int,
                     _siflags: int, out: int) -> int:
        descriptor = self._socket(fd, abi.RIGHT_FD_WRITE)
        target = self._read_address(address, port, descriptor.sock.family)
        sent = descriptor.sock.sendmsg(self.memory.iovecs(iovs, iovs_len), [], 0, target)
        self.memory.put_u32(out, sent)
        return 0

    @hostcall("iiiii", abi=WASMEDGE)
    def sock_getsockopt(self, fd: int, level: int, option: int, out: int, value_len: int) -> int:
        descriptor = self._socket(fd)
        if value_len != 4:
            return abi.EINVAL
        sock = descriptor.sock
        if level == _LEVEL_SOCKET and option == _OPTION_TYPE:
            value = _GUEST_SOCKET_TYPE.get(sock.type, 0)
        elif level == _LEVEL_SOCKET and option == _OPTION_ERROR:
            value = abi.from_host_number(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
        elif level == _LEVEL_SOCKET and option == _OPTION_ACCEPTCONN:
            value = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        elif (level, option) in _INTEGER_OPTIONS:
            value = sock.getsockopt(*_INTEGER_OPTIONS[(level, option)])
        elif level in (_LEVEL_SOCKET, _LEVEL_TCP):
            return abi.ENOTSUP
        else:
            return abi.ENOPROTOOPT
        self.memory.put_u32(out, value & 0xFFFFFFFF)
        return 0

    @hostcall("iiiii", abi=WASMEDGE)
    def sock_setsockopt(self, fd: int, level: int, option: int, value: int,
                        value_len: int) -> int:
        descriptor = self._socket(fd)
        if level == HTLS_LEVEL:
            return self._enable_tls(descriptor, option, self.memory.read(value, value_len))
        if (level, option) in _INTEGER_OPTIONS:
            if value_len != 4:
                return abi.EINVAL
            host_level, host_option = _INTEGER_OPTIONS[(level, option)]
            descriptor.sock.setsockopt(host_level, host_option,
                                       struct.unpack("<i", self.memory.read(value, 4))[0])
            return 0
        if level in (_LEVEL_SOCKET, _LEVEL_TCP):
            return abi.ENOTSUP  # linger, timeouts, bindtodevice and the query options
        return abi.ENOPROTOOPT

    def _enable_tls(self, descriptor: SocketDescriptor, option: int, value: bytes) -> int:
        if option != HTLS_SERVER_NAME:
            return abi.ENOPROTOOPT
        if descriptor.sock.type != socket.SOCK_STREAM or descriptor.sock.family not in (
                socket.AF_INET, socket.AF_INET6):
            return abi.EINVAL
        if descriptor.tls is not None or descriptor.has_transferred:
            return abi.EINVAL  # too late: plaintext may already have crossed the wire
        server_name = value.split(b"\0", 1)[0].decode("ascii", "strict")
        if not server_name:
            return abi.EINVAL
        from host.htls import TlsSession, client_context  # ssl is slow to import

        if self._tls_context is None:
            self._tls_context = client_context(self._extra_ca_file)
        descriptor.tls = TlsSession(self._tls_context, server_name)
        return self._start_tls_if_ready(descriptor)

    @staticmethod
    def _start_tls_if_ready(descriptor: SocketDescriptor) -> int:
        """Begin the handshake once connected; a blocking socket completes it here."""
        tls = descriptor.tls
        if tls is None or not descriptor.is_connected():
            return 0
        status = tls.advance_handshake(descriptor.sock)
        return 0 if status == abi.EAGAIN else status

    def _local_or_peer(self, fd: int, peer: bool) -> tuple[object, int]:
        sock = self._socket(fd).sock
        return (sock.getpeername() if peer else sock.getsockname()), sock.family

    @hostcall("iii", abi=WASMEDGE)
    def sock_getlocaladdr(self, fd: int, address: int, out_port: int) -> int:
        found, family = self._local_or_peer(fd, False)
        self.memory.put_u32(out_port, self._write_address(address, found, family))
        return 0

    @hostcall("iii", abi=WASMEDGE)
    def sock_getpeeraddr(self, fd: int, address: int, out_port: int) -> int:
        found, family = self._local_or_peer(fd, True)
        self.memory.put_u32(out_port, self._write_address(address, found, family))
        return 0

    @hostcall("iiiiiiii", abi=WASMEDGE)
    def sock_getaddrinfo(self, name: int, name_len: int, service: int, service_len: int,
                         hints: int, results: int, max_results: int, out_count: int) -> int:
        host = self.memory.read(name, name_len).split(b"\0", 1)[0].decode("idna")
        port_text = self.memory.read(service, service_len).split(b"\0", 1)[0].decode("ascii")
        if not host and not port_text:
            return abi.EINVAL
        hint_flags, hint_family, hint_type, hint_protocol = _ADDRINFO.unpack_from(
            self.memory.view, hints)[:4] if hints else (0, 0, 0, 0)
        host_flags = 0
        for bit, host_flag in enumerate(_AI_FLAGS):
            if hint_flags & (1 << bit):
                host_flags |= host_flag
        try:
            found = socket.getaddrinfo(
                host or None, port_text or None, _FAMILIES.get(hint_family, 0) if hint_family
                in (1, 2) else 0, _SOCKET_TYPES.get(hint_type, 0) if hint_type else 0,
                _PROTOCOLS.get(hint_protocol, 0), host_flags)
        except socket.gaierror as error:
            return _GAI_ERRNO.get(error.errno, abi.EIO)
        record = self.memory.u32(results)
        count = 0
        for family, socket_type, protocol, canonical, address in found:
            if socket_type not in _GUEST_SOCKET_TYPE:
                continue  # e.g. the resolver's SOCK_RAW entries: the ABI has no raw sockets
            if count >= max_results or record == 0:
                break
            self._fill_addrinfo(record, family, socket_type, protocol, canonical, address)
            count += 1
            record = self.memory.u32(record + 24)
        self.memory.put_u32(out_count, count)
        return 0

    def _fill_addrinfo(self, record: int, family: int, socket_type: int, protocol: int,
                       canonical: str, address: tuple) -> None:
        fields = list(_ADDRINFO.unpack_from(self.memory.view, record))
        raw = socket.inet_pton(family, address[0])
        fields[1] = _GUEST_FAMILY.get(family, 0)
        fields[2] = _GUEST_SOCKET_TYPE.get(socket_type, 0)
        fields[3] = _GUEST_PROTOCOL.get(protocol, 0)
        fields[4] = 2 + len(raw)
        sockaddr = fields[5]
        if sockaddr:
            data_len, data = _SOCKADDR_HEADER.unpack_from(self.memory.view, sockaddr)[1:]
            if data_len < 2 + len(raw):
                raise WasiError(abi.EINVAL)
            _SOCKADDR_HEADER.pack_into(self.memory.view, sockaddr, fields[1], 2 + len(raw), data)
            self.memory.write(data, struct.pack(">H", address[1]) + raw)
        if fields[6] and canonical:
            name = canonical.encode()[:fields[7]]
            self.memory.write(fields[6], name)
            fields[7] = len(name)
        elif fields[6]:
            fields[7] = 0
        _ADDRINFO.pack_into(self.memory.view, record, *fields)
