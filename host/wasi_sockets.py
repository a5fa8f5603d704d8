"""Sockets: preview 1's sock_* functions and the WasmEdge v2 extension, as timecraft has them.

The reference is /work/shared/spec/timecraft-sockets.md (the "spec" below):
what the real runtime does, byte by byte. IPv4/IPv6 stream sockets live in
the guest's virtual network (host/virtual_network.py); datagram and AF_UNIX
sockets are real host sockets, as in timecraft. Every integer out-parameter
is a 4-byte store; an output address writes only its family and address
bytes; errors are the WASI numbers timecraft returns. Where timecraft ends
the whole run (a failed TLS handshake, a dial error Go cannot map), the
guest gets an errno and the host says why on stderr.
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import TYPE_CHECKING, Any, Callable

from host import resolver
from host import wasi_abi as abi
from host.descriptors import Descriptor, FdTable
from host.errors import WasiError
from host.guest_memory import GuestMemory
from host.hostcall import WASMEDGE, hostcall
from host.virtual_network import (
    CONNECTION_RIGHTS,
    INET,
    INET6,
    SOCKET_RIGHTS,
    Endpoint,
    VirtualNetwork,
    VirtualStreamSocket,
)

if TYPE_CHECKING:
    import ssl

    from host.htls import TlsClient

UNIX = 3
DGRAM, STREAM = 1, 2
_HOST_FAMILIES = {INET: socket.AF_INET, INET6: socket.AF_INET6, UNIX: socket.AF_UNIX}
LEVEL_SOCKET, LEVEL_TCP = 0, 6
HTLS_LEVEL = 0x74696D65  # "time"
HTLS_SERVER_NAME = 1
# Socket-level options in the WasmEdge numbering (spec §5).
SO_TYPE, SO_ERROR, SO_SNDBUF, SO_RCVBUF, SO_RCVLOWAT, SO_ACCEPTCONN = 1, 2, 5, 6, 10, 13
TCP_NODELAY = 15
_STRUCT_OPTIONS = frozenset({9, 11, 12, 14})  # linger, rcvtimeo, sndtimeo, bindtodevice
_INT_OPTIONS = frozenset({0, 3, 4, 5, 6, 7, 8})  # these must come with a 4-byte value
_QUERY_OPTIONS = frozenset({SO_TYPE, SO_ERROR, SO_ACCEPTCONN})
# reuseaddr, dontroute, broadcast, keepalive, oobinline, rcvlowat: known, not supported.
_REFUSED_OPTIONS = frozenset({0, 3, 4, 7, 8, SO_RCVLOWAT})
_BUFFER_OPTIONS = {SO_SNDBUF: socket.SO_SNDBUF, SO_RCVBUF: socket.SO_RCVBUF}
_ADDRESS_SIZE = 128  # the v2 address buffer
_UNIX_NAME_MAX = 125
_ADDRINFO = struct.Struct("<HBBIIIIII")  # flags family socktype protocol addrlen addr
_ADDRINFO_NEXT = 24                      # canonname canonname_len next
_SOCKADDR = struct.Struct("<BxxxII")     # family (one byte), sa_data_len, sa_data
_RESULT_ADDRLEN = 16
_OLD_SA_DATA_LEN, _WIDE_SA_DATA_LEN = 14, 26


class HostSocket(Descriptor):
    """A datagram or AF_UNIX socket: a real host socket, as in timecraft."""

    __slots__ = ("sock",)

    def __init__(self, sock: socket.socket, rights: int = SOCKET_RIGHTS,
                 inheriting: int = CONNECTION_RIGHTS, flags: int = 0) -> None:
        sock.setblocking(not flags & abi.FDFLAG_NONBLOCK)
        filetype = abi.FILETYPE_SOCKET_DGRAM if sock.type == socket.SOCK_DGRAM \
            else abi.FILETYPE_SOCKET_STREAM
        super().__init__(sock.fileno(), filetype, rights, inheriting, flags)
        self.sock = sock

    def read_into(self, buffers: list[memoryview]) -> int:
        return self.sock.recvmsg_into(buffers)[0]

    def write_from(self, buffers: list[memoryview]) -> int:
        return self.sock.sendmsg(buffers, [], socket.MSG_NOSIGNAL)

    def set_nonblocking(self, nonblocking: bool) -> None:
        self.sock.setblocking(not nonblocking)

    def close(self) -> None:
        self.sock.close()

    def is_connected(self) -> bool:
        try:
            self.sock.getpeername()
        except OSError:
            return False
        return True


SocketDescriptor = VirtualStreamSocket | HostSocket


def is_socket(descriptor: Descriptor) -> bool:
    return isinstance(descriptor, (VirtualStreamSocket, HostSocket))


def tls_sessions(ca_file: str | None) -> Callable[[bytes], TlsClient]:
    """Starts hTLS sessions; the trust store is built (and ssl imported) on first use."""
    context: ssl.SSLContext | None = None
    lock = threading.Lock()

    def start(server_name: bytes) -> TlsClient:
        nonlocal context
        from host.htls import TlsClient, client_context

        with lock:  # tunnels start sessions from their own threads
            if context is None:
                context = client_context(ca_file)
        return TlsClient(context, server_name)

    return start


# A guest address: an IP endpoint, or an AF_UNIX name ("@name" is abstract).
GuestAddress = Endpoint | bytes


class SocketCalls:
    """Host functions for sockets. The WasmEdge ones exist only when the extension is on."""

    def __init__(self, memory: GuestMemory, table: FdTable, network: VirtualNetwork) -> None:
        self.memory = memory
        self.table = table
        self.network = network

    def _socket(self, fd: int, rights: int = 0) -> SocketDescriptor:
        descriptor = self.table.get(fd)
        if not isinstance(descriptor, (VirtualStreamSocket, HostSocket)):
            raise WasiError(abi.ENOTSOCK)
        self.table.get(fd, rights)
        return descriptor

    # -- addresses (spec §3) ---------------------------------------------------------

    def _read_address(self, descriptor: int, port: int) -> GuestAddress:
        """The address a {buf, buf_len} descriptor points at; the port keeps its low 16 bits."""
        buffer, length = self.memory.u32(descriptor), self.memory.u32(descriptor + 4)
        port &= 0xFFFF
        if length in (4, 16):  # the v1 forms: bare IPv4 or IPv6 bytes
            return Endpoint(self.memory.read(buffer, length), port)
        if length != _ADDRESS_SIZE:
            raise WasiError(abi.EINVAL)
        raw = self.memory.read(buffer, _ADDRESS_SIZE)
        family = int.from_bytes(raw[:2], "little")
        if family == INET:
            return Endpoint(raw[2:6], port)
        if family == INET6:
            return Endpoint(raw[2:18], port)
        if family == UNIX:
            end = raw.find(b"\0", 2)
            if end < 0:
                raise WasiError(abi.EINVAL)
            return raw[2:end]
        raise WasiError(abi.EINVAL)

    def _write_address(self, descriptor: int, address: GuestAddress) -> int:
        """Store `address` in the guest's 128-byte buffer; returns the port."""
        buffer, length = self.memory.u32(descriptor), self.memory.u32(descriptor + 4)
        if length != _ADDRESS_SIZE:
            raise WasiError(abi.EINVAL)
        self.memory.slice(buffer, _ADDRESS_SIZE)  # nothing is written unless all of it fits
        if isinstance(address, Endpoint):
            self.memory.put_u16(buffer, address.family)
            self.memory.write(buffer + 2, address.ip)
            return address.port
        name = b"@" + address[1:] if address.startswith(b"\0") else address
        if len(name) > _UNIX_NAME_MAX:
            raise WasiError(abi.EINVAL)
        self.memory.put_u16(buffer, UNIX)
        self.memory.write(buffer + 2, name + b"\0")
        return 0

    @staticmethod
    def _host_address(sock: socket.socket, address: GuestAddress) -> tuple[Any, ...] | bytes:
        """`address` for a real socket's bind/connect/sendto."""
        if sock.family == socket.AF_UNIX:
            if isinstance(address, Endpoint):
                raise WasiError(abi.EAFNOSUPPORT)
            if not address:
                raise WasiError(abi.EINVAL)
            if not address.startswith(b"@"):
                # A file-system socket would bypass the directory grants.
                raise WasiError(abi.EACCES)
            return b"\0" + address[1:]
        if not isinstance(address, Endpoint) or \
                _HOST_FAMILIES[address.family] != sock.family:
            raise WasiError(abi.EAFNOSUPPORT)
        return address.host_address()

    @staticmethod
    def _guest_address(sock: socket.socket, address: object) -> GuestAddress:
        if sock.family == socket.AF_UNIX:
            if isinstance(address, str):
                return address.encode("utf-8", "surrogateescape")
            return bytes(address) if isinstance(address, (bytes, bytearray)) else b""
        assert isinstance(address, tuple)
        return Endpoint.from_host(address)

    # -- preview 1 ---------------------------------------------------------------

    @hostcall("iii")
    def sock_accept(self, fd: int, flags: int, out: int) -> int:
        listener = self._socket(fd, abi.RIGHT_SOCK_ACCEPT)
        flags &= 0xFFFF  # stored verbatim in the new fd's fdstat; NONBLOCK matters
        accepted: SocketDescriptor
        if isinstance(listener, VirtualStreamSocket):
            accepted = listener.accept(flags)
        else:
            connection = listener.sock.accept()[0]
            accepted = HostSocket(connection, CONNECTION_RIGHTS, 0, flags)
        self.memory.put_u32(out, self.table.add(accepted))
        return 0

    @hostcall("iiiiii")
    def sock_recv(self, fd: int, iovs: int, iovs_len: int, riflags: int, out_nread: int,
                  out_roflags: int) -> int:
        descriptor = self._socket(fd, abi.RIGHT_FD_READ)
        received, roflags, _ = self._receive(descriptor, iovs, iovs_len, riflags)
        self.memory.put_u32(out_nread, received)
        self.memory.put_u32(out_roflags, roflags)  # 4 bytes, as timecraft writes it
        return 0

    def _receive(self, descriptor: SocketDescriptor, iovs: int, iovs_len: int,
                 riflags: int) -> tuple[int, int, object]:
        """(bytes, roflags, sender). PEEK and WAITALL are the flags; others are ignored."""
        buffers = self.memory.iovecs(iovs, iovs_len) or [memoryview(bytearray())]
        peek = bool(riflags & abi.RIFLAG_RECV_PEEK)
        if isinstance(descriptor, VirtualStreamSocket):
            return descriptor.receive(buffers, peek), 0, None
        flags = (socket.MSG_PEEK if peek else 0) | (
            socket.MSG_WAITALL if riflags & abi.RIFLAG_RECV_WAITALL else 0)
        received, _, message_flags, sender = descriptor.sock.recvmsg_into(buffers, 0, flags)
        truncated = abi.ROFLAG_RECV_DATA_TRUNCATED if message_flags & socket.MSG_TRUNC else 0
        return received, truncated, sender

    @hostcall("iiiii")
    def sock_send(self, fd: int, iovs: int, iovs_len: int, _siflags: int, out: int) -> int:
        descriptor = self._socket(fd, abi.RIGHT_FD_WRITE)
        # siflags are ignored, as in timecraft.
        self.memory.put_u32(out, descriptor.write_from(self.memory.iovecs(iovs, iovs_len)))
        return 0

    @hostcall("ii")
    def sock_shutdown(self, fd: int, how: int) -> int:
        descriptor = self._socket(fd, abi.RIGHT_SOCK_SHUTDOWN)
        if how & ~(abi.SDFLAG_RD | abi.SDFLAG_WR):
            return abi.EINVAL
        # timecraft ORs Linux's SHUT_RD (0) and SHUT_WR (1): RD|WR shuts only the
        # writing side, and 0 shuts the reading side.
        host_how = socket.SHUT_WR if how & abi.SDFLAG_WR else socket.SHUT_RD
        if isinstance(descriptor, VirtualStreamSocket):
            descriptor.shutdown(host_how)
        else:
            descriptor.sock.shutdown(host_how)
        return 0

    # -- WasmEdge extension ------------------------------------------------------

    @hostcall("iii", abi=WASMEDGE)
    def sock_open(self, family: int, socket_type: int, out: int) -> int:
        if family not in _HOST_FAMILIES:
            return abi.EAFNOSUPPORT
        if socket_type not in (DGRAM, STREAM):
            return abi.EPROTONOSUPPORT
        created: SocketDescriptor
        if family in (INET, INET6) and socket_type == STREAM:
            created = VirtualStreamSocket(self.network, family)
        else:
            created = HostSocket(socket.socket(
                _HOST_FAMILIES[family], socket.SOCK_STREAM if socket_type == STREAM
                else socket.SOCK_DGRAM))
        self.memory.put_u32(out, self.table.add(created))
        return 0

    @hostcall("iii", abi=WASMEDGE)
    def sock_bind(self, fd: int, address: int, port: int) -> int:
        descriptor = self._socket(fd, abi.RIGHT_SOCK_ACCEPT)
        target = self._read_address(address, port)
        if isinstance(descriptor, VirtualStreamSocket):
            if not isinstance(target, Endpoint):
                return abi.EAFNOSUPPORT
            descriptor.bind(target)
        else:
            descriptor.sock.bind(self._host_address(descriptor.sock, target))
        return 0

    @hostcall("iii", abi=WASMEDGE)
    def sock_connect(self, fd: int, address: int, port: int) -> int:
        descriptor = self._socket(fd)
        target = self._read_address(address, port)
        if isinstance(descriptor, VirtualStreamSocket):
            if not isinstance(target, Endpoint):
                return abi.EAFNOSUPPORT
            return descriptor.connect(target)
        host_target = self._host_address(descriptor.sock, target)
        if descriptor.flags & abi.FDFLAG_NONBLOCK:
            return abi.from_host_number(descriptor.sock.connect_ex(host_target))
        descriptor.sock.connect(host_target)
        return 0

    @hostcall("ii", abi=WASMEDGE)
    def sock_listen(self, fd: int, backlog: int) -> int:
        descriptor = self._socket(fd, abi.RIGHT_SOCK_ACCEPT)
        if isinstance(descriptor, VirtualStreamSocket):
            descriptor.listen()  # the backlog is ignored, as in timecraft
        else:
            descriptor.sock.listen(min(backlog, socket.SOMAXCONN))
        return 0

    @hostcall("iiiiiiii", abi=WASMEDGE)
    def sock_recv_from(self, fd: int, iovs: int, iovs_len: int, address: int, riflags: int,
                       out_port: int, out_nread: int, out_roflags: int) -> int:
        descriptor = self._socket(fd, abi.RIGHT_FD_READ)
        # The data is received first: a failure below leaves it consumed.
        received, roflags, sender = self._receive(descriptor, iovs, iovs_len, riflags)
        if descriptor.filetype == abi.FILETYPE_SOCKET_STREAM or sender is None:
            return abi.EINVAL  # a stream has no per-message sender
        assert isinstance(descriptor, HostSocket)
        port = self._write_address(address, self._guest_address(descriptor.sock, sender))
        self.memory.put_u32(out_port, port)
        self.memory.put_u32(out_nread, received)
        self.memory.put_u32(out_roflags, roflags)
        return 0

    @hostcall("iiiiiii", abi=WASMEDGE)
    def sock_send_to(self, fd: int, iovs: int, iovs_len: int, address: int, port: int,
                     _siflags: int, out: int) -> int:
        descriptor = self._socket(fd, abi.RIGHT_FD_WRITE)
        target = self._read_address(address, port)
        buffers = self.memory.iovecs(iovs, iovs_len)
        if isinstance(descriptor, VirtualStreamSocket):
            if descriptor.state is not None:
                return abi.EISCONN
            # timecraft reports an unconnected stream's data as sent, and drops it.
            self.memory.put_u32(out, sum(len(buffer) for buffer in buffers))
            return 0
        if descriptor.is_connected():
            return abi.EISCONN
        host_target = self._host_address(descriptor.sock, target)
        self.memory.put_u32(out, descriptor.sock.sendmsg(buffers, [], socket.MSG_NOSIGNAL,
                                                         host_target))
        return 0

    @hostcall("iiiii", abi=WASMEDGE)
    def sock_getsockopt(self, fd: int, level: int, option: int, out: int, value_len: int) -> int:
        descriptor = self._socket(fd)
        if level == LEVEL_SOCKET and option in _STRUCT_OPTIONS:
            return abi.ENOTSUP  # whatever the length
        if value_len != 4:  # a length passed by value, not a pointer
            return abi.EINVAL
        self.memory.put_u32(out, self._get_option(descriptor, level, option) & 0xFFFFFFFF)
        return 0

    @staticmethod
    def _get_option(descriptor: SocketDescriptor, level: int, option: int) -> int:
        if level == LEVEL_SOCKET:
            if option == SO_TYPE:
                return STREAM if descriptor.filetype == abi.FILETYPE_SOCKET_STREAM else DGRAM
            if option == SO_ERROR:
                if isinstance(descriptor, VirtualStreamSocket):
                    return descriptor.take_error()
                return abi.from_host_number(
                    descriptor.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
            if option in _BUFFER_OPTIONS:
                sock = descriptor.guest_end if isinstance(descriptor, VirtualStreamSocket) \
                    else descriptor.sock
                return sock.getsockopt(socket.SOL_SOCKET, _BUFFER_OPTIONS[option])
            if option == SO_ACCEPTCONN:
                if isinstance(descriptor, VirtualStreamSocket):
                    return int(descriptor.listening)
                return descriptor.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
            if option in _REFUSED_OPTIONS:
                raise WasiError(abi.ENOTSUP)
        elif level == LEVEL_TCP and option == TCP_NODELAY:
            raise WasiError(abi.ENOTSUP)
        raise WasiError(abi.EINVAL)  # unknown, including the hTLS option

    @hostcall("iiiii", abi=WASMEDGE)
    def sock_setsockopt(self, fd: int, level: int, option: int, value: int,
                        value_len: int) -> int:
        descriptor = self._socket(fd)
        if level == LEVEL_SOCKET and option in _STRUCT_OPTIONS:
            return abi.ENOTSUP
        number = 0
        if (level == LEVEL_SOCKET and option in _INT_OPTIONS) or \
                (level == LEVEL_TCP and option == TCP_NODELAY):
            if value_len != 4:
                return abi.EINVAL
            number = struct.unpack("<i", self.memory.read(value, 4))[0]
        if level == LEVEL_SOCKET:
            if option in _BUFFER_OPTIONS:
                sock = descriptor.guest_end if isinstance(descriptor, VirtualStreamSocket) \
                    else descriptor.sock
                sock.setsockopt(socket.SOL_SOCKET, _BUFFER_OPTIONS[option], number)
                return 0
            if option in _QUERY_OPTIONS:
                return abi.ENOTSUP
            if option in _REFUSED_OPTIONS:
                return abi.ENOPROTOOPT
        elif level == LEVEL_TCP and option == TCP_NODELAY:
            # Virtual TCP has no Nagle to turn off; a real socket's kernel refuses it.
            return abi.ENOTSUP if isinstance(descriptor, VirtualStreamSocket) \
                else abi.ENOPROTOOPT
        elif level == HTLS_LEVEL:
            server_name = self.memory.read(value, value_len)  # used verbatim
            if not isinstance(descriptor, VirtualStreamSocket):
                return abi.ENOTSUP
            if option != HTLS_SERVER_NAME:
                return abi.EINVAL
            descriptor.set_htls(server_name)
            return 0
        self.memory.read(value, value_len)  # unknown options are still read, then refused
        return abi.EINVAL

    def _name(self, fd: int, peer: bool) -> GuestAddress:
        descriptor = self._socket(fd)
        if isinstance(descriptor, VirtualStreamSocket):
            return descriptor.peer_name() if peer else descriptor.local_name()
        sock = descriptor.sock
        return self._guest_address(sock, sock.getpeername() if peer else sock.getsockname())

    @hostcall("iii", abi=WASMEDGE)
    def sock_getlocaladdr(self, fd: int, address: int, out_port: int) -> int:
        self.memory.put_u32(out_port, self._write_address(address, self._name(fd, False)))
        return 0

    @hostcall("iii", abi=WASMEDGE)
    def sock_getpeeraddr(self, fd: int, address: int, out_port: int) -> int:
        self.memory.put_u32(out_port, self._write_address(address, self._name(fd, True)))
        return 0

    @hostcall("iiiiiiii", abi=WASMEDGE)
    def sock_getaddrinfo(self, name: int, name_len: int, service: int, service_len: int,
                         hints: int, results: int, max_results: int, out_count: int) -> int:
        node = resolver.strip_nul(self.memory.read(name, name_len))
        port_text = resolver.strip_nul(self.memory.read(service, service_len))
        flags, family, socket_type, protocol = _ADDRINFO.unpack(
            self.memory.read(hints, _ADDRINFO.size))[:4]
        found = resolver.lookup(node, port_text, flags, family, socket_type, protocol,
                                max_results)
        record = self.memory.u32(results)  # *res is read, never written
        count = 0
        for item in found:
            self._fill_result(record, item)
            count += 1
            record = self.memory.u32(record + _ADDRINFO_NEXT)
            if record == 0:
                break
        self.memory.put_u32(out_count, count)
        return 0

    def _fill_result(self, record: int, found: resolver.Found) -> None:
        """Write only what timecraft writes: addr_len, canonname_len, the family byte, sa_data."""
        fields = list(_ADDRINFO.unpack(self.memory.read(record, _ADDRINFO.size)))
        sockaddr = fields[5]
        if sockaddr == 0:
            raise WasiError(abi.EFAULT)
        _, data_len, data = _SOCKADDR.unpack(self.memory.read(sockaddr, _SOCKADDR.size))
        if data_len == _OLD_SA_DATA_LEN:
            data_len = _WIDE_SA_DATA_LEN  # v1 guests declare 14 bytes and get 26
        encoded = struct.pack(">H", found.port) + found.address
        if data_len < len(encoded):
            raise WasiError(abi.EFAULT)
        self.memory.slice(data, data_len)  # all of sa_data must lie in memory
        fields[4] = _RESULT_ADDRLEN
        fields[7] = 0  # no canonical name, ever
        _ADDRINFO.pack_into(self.memory.view, record, *fields)
        self.memory.write(sockaddr, bytes([found.family]))
        self.memory.write(data, encoded)
