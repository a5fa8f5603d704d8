"""WasmEdge v2 sockets on real host sockets, driven at the host-function level."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

from wasm_guests import SocketGuest
from host import wasi_abi as abi

INET, INET6 = 1, 2
DGRAM, STREAM = 1, 2
LEVEL_SOCKET, LEVEL_TCP = 0, 6
FAMILIES = {"ipv4": (INET, "127.0.0.1", socket.AF_INET), "ipv6": (INET6, "::1", socket.AF_INET6)}


@pytest.mark.parametrize("family", FAMILIES.values(), ids=list(FAMILIES))
def test_tcp_server_in_guest(net: SocketGuest, family: tuple[int, str, int]) -> None:
    guest_family, loopback, host_family = family
    listener = net.socket(guest_family, STREAM)
    assert net.call("sock_bind", listener, net.address(loopback), 0) == 0
    assert net.call("sock_listen", listener, 5) == 0
    port = net.local_port(listener)
    with socket.create_connection((loopback, port)) as client:
        out = net.alloc(4)
        assert net.call("sock_accept", listener, 0, out) == 0
        connection = net.u32(out)
        client.sendall(b"ping")
        assert net.recv(connection) == (0, b"ping")
        assert net.send(connection, b"pong") == (0, 4)
        assert client.recv(4) == b"pong"
        peer = net.bytes_at(struct.pack("<II", net.alloc(128), 128))
        assert net.call("sock_getpeeraddr", connection, peer, out) == 0
        assert net.u32(out) == client.getsockname()[1]
        assert net.read_address(peer) == (guest_family,
                                          socket.inet_pton(host_family, loopback))
        client.close()
        assert net.recv(connection) == (0, b"")
    assert net.call("sock_shutdown", connection, 3) in (0, abi.ENOTCONN)
    assert net.call("fd_close", connection) == 0


@pytest.mark.parametrize("family", FAMILIES.values(), ids=list(FAMILIES))
def test_tcp_client_in_guest(net: SocketGuest, family: tuple[int, str, int]) -> None:
    guest_family, loopback, host_family = family
    with socket.socket(host_family, socket.SOCK_STREAM) as server:
        server.bind((loopback, 0))
        server.listen()
        fd = net.socket(guest_family, STREAM)
        assert net.call("sock_connect", fd, net.address(loopback), server.getsockname()[1]) == 0
        accepted, _ = server.accept()
        with accepted:
            assert net.write_fd(fd, b"via fd_write") == (0, 12)
            assert accepted.recv(100) == b"via fd_write"
            accepted.sendall(b"via fd_read")
            assert net.read_fd(fd) == (0, b"via fd_read")
        out = net.alloc(24)
        assert net.call("fd_fdstat_get", fd, out) == 0
        assert net.read(out, 1)[0] == abi.FILETYPE_SOCKET_STREAM


@pytest.mark.parametrize("family", FAMILIES.values(), ids=list(FAMILIES))
def test_udp_send_to_and_recv_from(net: SocketGuest, family: tuple[int, str, int]) -> None:
    guest_family, loopback, host_family = family
    fd = net.socket(guest_family, DGRAM)
    assert net.call("sock_bind", fd, net.address(loopback), 0) == 0
    port = net.local_port(fd)
    with socket.socket(host_family, socket.SOCK_DGRAM) as peer:
        peer.bind((loopback, 0))
        data = net.bytes_at(b"datagram")
        out = net.alloc(4)
        assert net.call("sock_send_to", fd, net.iovec([(data, 8)]), 1, net.address(loopback),
                        peer.getsockname()[1], 0, out) == 0
        received, sender_address = peer.recvfrom(100)
        assert (received, sender_address[:2]) == (b"datagram", (loopback, port))
        peer.sendto(b"reply-too-long", (loopback, port))
        buffer, sender = net.alloc(5), net.bytes_at(struct.pack("<II", net.alloc(128), 128))
        port_out, nread, roflags = net.alloc(4), net.alloc(4), net.alloc(4)
        assert net.call("sock_recv_from", fd, net.iovec([(buffer, 5)]), 1, sender, 0, port_out,
                        nread, roflags) == 0
        assert net.read(buffer, net.u32(nread)) == b"reply"
        assert net.u16(roflags) == abi.ROFLAG_RECV_DATA_TRUNCATED
        assert net.u32(port_out) == peer.getsockname()[1]
        assert net.read_address(sender) == (guest_family, socket.inet_pton(host_family, loopback))
    out = net.alloc(64)
    assert net.call("fd_fdstat_get", fd, out) == 0
    assert net.read(out, 1)[0] == abi.FILETYPE_SOCKET_DGRAM
    assert net.call("fd_filestat_get", fd, out) == 0
    assert net.read(out + 16, 1)[0] == abi.FILETYPE_SOCKET_DGRAM


def test_v1_address_form(net: SocketGuest) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        fd = net.socket(INET, STREAM)
        address = net.address("127.0.0.1", v1=True)
        assert net.call("sock_connect", fd, address, server.getsockname()[1]) == 0


def test_nonblocking_connect_then_poll(net: SocketGuest) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        fd = net.socket(INET, STREAM)
        net.set_nonblocking(fd)
        status = net.call("sock_connect", fd, net.address("127.0.0.1"), server.getsockname()[1])
        assert status in (0, abi.EINPROGRESS)
        assert net.poll(fd, abi.EVENTTYPE_FD_WRITE) == [abi.EVENTTYPE_FD_WRITE]
        assert net.getsockopt(fd, LEVEL_SOCKET, 2) == (0, 0)
        assert net.recv(fd)[0] == abi.EAGAIN
        assert net.poll(fd, abi.EVENTTYPE_FD_READ, timeout_ns=10_000_000) == [abi.EVENTTYPE_CLOCK]


def test_zero_timeout_poll_reports_a_ready_socket(net: SocketGuest) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        fd = net.socket(INET, STREAM)
        assert net.call("sock_connect", fd, net.address("127.0.0.1"), server.getsockname()[1]) == 0
        # A connected socket is writable now: the expired clock must not hide it.
        assert abi.EVENTTYPE_FD_WRITE in net.poll(fd, abi.EVENTTYPE_FD_WRITE, timeout_ns=0)
        assert net.poll(fd, abi.EVENTTYPE_FD_READ, timeout_ns=0) == [abi.EVENTTYPE_CLOCK]


def test_nonblocking_connect_refused(net: SocketGuest) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    fd = net.socket(INET, STREAM)
    net.set_nonblocking(fd)
    status = net.call("sock_connect", fd, net.address("127.0.0.1"), free_port)
    assert status in (abi.EINPROGRESS, abi.WASI_ERRNO["CONNREFUSED"])
    if status == abi.EINPROGRESS:
        assert net.poll(fd, abi.EVENTTYPE_FD_WRITE) == [abi.EVENTTYPE_FD_WRITE]
        assert net.getsockopt(fd, LEVEL_SOCKET, 2) == (0, abi.WASI_ERRNO["CONNREFUSED"])


def test_blocking_connect_refused(net: SocketGuest) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    fd = net.socket(INET, STREAM)
    assert net.call("sock_connect", fd, net.address("127.0.0.1"), free_port) \
        == abi.WASI_ERRNO["CONNREFUSED"]


def test_nonblocking_accept(net: SocketGuest) -> None:
    listener = net.socket(INET, STREAM)
    assert net.call("sock_bind", listener, net.address("127.0.0.1"), 0) == 0
    assert net.call("sock_listen", listener, 1) == 0
    net.set_nonblocking(listener)
    out = net.alloc(4)
    assert net.call("sock_accept", listener, 0, out) == abi.EAGAIN
    with socket.create_connection(("127.0.0.1", net.local_port(listener))):
        assert net.poll(listener, abi.EVENTTYPE_FD_READ) == [abi.EVENTTYPE_FD_READ]
        assert net.call("sock_accept", listener, abi.FDFLAG_NONBLOCK, out) == 0
        assert net.recv(net.u32(out))[0] == abi.EAGAIN


def test_socket_options(net: SocketGuest) -> None:
    fd = net.socket(INET, STREAM)
    one = (1).to_bytes(4, "little")
    assert net.setsockopt(fd, LEVEL_SOCKET, 0, one) == 0
    assert net.getsockopt(fd, LEVEL_SOCKET, 0) == (0, 1)
    assert net.setsockopt(fd, LEVEL_TCP, 15, one) == 0
    assert net.getsockopt(fd, LEVEL_TCP, 15) == (0, 1)
    assert net.setsockopt(fd, LEVEL_SOCKET, 6, (65536).to_bytes(4, "little")) == 0
    assert net.getsockopt(fd, LEVEL_SOCKET, 6)[1] >= 65536
    assert net.getsockopt(fd, LEVEL_SOCKET, 1) == (0, STREAM)
    assert net.getsockopt(fd, LEVEL_SOCKET, 13) == (0, 0)
    for unsupported in (9, 11, 12, 14):
        assert net.getsockopt(fd, LEVEL_SOCKET, unsupported)[0] == abi.ENOTSUP
        assert net.setsockopt(fd, LEVEL_SOCKET, unsupported, one) == abi.ENOTSUP
    assert net.setsockopt(fd, LEVEL_SOCKET, 1, one) == abi.ENOTSUP
    assert net.call("sock_getsockopt", fd, LEVEL_SOCKET, 0, net.alloc(4), 2) == abi.EINVAL


def test_socket_calls_on_a_file_are_enotsock(net: SocketGuest) -> None:
    assert net.call("sock_listen", 1, 5) == abi.ENOTSOCK
    assert net.call("sock_shutdown", 1, 3) == abi.ENOTSOCK


def test_bad_open_arguments(net: SocketGuest) -> None:
    out = net.alloc(4)
    assert net.call("sock_open", 9, STREAM, out) == abi.EAFNOSUPPORT
    assert net.call("sock_open", INET, 7, out) == abi.EINVAL
    fd = net.socket(INET, STREAM)
    assert net.call("sock_bind", fd, net.address("::1"), 0) == abi.EAFNOSUPPORT


def test_getaddrinfo_localhost(net: SocketGuest) -> None:
    records = []
    previous = 0
    for _ in range(4):  # the guest's preallocated list, last record first
        sockaddr_data = net.alloc(18)
        sockaddr = net.bytes_at(struct.pack("<III", 0, 18, sockaddr_data))
        canonical = net.alloc(64)
        record = net.bytes_at(struct.pack("<HBBIIIIII", 0, 0, 0, 0, 0, sockaddr, canonical, 64,
                                          previous))
        records.append((record, sockaddr, sockaddr_data))
        previous = record
    head = net.bytes_at(struct.pack("<I", previous))
    hints = net.bytes_at(struct.pack("<HBBIIIIII", 0, INET, STREAM, 0, 0, 0, 0, 0, 0))
    out = net.alloc(4)
    assert net.call("sock_getaddrinfo", *net.text("localhost\0"), *net.text("8080"), hints,
                    head, 4, out) == 0
    assert net.u32(out) >= 1
    first_record, sockaddr, data = records[-1]
    _, family, kind = struct.unpack("<HBB", net.read(first_record, 4))
    assert (family, kind) == (INET, STREAM)
    assert net.u32(sockaddr) == INET
    assert net.read(data, 6) == struct.pack(">H", 8080) + socket.inet_aton("127.0.0.1")
    assert net.call("sock_getaddrinfo", 0, 0, 0, 0, hints, head, 4, out) == abi.EINVAL
    assert net.call("sock_getaddrinfo", *net.text("no-such-host.invalid"), *net.text("80"),
                    hints, head, 4, out) != 0


def test_sockets_absent_unless_enabled(tree: Path) -> None:
    guest = SocketGuest([], sockets="none")
    try:
        assert guest.call("sock_open", INET, STREAM, guest.alloc(4)) == abi.ENOSYS
    finally:
        guest.close()
