"""The WasmEdge v2 socket functions as timecraft implements them, one spec row at a time.

Every test names the section of /work/shared/spec/timecraft-sockets.md it
checks ("§4 sock_bind" and so on). Guests are thin wasm wrappers around the
host functions (wasm_guests.py); out-pointers are filled with 0xAA first, so
a test sees exactly which bytes the host wrote. Host-side servers listen on
127.0.0.2: the guest's 127.0.0.1 is its own virtual loopback.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from host import resolver
from host import wasi_abi as abi
from host.errors import WasiError
from wasm_guests import SENTINEL, SocketGuest

INET, INET6, UNIX = 1, 2, 3
DGRAM, STREAM = 1, 2
LEVEL_SOCKET, LEVEL_TCP = 0, 6
HOST_SIDE = "127.0.0.2"  # where host servers listen: reached through the host dialer
ONE = (1).to_bytes(4, "little")


# -- host-side peers --------------------------------------------------------------


class EchoServer:
    """A host TCP server on 127.0.0.2 that echoes each connection until it ends."""

    def __init__(self) -> None:
        self.listener = socket.create_server((HOST_SIDE, 0))
        self.port = self.listener.getsockname()[1]
        self.peers: list[tuple[str, int]] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, peer = self.listener.accept()
            except OSError:
                return
            self.peers.append(peer)
            threading.Thread(target=self._echo, args=(connection,), daemon=True).start()

    @staticmethod
    def _echo(connection: socket.socket) -> None:
        with connection:
            connection.settimeout(10)
            try:
                while data := connection.recv(65536):
                    connection.sendall(data)
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


def closed_port(ip: str = HOST_SIDE) -> int:
    with socket.socket() as probe:
        probe.bind((ip, 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def recv_raw(net: SocketGuest, fd: int, size: int = 64, flags: int = 0
             ) -> tuple[int, bytes, bytes, bytes]:
    """(errno, data, nread slot, roflags slot): both slots 8 bytes of sentinel before."""
    buffer, nread, roflags = net.alloc(size), net.sentinel(8), net.sentinel(8)
    errno = net.call("sock_recv", fd, net.iovec([(buffer, size)]), 1, flags, nread, roflags)
    count = net.u32(nread) if errno == 0 else 0
    return errno, net.read(buffer, count), net.read(nread, 8), net.read(roflags, 8)


def connected_pair(net: SocketGuest, family: int = INET) -> tuple[int, int, int]:
    """(listener, client, accepted): a connection inside the guest's virtual network."""
    loopback = "127.0.0.1" if family == INET else "::1"
    listener, port = net.listener(loopback)
    client = net.socket(family, STREAM)
    assert net.connect(client, loopback, port) == 0
    errno, accepted = net.accept(listener)
    assert errno == 0
    return listener, client, accepted


# -- §1 ABI conventions and §0.1 widths ---------------------------------------------


def test_s1_integer_out_params_are_4_bytes(net: SocketGuest) -> None:
    """§1, §0.1: fd, nread, roflags and nwritten are 4-byte stores; roflags too."""
    fd_slot = net.sentinel(8)
    assert net.call("sock_open", INET, STREAM, fd_slot) == 0
    assert net.read(fd_slot + 4, 4) == SENTINEL * 4
    _, client, accepted = connected_pair(net)
    data, nwritten = net.bytes_at(b"hello"), net.sentinel(8)
    assert net.call("sock_send", client, net.iovec([(data, 5)]), 1, 0, nwritten) == 0
    assert net.read(nwritten, 8) == struct.pack("<I", 5) + SENTINEL * 4
    errno, received, nread, roflags = recv_raw(net, accepted)
    assert (errno, received) == (0, b"hello")
    assert nread == struct.pack("<I", 5) + SENTINEL * 4
    assert roflags == bytes(4) + SENTINEL * 4  # all four roflags bytes written


def test_s4_recv_writes_nothing_on_error(net: SocketGuest) -> None:
    """§4 sock_recv: on error (EAGAIN here) neither nread nor roflags is written."""
    _, client, _ = connected_pair(net)
    net.set_nonblocking(client)
    errno, _, nread, roflags = recv_raw(net, client)
    assert errno == abi.EAGAIN
    assert nread == roflags == SENTINEL * 8


# -- §3 address formats --------------------------------------------------------------


def test_s3_input_forms(net: SocketGuest) -> None:
    """§3: v2 128-byte form by family, v1 4/16-byte forms, anything else EINVAL."""
    listener, port = net.listener()
    fd = net.socket(INET, STREAM)
    assert net.call("sock_connect", fd, net.address("127.0.0.1", v1=True), port) == 0
    for length in (0, 8, 18, 127, 129):
        buffer = net.bytes_at(bytes(max(length, 1)))
        descriptor = net.bytes_at(struct.pack("<II", buffer, length))
        assert net.call("sock_connect", net.socket(INET, STREAM), descriptor, port) \
            == abi.EINVAL
    bad_family = bytearray(128)
    bad_family[0] = 9
    descriptor = net.bytes_at(struct.pack("<II", net.bytes_at(bytes(bad_family)), 128))
    assert net.call("sock_bind", net.socket(INET, STREAM), descriptor, 0) == abi.EINVAL
    unterminated = bytes([UNIX, 0]) + b"@" * 126
    descriptor = net.bytes_at(struct.pack("<II", net.bytes_at(unterminated), 128))
    assert net.call("sock_bind", net.socket(UNIX, STREAM), descriptor, 0) == abi.EINVAL
    net.call("fd_close", listener)


def test_s3_output_writes_only_family_and_address(net: SocketGuest) -> None:
    """§3: exactly 128 bytes or EINVAL with nothing written; only family u16 + address bytes."""
    fd, port = net.listener("127.0.0.1")
    short, port_slot = net.address_out(16), net.sentinel(8)
    assert net.call("sock_getlocaladdr", fd, short, port_slot) == abi.EINVAL
    assert net.read(net.buffer_of(short), 16) == SENTINEL * 16
    assert net.read(port_slot, 8) == SENTINEL * 8
    full = net.address_out()
    assert net.call("sock_getlocaladdr", fd, full, port_slot) == 0
    written = net.read(net.buffer_of(full), 128)
    assert written[:6] == b"\x01\x00\x7f\x00\x00\x01"
    assert written[6:] == SENTINEL * 122
    assert net.read(port_slot, 8) == struct.pack("<I", port) + SENTINEL * 4


def test_s3_port_keeps_its_low_16_bits(net: SocketGuest) -> None:
    """§3: the port is a u32 argument of which the virtual network keeps the low 16 bits."""
    listener, port = net.listener()
    fd = net.socket(INET, STREAM)
    assert net.connect(fd, "127.0.0.1", port + 0x10000) == 0
    assert net.accept(listener)[0] == 0
    assert net.connect(net.socket(INET, STREAM), "127.0.0.1", 0xFFFFFFFF) == abi.ECONNREFUSED


# -- §4 sock_open ---------------------------------------------------------------------


@pytest.mark.parametrize(("family", "kind", "expected"), [
    (0, STREAM, abi.EAFNOSUPPORT), (4, STREAM, abi.EAFNOSUPPORT),
    (INET, 0, abi.EPROTONOSUPPORT), (INET, 3, abi.EPROTONOSUPPORT),
    (INET, STREAM, 0), (INET6, DGRAM, 0), (UNIX, STREAM, 0),
])
def test_s4_sock_open_results(net: SocketGuest, family: int, kind: int, expected: int) -> None:
    """§4 sock_open: results by family and type."""
    assert net.call("sock_open", family, kind, net.alloc(4)) == expected


def test_s4_sock_open_fdstat(net: SocketGuest) -> None:
    """§4 fd_fdstat_get: socket filetypes and the rights of opened and accepted fds."""
    stream, datagram = net.socket(INET, STREAM), net.socket(INET, DGRAM)
    out = net.alloc(24)
    assert net.call("fd_fdstat_get", stream, out) == 0
    assert net.read(out, 1)[0] == abi.FILETYPE_SOCKET_STREAM
    assert (net.u64(out + 8), net.u64(out + 16)) == (0x3820004A, 0x1820004A)
    assert net.call("fd_fdstat_get", datagram, out) == 0
    assert net.read(out, 1)[0] == abi.FILETYPE_SOCKET_DGRAM
    listener, port = net.listener()
    assert net.connect(net.socket(INET, STREAM), "127.0.0.1", port) == 0
    errno, accepted = net.accept(listener, abi.FDFLAG_NONBLOCK)
    assert errno == 0
    assert net.call("fd_fdstat_get", accepted, out) == 0
    assert net.u16(out + 2) == abi.FDFLAG_NONBLOCK
    assert (net.u64(out + 8), net.u64(out + 16)) == (0x1820004A, 0)


# -- §4 sock_bind ---------------------------------------------------------------------


def test_s4_bind_rules(net: SocketGuest) -> None:
    """§4 sock_bind: second bind EINVAL, family mismatch EAFNOSUPPORT, taken port EADDRNOTAVAIL."""
    fd = net.socket(INET, STREAM)
    assert net.bind(fd, "127.0.0.1") == 0
    port = net.local_port(fd)
    assert net.bind(fd, "127.0.0.1") == abi.EINVAL
    assert net.bind(net.socket(INET, STREAM), "::1") == abi.EAFNOSUPPORT
    assert net.bind(net.socket(INET, STREAM), "127.0.0.1", port) == abi.EADDRNOTAVAIL
    assert net.bind(net.socket(INET, STREAM), "0.0.0.0", port) == abi.EADDRNOTAVAIL
    # Another family's loopback is another address.
    assert net.bind(net.socket(INET6, STREAM), "::1", port) == 0


def test_s4_bind_port_zero_counts_from_49152(net: SocketGuest) -> None:
    """§4 sock_bind: port 0 picks ephemeral ports from 49152 upward."""
    first, second = net.socket(INET, STREAM), net.socket(INET, STREAM)
    assert net.bind(first, "0.0.0.0") == net.bind(second, "0.0.0.0") == 0
    ports = [net.local_port(first), net.local_port(second)]
    assert 49152 <= ports[0] < ports[1]


def test_s4_bind_to_a_foreign_address_is_accepted(net: SocketGuest) -> None:
    """§4 sock_bind: an address of no interface is not refused; nothing can reach it."""
    fd = net.socket(INET, STREAM)
    assert net.bind(fd, "10.1.2.3", 4000) == 0
    assert net.name(fd) == (0, (INET, "10.1.2.3", 4000))


def test_s4_bind_needs_the_accept_right(net: SocketGuest) -> None:
    """§4 sock_bind: an accepted socket lacks SockAcceptRight (ENOTCAPABLE); files ENOTSOCK."""
    _, _, accepted = connected_pair(net)
    assert net.bind(accepted, "127.0.0.1") == abi.ENOTCAPABLE
    assert net.call("sock_listen", accepted, 1) == abi.ENOTCAPABLE
    assert net.call("sock_listen", 1, 5) == abi.ENOTSOCK
    assert net.call("sock_bind", 99, net.address("127.0.0.1"), 0) == abi.EBADF


def test_s7_the_api_port_is_taken_inside_the_guest(tree: Path) -> None:
    """§7: timecraft's service holds 127.0.0.1:7463 in every guest."""
    guest = SocketGuest([], api_serve=lambda connection: connection.close())
    try:
        assert guest.bind(guest.socket(INET, STREAM), "127.0.0.1", 7463) == abi.EADDRNOTAVAIL
        assert guest.bind(guest.socket(INET, STREAM), "127.0.0.1", 7464) == 0
    finally:
        guest.close()


# -- §4 sock_connect / §7 the virtual network ---------------------------------------------


def test_s4_connect_order_of_checks(net: SocketGuest) -> None:
    """§4 sock_connect: a listener EINVAL, a connected socket EISCONN, no listener ECONNREFUSED."""
    listener, port = net.listener()
    assert net.connect(listener, "127.0.0.1", port) == abi.EINVAL
    client = net.socket(INET, STREAM)
    assert net.connect(client, "127.0.0.1", port) == 0
    assert net.connect(client, "127.0.0.1", port) == abi.EISCONN
    assert net.connect(net.socket(INET, STREAM), "127.0.0.1", 1) == abi.ECONNREFUSED


def test_s4_unbound_client_is_bound_to_the_wildcard(net: SocketGuest) -> None:
    """§4 sock_connect, getlocaladdr: an unbound socket reports 0.0.0.0:0, a client 0.0.0.0:eph."""
    listener, port = net.listener()
    client = net.socket(INET, STREAM)
    assert net.name(client) == (0, (INET, "0.0.0.0", 0))
    assert net.name(client, peer=True)[0] == abi.ENOTCONN
    assert net.connect(client, "127.0.0.1", port) == 0
    errno, (family, address, client_port) = net.name(client)
    assert (errno, family, address) == (0, INET, "0.0.0.0") and client_port >= 49152
    assert net.name(client, peer=True) == (0, (INET, "127.0.0.1", port))
    errno, accepted = net.accept(listener)
    assert net.name(accepted) == (0, (INET, "127.0.0.1", port))
    assert net.name(accepted, peer=True) == (0, (INET, "0.0.0.0", client_port))


def test_s4_nonblocking_virtual_connect_says_einprogress(net: SocketGuest) -> None:
    """§4 sock_connect: EINPROGRESS although connected; writable at once, SO_ERROR 0."""
    listener, port = net.listener()
    client = net.socket(INET, STREAM)
    net.set_nonblocking(client)
    assert net.connect(client, "127.0.0.1", port) == abi.EINPROGRESS
    assert abi.EVENTTYPE_FD_WRITE in net.poll(client, abi.EVENTTYPE_FD_WRITE, timeout_ns=0)
    assert net.getsockopt(client, LEVEL_SOCKET, 2) == (0, 0)
    assert net.send(client, b"early") == (0, 5)  # before the server accepts
    errno, accepted = net.accept(listener)
    assert recv_raw(net, accepted)[:2] == (0, b"early")


def test_s4_family_is_not_checked_on_connect(net: SocketGuest) -> None:
    """§4 sock_connect: an INET socket connects to a listener on [::1]."""
    listener, port = net.listener("::1")
    client = net.socket(INET, STREAM)
    assert net.connect(client, "::1", port) == 0
    assert net.accept(listener)[0] == 0


def test_s7_wildcard_and_en0_reach_local_listeners(net: SocketGuest) -> None:
    """§7: 0.0.0.0:port and the guest's en0 address (172.16.0.0) reach its own listener."""
    listener, port = net.listener("0.0.0.0")
    for target in ("0.0.0.0", "172.16.0.0", "127.0.0.1"):
        assert net.connect(net.socket(INET, STREAM), target, port) == 0, target
        assert net.accept(listener)[0] == 0


def test_s7_loopback_is_private_to_the_guest(net: SocketGuest) -> None:
    """§7: a server on the host's 127.0.0.1 cannot be reached as 127.0.0.1."""
    with socket.create_server(("127.0.0.1", 0)) as host_server:
        port = host_server.getsockname()[1]
        assert net.connect(net.socket(INET, STREAM), "127.0.0.1", port) == abi.ECONNREFUSED


def test_s7_other_addresses_are_dialed_by_the_host(net: SocketGuest, echo: EchoServer) -> None:
    """§7, §4 sock_connect: 127.0.0.2 goes out through the host dialer; data flows both ways."""
    fd = net.socket(INET, STREAM)
    assert net.connect(fd, HOST_SIDE, echo.port) == 0
    assert net.send(fd, b"ping") == (0, 4)
    assert net.recv(fd) == (0, b"ping")
    errno, (family, address, port) = net.name(fd)
    assert (errno, family, address) == (0, INET, "0.0.0.0") and port >= 49152
    assert net.name(fd, peer=True) == (0, (INET, HOST_SIDE, echo.port))
    assert net.call("sock_shutdown", fd, abi.SDFLAG_WR) == 0
    assert net.recv(fd) == (0, b"")


def test_s6_blocking_connect_to_a_closed_port_returns_at_once(net: SocketGuest) -> None:
    """§6: 0 at once; SO_ERROR later gives ECONNREFUSED, then 0 (reading clears it); recv EOF."""
    fd = net.socket(INET, STREAM)
    assert net.connect(fd, HOST_SIDE, closed_port()) == 0
    wait_for(lambda: net.host.table.entries[fd].pending_error != 0)  # type: ignore[attr-defined]
    assert net.getsockopt(fd, LEVEL_SOCKET, 2) == (0, abi.ECONNREFUSED)
    assert net.getsockopt(fd, LEVEL_SOCKET, 2) == (0, 0)
    assert net.recv(fd) == (0, b"")


def test_s6_a_pending_dial_error_is_returned_by_the_next_io(net: SocketGuest) -> None:
    """§6: an error already pending when recv or send starts is what the call returns."""
    for operation in ("recv", "send"):
        fd = net.socket(INET, STREAM)
        assert net.connect(fd, HOST_SIDE, closed_port()) == 0
        wait_for(lambda fd=fd: net.host.table.entries[fd].pending_error != 0)  # type: ignore
        result = net.recv(fd) if operation == "recv" else net.send(fd, b"x")
        assert result[0] == abi.ECONNREFUSED, operation
        assert net.getsockopt(fd, LEVEL_SOCKET, 2) == (0, 0)


def test_s6_blocking_recv_waits_for_the_dial_to_fail(net: SocketGuest) -> None:
    """§6: a recv right after connect blocks until the dial fails, gives EOF; SO_ERROR keeps 14."""
    fd = net.socket(INET, STREAM)
    assert net.connect(fd, HOST_SIDE, closed_port()) == 0
    errno, data = net.recv(fd)
    assert errno in (0, abi.ECONNREFUSED)  # 0: the recv started before the failure
    if errno == 0:
        assert data == b""
        assert net.getsockopt(fd, LEVEL_SOCKET, 2) == (0, abi.ECONNREFUSED)


def test_s6_nonblocking_connect_to_a_closed_port(net: SocketGuest) -> None:
    """§6: EINPROGRESS, writable at once; the refusal shows in SO_ERROR; a send then EPIPE."""
    fd = net.socket(INET, STREAM)
    net.set_nonblocking(fd)
    assert net.connect(fd, HOST_SIDE, closed_port()) == abi.EINPROGRESS
    assert abi.EVENTTYPE_FD_WRITE in net.poll(fd, abi.EVENTTYPE_FD_WRITE, timeout_ns=0)
    wait_for(lambda: net.host.table.entries[fd].pending_error != 0)  # type: ignore[attr-defined]
    assert net.getsockopt(fd, LEVEL_SOCKET, 2) == (0, abi.ECONNREFUSED)
    wait_for(lambda: net.send(fd, b"x")[0] != 0)
    assert net.send(fd, b"x")[0] == abi.EPIPE


def test_s6_nonblocking_connect_to_an_open_port(net: SocketGuest, echo: EchoServer) -> None:
    """§6: EINPROGRESS, writable at once, recv EAGAIN until data arrives."""
    fd = net.socket(INET, STREAM)
    net.set_nonblocking(fd)
    assert net.connect(fd, HOST_SIDE, echo.port) == abi.EINPROGRESS
    assert abi.EVENTTYPE_FD_WRITE in net.poll(fd, abi.EVENTTYPE_FD_WRITE, timeout_ns=0)
    assert net.recv(fd)[0] == abi.EAGAIN
    assert net.send(fd, b"later") == (0, 5)
    assert net.poll(fd, abi.EVENTTYPE_FD_READ) == [abi.EVENTTYPE_FD_READ]
    assert net.recv(fd) == (0, b"later")


def test_s0_7_an_ipv4_mapped_dial_gives_an_errno(net: SocketGuest,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """§0.7, §6: timecraft ends the run on this dial error; ours reports it and says why."""
    fd = net.socket(INET6, STREAM)
    assert net.connect(fd, "::ffff:127.0.0.2", 80) == 0
    wait_for(lambda: net.host.table.entries[fd].pending_error != 0)  # type: ignore[attr-defined]
    assert net.getsockopt(fd, LEVEL_SOCKET, 2) == (0, abi.EAFNOSUPPORT)
    assert "timecraft ends the whole run" in capsys.readouterr().err


def _echo_on(connection: socket.socket) -> None:
    def echo() -> None:
        with connection:
            while data := connection.recv(65536):
                connection.sendall(data)

    threading.Thread(target=echo, daemon=True).start()


def test_s7_the_api_address_reaches_the_api(tree: Path, echo: EchoServer) -> None:
    """§7: 127.0.0.1:7463 inside the guest is timecraft's service (here: the host's API)."""
    guest = SocketGuest([], api_serve=_echo_on)
    try:
        fd = guest.socket(INET, STREAM)
        assert guest.connect(fd, "127.0.0.1", 7463) == 0
        assert guest.send(fd, b"api?") == (0, 4)
        assert guest.recv(fd) == (0, b"api?")
    finally:
        guest.close()


def test_s7_a_spawned_guest_is_reached_at_its_own_address(tree: Path) -> None:
    """§7: a spawned process's listeners are reachable at its address; its 127.0.0.1 is its own."""
    own = "127.77.0.9"
    guest = SocketGuest([], ip_address=own)
    try:
        listener, port = guest.listener("0.0.0.0")
        with socket.create_connection((own, port), timeout=5) as client:
            errno, accepted = guest.accept(listener)
            assert errno == 0
            client.sendall(b"to the child")
            assert guest.recv(accepted) == (0, b"to the child")
        assert guest.connect(guest.socket(INET, STREAM), own, port) == 0  # en0: virtual
        assert guest.accept(listener)[0] == 0
    finally:
        guest.close()


# -- §4 sock_listen / sock_accept ------------------------------------------------------


def test_s4_listen_rules(net: SocketGuest) -> None:
    """§4 sock_listen: twice is fine, a connected socket EINVAL, an unbound one is bound."""
    listener, port = net.listener()
    assert net.call("sock_listen", listener, 5) == 0
    _, client, _ = connected_pair(net)
    assert net.call("sock_listen", client, 5) == abi.EINVAL
    unbound = net.socket(INET, STREAM)
    assert net.call("sock_listen", unbound, 0xFFFFFFFF) == 0  # the backlog is ignored
    errno, (_, address, unbound_port) = net.name(unbound)
    assert (errno, address) == (0, "0.0.0.0") and unbound_port >= 49152
    assert net.getsockopt(unbound, LEVEL_SOCKET, 13) == (0, 1)


def test_s4_a_listener_is_exposed_on_the_host(net: SocketGuest) -> None:
    """§4 sock_listen, §7: host connections reach the guest listener with their real peer."""
    listener, port = net.listener("127.0.0.1")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        errno, accepted = net.accept(listener)
        assert errno == 0
        assert net.name(accepted, peer=True) == (0, (INET, "127.0.0.1",
                                                     client.getsockname()[1]))
        assert net.name(accepted) == (0, (INET, "127.0.0.1", port))
        client.sendall(b"from the host")
        assert net.recv(accepted) == (0, b"from the host")
        assert net.send(accepted, b"from the guest") == (0, 14)
        assert client.recv(100) == b"from the guest"


def test_s4_listen_fails_when_the_host_port_is_taken(net: SocketGuest) -> None:
    """§4 sock_listen: EADDRINUSE from listen when the host port is busy; bind had succeeded."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        fd = net.socket(INET, STREAM)
        assert net.bind(fd, "127.0.0.1", port) == 0
        assert net.call("sock_listen", fd, 5) == abi.EADDRINUSE


def test_s4_accept_rules(net: SocketGuest) -> None:
    """§4 sock_accept: EINVAL when not listening, EAGAIN when nothing waits; poll sees arrivals."""
    assert net.accept(net.socket(INET, STREAM))[0] == abi.EINVAL
    listener, port = net.listener()
    net.set_nonblocking(listener)
    assert net.accept(listener)[0] == abi.EAGAIN
    assert net.poll(listener, abi.EVENTTYPE_FD_READ, timeout_ns=0) == [abi.EVENTTYPE_CLOCK]
    assert net.connect(net.socket(INET, STREAM), "127.0.0.1", port) == 0
    assert abi.EVENTTYPE_FD_READ in net.poll(listener, abi.EVENTTYPE_FD_READ, timeout_ns=0)
    errno, accepted = net.accept(listener, abi.FDFLAG_NONBLOCK)
    assert errno == 0
    assert net.recv(accepted)[0] == abi.EAGAIN


# -- §4 sock_recv / sock_recv_from / sock_send / sock_send_to ------------------------------


def test_s4_recv_flags(net: SocketGuest) -> None:
    """§4 sock_recv: PEEK works, WAITALL is not honoured, unknown bits are ignored."""
    _, client, accepted = connected_pair(net)
    assert net.send(client, b"12345") == (0, 5)
    assert recv_raw(net, accepted, 10, abi.RIFLAG_RECV_PEEK)[:2] == (0, b"12345")
    assert recv_raw(net, accepted, 10, abi.RIFLAG_RECV_WAITALL)[:2] == (0, b"12345")
    assert net.send(client, b"again") == (0, 5)
    assert recv_raw(net, accepted, 10, 4)[:2] == (0, b"again")


def test_s4_recv_results(net: SocketGuest) -> None:
    """§4 sock_recv: EOF is 0 bytes, a listener EINVAL, an unconnected non-blocking one EAGAIN."""
    listener, client, accepted = connected_pair(net)
    assert net.call("fd_close", client) == 0
    assert net.recv(accepted) == (0, b"")
    assert net.recv(listener)[0] == abi.EINVAL
    lonely = net.socket(INET, STREAM)
    net.set_nonblocking(lonely)
    assert net.recv(lonely)[0] == abi.EAGAIN


def test_s4_recv_from_on_a_stream_is_einval_and_loses_the_data(net: SocketGuest) -> None:
    """§4 sock_recv_from, §0.2: EINVAL after consuming the data; nothing is written."""
    _, client, accepted = connected_pair(net)
    assert net.send(client, b"abcdef") == (0, 6)
    buffer, sender = net.alloc(16), net.address_out()
    port, nread, roflags = net.sentinel(4), net.sentinel(4), net.sentinel(4)
    assert net.call("sock_recv_from", accepted, net.iovec([(buffer, 16)]), 1, sender, 0, port,
                    nread, roflags) == abi.EINVAL
    assert net.read(port, 4) == net.read(nread, 4) == net.read(roflags, 4) == SENTINEL * 4
    assert net.read(net.buffer_of(sender), 128) == SENTINEL * 128
    net.set_nonblocking(accepted)
    assert net.recv(accepted)[0] == abi.EAGAIN  # the six bytes are gone


def test_s4_udp_recv_from(net: SocketGuest) -> None:
    """§4 sock_recv_from: UDP writes family+address, port, nread and roflags (4 bytes each)."""
    fd = net.socket(INET, DGRAM)
    assert net.bind(fd, "127.0.0.1") == 0
    port = net.local_port(fd)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.sendto(b"reply-too-long", ("127.0.0.1", port))
        buffer, sender = net.alloc(5), net.address_out()
        port_out, nread, roflags = net.sentinel(8), net.sentinel(8), net.sentinel(8)
        assert net.call("sock_recv_from", fd, net.iovec([(buffer, 5)]), 1, sender, 0, port_out,
                        nread, roflags) == 0
        assert net.read(buffer, 5) == b"reply"
        assert net.read(roflags, 8) == struct.pack("<I", 1) + SENTINEL * 4  # truncated
        assert net.read(nread, 8) == struct.pack("<I", 5) + SENTINEL * 4
        assert net.read(port_out, 8) == struct.pack("<I", peer.getsockname()[1]) + SENTINEL * 4
        written = net.read(net.buffer_of(sender), 128)
        assert written[:6] == b"\x01\x00\x7f\x00\x00\x01" and written[6:] == SENTINEL * 122
        peer.sendto(b"lost", ("127.0.0.1", port))
        wait_for(lambda: abi.EVENTTYPE_FD_READ in net.poll(fd, abi.EVENTTYPE_FD_READ, 0))
        assert net.call("sock_recv_from", fd, net.iovec([(buffer, 5)]), 1, net.address_out(16),
                        0, port_out, nread, roflags) == abi.EINVAL
        net.set_nonblocking(fd)
        assert net.recv(fd)[0] == abi.EAGAIN  # consumed all the same


def test_s4_send_rules(net: SocketGuest) -> None:
    """§4 sock_send: siflags ignored; unconnected ENOTCONN; after the peer closed EPIPE."""
    _, client, accepted = connected_pair(net)
    data, out = net.bytes_at(b"x"), net.alloc(4)
    assert net.call("sock_send", client, net.iovec([(data, 1)]), 1, 0xFFFF, out) == 0
    assert net.send(net.socket(INET, STREAM), b"x")[0] == abi.ENOTCONN
    assert net.call("fd_close", accepted) == 0
    assert net.send(client, b"x")[0] == abi.EPIPE


def test_s4_send_to(net: SocketGuest, echo: EchoServer) -> None:
    """§4 sock_send_to: EISCONN on connected TCP and UDP; an unconnected stream drops the data."""
    listener, client, _ = connected_pair(net)
    data, nwritten = net.bytes_at(b"hi"), net.sentinel(4)
    iov = net.iovec([(data, 2)])
    port = net.local_port(listener)
    assert net.call("sock_send_to", client, iov, 1, net.address("127.0.0.1"), port, 0,
                    nwritten) == abi.EISCONN
    assert net.read(nwritten, 4) == SENTINEL * 4
    lonely = net.socket(INET, STREAM)
    assert net.call("sock_send_to", lonely, iov, 1, net.address("127.0.0.1"), port, 0,
                    nwritten) == 0
    assert net.u32(nwritten) == 2
    udp = net.socket(INET, DGRAM)
    assert net.connect(udp, "127.0.0.1", port) == 0
    assert net.call("sock_send_to", udp, iov, 1, net.address("127.0.0.1"), port, 0,
                    nwritten) == abi.EISCONN


def test_s4_udp_send_to_reaches_the_host(net: SocketGuest) -> None:
    """§4 sock_send_to, §7: UDP sockets are real host sockets, so 127.0.0.1 is the host's."""
    fd = net.socket(INET, DGRAM)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        data, out = net.bytes_at(b"datagram"), net.alloc(4)
        assert net.call("sock_send_to", fd, net.iovec([(data, 8)]), 1, net.address("127.0.0.1"),
                        peer.getsockname()[1], 0, out) == 0
        peer.settimeout(5)
        assert peer.recvfrom(100)[0] == b"datagram"


def test_s4_shutdown_mapping(net: SocketGuest) -> None:
    """§4 sock_shutdown: other bits EINVAL; WR gives the peer EOF; RD|WR shuts only WR; 0 is RD."""
    _, client, accepted = connected_pair(net)
    assert net.call("sock_shutdown", client, 4) == abi.EINVAL
    assert net.call("sock_shutdown", client, abi.SDFLAG_RD | abi.SDFLAG_WR) == 0
    assert net.recv(accepted) == (0, b"")
    assert net.send(accepted, b"still readable") == (0, 14)
    assert net.recv(client) == (0, b"still readable")
    assert net.call("sock_shutdown", accepted, 0) == 0


def test_fd_read_and_fd_write_are_recv_and_send(net: SocketGuest, echo: EchoServer) -> None:
    """§4 fd_read/fd_write on sockets: the same as recv and send without flags."""
    fd = net.socket(INET, STREAM)
    assert net.connect(fd, HOST_SIDE, echo.port) == 0
    assert net.write_fd(fd, b"via fd_write") == (0, 12)
    assert net.read_fd(fd) == (0, b"via fd_write")


# -- §5 options ---------------------------------------------------------------------------

GET_ROWS = [  # (level, name, expected errno) for getsockopt with length 4
    (0, 0, abi.ENOTSUP), (0, 3, abi.ENOTSUP), (0, 4, abi.ENOTSUP), (0, 7, abi.ENOTSUP),
    (0, 8, abi.ENOTSUP), (0, 9, abi.ENOTSUP), (0, 10, abi.ENOTSUP), (0, 11, abi.ENOTSUP),
    (0, 12, abi.ENOTSUP), (0, 14, abi.ENOTSUP), (0, 15, abi.EINVAL), (6, 15, abi.ENOTSUP),
    (6, 1, abi.EINVAL), (1, 2, abi.EINVAL), (0x74696D65, 1, abi.EINVAL),
]
SET_ROWS = [  # (level, name, expected errno) for setsockopt with a 4-byte int
    (0, 0, abi.ENOPROTOOPT), (0, 1, abi.ENOTSUP), (0, 2, abi.ENOTSUP), (0, 3, abi.ENOPROTOOPT),
    (0, 4, abi.ENOPROTOOPT), (0, 5, 0), (0, 6, 0), (0, 7, abi.ENOPROTOOPT),
    (0, 8, abi.ENOPROTOOPT), (0, 9, abi.ENOTSUP), (0, 10, abi.ENOPROTOOPT),
    (0, 11, abi.ENOTSUP), (0, 12, abi.ENOTSUP), (0, 13, abi.ENOTSUP), (0, 14, abi.ENOTSUP),
    (0, 15, abi.EINVAL), (6, 15, abi.ENOTSUP), (6, 1, abi.EINVAL), (1, 2, abi.EINVAL),
]


@pytest.mark.parametrize(("level", "name", "expected"), GET_ROWS)
def test_s5_getsockopt_table(net: SocketGuest, level: int, name: int, expected: int) -> None:
    """§5: getsockopt of each option on a virtual TCP socket."""
    assert net.getsockopt(net.socket(INET, STREAM), level, name)[0] == expected


@pytest.mark.parametrize(("level", "name", "expected"), SET_ROWS)
def test_s5_setsockopt_table(net: SocketGuest, level: int, name: int, expected: int) -> None:
    """§5: setsockopt of each option, as a 4-byte int, on a virtual TCP socket."""
    assert net.setsockopt(net.socket(INET, STREAM), level, name, ONE) == expected


def test_s5_values_and_lengths(net: SocketGuest) -> None:
    """§5, §4 sock_getsockopt/setsockopt: values; lengths other than 4; UDP differences."""
    fd = net.socket(INET, STREAM)
    assert net.getsockopt(fd, LEVEL_SOCKET, 1) == (0, STREAM)
    assert net.getsockopt(net.socket(INET, DGRAM), LEVEL_SOCKET, 1) == (0, DGRAM)
    assert net.getsockopt(fd, LEVEL_SOCKET, 13) == (0, 0)
    assert net.setsockopt(fd, LEVEL_SOCKET, 6, (65536).to_bytes(4, "little")) == 0
    assert net.getsockopt(fd, LEVEL_SOCKET, 6)[1] >= 65536
    assert net.getsockopt(fd, LEVEL_SOCKET, 5)[1] > 0
    value = net.sentinel(8)
    assert net.call("sock_getsockopt", fd, LEVEL_SOCKET, 1, value, 8) == abi.EINVAL
    assert net.call("sock_getsockopt", fd, LEVEL_SOCKET, 9, value, 8) == abi.ENOTSUP
    assert net.call("sock_getsockopt", fd, LEVEL_SOCKET, 1, value, 4) == 0
    assert net.read(value, 8) == struct.pack("<I", STREAM) + SENTINEL * 4
    assert net.setsockopt(fd, LEVEL_SOCKET, 0, ONE * 2) == abi.EINVAL
    assert net.setsockopt(fd, LEVEL_SOCKET, 10, b"x") == abi.ENOPROTOOPT  # any length
    udp = net.socket(INET, DGRAM)
    assert net.setsockopt(udp, LEVEL_TCP, 15, ONE) == abi.ENOPROTOOPT
    assert net.getsockopt(udp, LEVEL_TCP, 15)[0] == abi.ENOTSUP


# -- §4 sock_getaddrinfo -------------------------------------------------------------------


def addrinfo_chain(net: SocketGuest, length: int, data_len: int = 18) -> list[tuple[int, int, int]]:
    """A guest-built result list, all sentinel: [(record, sockaddr, sa_data)] in order."""
    chain: list[tuple[int, int, int]] = []
    following = 0
    for _ in range(length):
        data = net.sentinel(max(data_len, 1))
        sockaddr = net.bytes_at(SENTINEL * 4 + struct.pack("<II", data_len, data))
        record = net.bytes_at(SENTINEL * 12 + struct.pack("<I", sockaddr) + SENTINEL * 8
                              + struct.pack("<I", following))
        chain.insert(0, (record, sockaddr, data))
        following = record
    return chain


def getaddrinfo(net: SocketGuest, node: bytes, service: bytes, *, flags: int = 0,
                family: int = 0, kind: int = 0, protocol: int = 0, limit: int = 4,
                chain: list[tuple[int, int, int]] | None = None) -> tuple[int, int, int]:
    """(errno, count, head slot) for one call."""
    chain = chain if chain is not None else addrinfo_chain(net, limit)
    head = net.bytes_at(struct.pack("<I", chain[0][0]))
    hints = net.bytes_at(struct.pack("<HBBI", flags, family, kind, protocol) + bytes(20))
    count = net.sentinel(4)
    errno = net.call("sock_getaddrinfo", *net.text(node), *net.text(service), hints, head,
                     limit, count)
    return errno, (net.u32(count) if errno == 0 else -1), head


def test_s4_getaddrinfo_writes_only_what_timecraft_writes(net: SocketGuest) -> None:
    """§4 sock_getaddrinfo, §0.3: addr_len=16 and canonname_len=0, one family byte, port BE + address."""
    chain = addrinfo_chain(net, 2)
    errno, count, head = getaddrinfo(net, b"127.0.0.1\0", b"80", chain=chain, limit=2)
    assert (errno, count) == (0, 1)
    record, sockaddr, data = chain[0]
    written = net.read(record, 28)
    assert written[:8] == SENTINEL * 8  # flags, family, socktype, protocol untouched
    assert written[8:12] == struct.pack("<I", 16)
    assert written[12:16] == struct.pack("<I", sockaddr)
    assert written[20:24] == bytes(4)
    assert net.read(sockaddr, 4) == b"\x01" + SENTINEL * 3
    assert net.read(data, 18) == b"\x00\x50\x7f\x00\x00\x01" + SENTINEL * 12
    assert net.u32(head) == record  # *res is never written
    assert net.read(chain[1][0], 8) == SENTINEL * 8  # nothing beyond the count


def test_s4_getaddrinfo_request_checks(net: SocketGuest) -> None:
    """§4 sock_getaddrinfo: EINVAL for max_res_len 0 or 1 and both empty; ENOTSUP for bad hints."""
    assert getaddrinfo(net, b"127.0.0.1", b"80", limit=1)[0] == abi.EINVAL
    assert getaddrinfo(net, b"127.0.0.1", b"80", limit=0, chain=addrinfo_chain(net, 1))[0] \
        == abi.EINVAL
    assert getaddrinfo(net, b"", b"")[0] == abi.EINVAL
    for hints in ({"family": 3}, {"kind": 3}, {"kind": STREAM, "protocol": 2},
                  {"kind": DGRAM, "protocol": 1}):
        assert getaddrinfo(net, b"127.0.0.1", b"80", **hints)[0] == abi.ENOTSUP, hints


def test_s4_getaddrinfo_service(net: SocketGuest) -> None:
    """§4 sock_getaddrinfo: empty service is port 0, names are looked up, bad ones EINVAL."""
    chain = addrinfo_chain(net, 2)
    assert getaddrinfo(net, b"127.0.0.1", b"", chain=chain)[:2] == (0, 1)
    assert net.read(chain[0][2], 2) == b"\0\0"
    chain = addrinfo_chain(net, 2)
    assert getaddrinfo(net, b"127.0.0.1", b"http", kind=STREAM, chain=chain)[:2] == (0, 1)
    assert net.read(chain[0][2], 2) == b"\x00\x50"
    for service, flags in ((b"http", 8), (b"70000", 0), (b"no-such-service", 0), (b"\xff", 0)):
        assert getaddrinfo(net, b"127.0.0.1", service, flags=flags)[0] == abi.EINVAL, service


def test_s4_getaddrinfo_node(net: SocketGuest) -> None:
    """§4 sock_getaddrinfo: NUMERICHOST, empty node with and without PASSIVE, family 2."""
    assert getaddrinfo(net, b"localhost", b"80", flags=4)[0] == abi.EINVAL
    assert getaddrinfo(net, b"::1", b"80", flags=4)[:2] == (0, 1)
    cases = [(0, 0, b"\x7f\x00\x00\x01"), (0, INET6, bytes(15) + b"\x01"),
             (1, 0, bytes(4)), (1, INET6, bytes(16))]
    for flags, family, address in cases:
        chain = addrinfo_chain(net, 2)
        assert getaddrinfo(net, b"", b"8080", flags=flags, family=family, chain=chain)[:2] \
            == (0, 1)
        assert net.read(chain[0][2], 2 + len(address)) == b"\x1f\x90" + address
        assert net.read(chain[0][1], 1)[0] == (family or INET)


def test_s4_getaddrinfo_failures_are_ecanceled(net: SocketGuest) -> None:
    """§4 sock_getaddrinfo: any resolver failure is ECANCELED (issue 8: never an exception)."""
    for name in (b"a" * 64 + b".example", b"\xff", b"bad name", b"xn--zz\xff"):
        assert getaddrinfo(net, name, b"80")[0] == abi.ECANCELED, name
    assert getaddrinfo(net, b"127.0.0.1", b"80", family=INET6)[0] == abi.ECANCELED


def test_s4_getaddrinfo_stops_at_the_end_of_the_chain(net: SocketGuest,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """§4 sock_getaddrinfo: results fill the chain until max_res_len or a record's next is 0."""
    fake = [(socket.AF_INET, 1, 6, "", ("10.0.0.1", 0)),
            (socket.AF_INET, 1, 6, "", ("10.0.0.2", 0))]
    monkeypatch.setattr(resolver.socket, "getaddrinfo", lambda *args: fake)
    assert getaddrinfo(net, b"two.example", b"80", chain=addrinfo_chain(net, 1))[:2] == (0, 1)


def test_s4_getaddrinfo_faults(net: SocketGuest) -> None:
    """§4 sock_getaddrinfo: EFAULT for a null ai_addr or short sa_data; 14 is read as 26."""
    chain = addrinfo_chain(net, 2, data_len=5)
    assert getaddrinfo(net, b"127.0.0.1", b"80", chain=chain)[0] == abi.EFAULT
    chain = addrinfo_chain(net, 2)
    net.memory.write(net.store, bytes(4), chain[0][0] + 12)
    assert getaddrinfo(net, b"127.0.0.1", b"80", chain=chain)[0] == abi.EFAULT
    chain = addrinfo_chain(net, 2, data_len=14)
    assert getaddrinfo(net, b"::1", b"80", chain=chain)[:2] == (0, 1)


def test_s4_getaddrinfo_orders_ipv4_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """§4 sock_getaddrinfo: all IPv4 addresses first, then IPv6, each in resolver order."""
    fake = [(socket.AF_INET6, 1, 6, "", ("::2", 0, 0, 0)), (socket.AF_INET, 1, 6, "", ("10.0.0.1", 0)),
            (socket.AF_INET6, 1, 6, "", ("::3", 0, 0, 0)), (socket.AF_INET, 1, 6, "", ("10.0.0.2", 0))]
    monkeypatch.setattr(resolver.socket, "getaddrinfo", lambda *args: fake)
    found = resolver.lookup(b"many.example", b"", 0, 0, 0, 0, 8)
    assert [socket.inet_ntop(socket.AF_INET if f.family == 1 else socket.AF_INET6, f.address)
            for f in found] == ["10.0.0.1", "10.0.0.2", "::2", "::3"]
    assert len(resolver.lookup(b"many.example", b"", 0, 0, 0, 0, 2)) == 2
    assert {f.family for f in resolver.lookup(b"many.example", b"", 0, 2, 0, 0, 8)} == {2}


def test_resolver_passes_names_to_the_host_resolver_as_bytes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """§4 sock_getaddrinfo: an IDNA-looking name is resolved, not decoded (issue 8: "xn--zz")."""
    asked: list[object] = []

    def refuse(name: object, *args: object) -> list:
        asked.append(name)
        raise socket.gaierror(socket.EAI_NONAME, "not found")

    monkeypatch.setattr(resolver.socket, "getaddrinfo", refuse)
    with pytest.raises(WasiError) as caught:
        resolver.lookup(b"xn--zz", b"", 0, 0, 0, 0, 4)
    assert caught.value.errno == abi.ECANCELED and asked == [b"xn--zz"]


# -- poll_oneoff (§4) ---------------------------------------------------------------------


def test_s4_poll_event_layout_for_sockets(net: SocketGuest) -> None:
    """§4 poll_oneoff: every slot zeroed, nbytes and flags 0 even with data and a hangup."""
    _, client, accepted = connected_pair(net)
    assert net.send(client, b"queued") == (0, 6)
    assert net.call("fd_close", client) == 0
    subscriptions = net.bytes_at(struct.pack("<QB7xI28x", 7, abi.EVENTTYPE_FD_READ, accepted)
                                 + struct.pack("<QB7xIxxxxQQH6x", 8, abi.EVENTTYPE_CLOCK,
                                               abi.CLOCK_MONOTONIC, 10**9, 0, 0))
    events, count = net.sentinel(64), net.alloc(4)
    assert net.call("poll_oneoff", subscriptions, events, 2, count) == 0
    assert net.u32(count) == 1
    assert net.read(events, 32) == struct.pack("<QHB5xQH6x", 7, 0, abi.EVENTTYPE_FD_READ, 0, 0)
    assert net.read(events + 32, 32) == bytes(32)


def test_s4_poll_a_bad_fd_fires_the_clocks(net: SocketGuest) -> None:
    """§4 poll_oneoff: an invalid fd's event carries EBADF and every clock fires at once."""
    subscriptions = net.bytes_at(struct.pack("<QB7xI28x", 1, abi.EVENTTYPE_FD_READ, 77)
                                 + struct.pack("<QB7xIxxxxQQH6x", 2, abi.EVENTTYPE_CLOCK,
                                               abi.CLOCK_MONOTONIC, 60 * 10**9, 0, 0))
    events, count = net.alloc(64), net.alloc(4)
    started = time.monotonic()
    assert net.call("poll_oneoff", subscriptions, events, 2, count) == 0
    assert time.monotonic() - started < 5
    assert net.u32(count) == 2
    assert net.u16(events + 8) == abi.EBADF
    assert net.read(events + 32 + 10, 1)[0] == abi.EVENTTYPE_CLOCK


# -- §1 extension selection ----------------------------------------------------------------


def test_s1_sockets_absent_when_turned_off(tree: Path) -> None:
    """§1: -S none leaves the functions present but failing with ENOSYS."""
    guest = SocketGuest([], sockets="none")
    try:
        assert guest.call("sock_open", INET, STREAM, guest.alloc(4)) == abi.ENOSYS
    finally:
        guest.close()


def test_s1_auto_detects_wasmedge_v2(tree: Path) -> None:
    """§1: with the default "auto", a module importing WasmEdge functions gets them."""
    guest = SocketGuest([], sockets="auto")
    try:
        assert guest.call("sock_open", INET, STREAM, guest.alloc(4)) == 0
    finally:
        guest.close()


def test_unix_sockets_stay_within_the_grants(net: SocketGuest) -> None:
    """§4 sock_open (UNIX is a real host socket): only abstract names, never host paths."""
    fd = net.socket(UNIX, STREAM)
    path = bytes([UNIX, 0]) + b"/tmp/guest.sock\0"
    descriptor = net.bytes_at(struct.pack("<II", net.bytes_at(path.ljust(128, b"\0")), 128))
    assert net.call("sock_bind", fd, descriptor, 0) == abi.EACCES
    abstract = bytes([UNIX, 0]) + b"@timecraft-python-test-%d\0" % time.monotonic_ns()
    descriptor = net.bytes_at(struct.pack("<II", net.bytes_at(abstract.ljust(128, b"\0")), 128))
    assert net.call("sock_bind", fd, descriptor, 0) == 0
    assert net.call("sock_listen", fd, 0xFFFFFFFF) == 0  # a huge backlog is clamped


def test_s1_a_wasmedge_v1_module_is_refused_with_a_reason(tree: Path) -> None:
    """§1: sock_accept with 2 parameters marks WasmEdge v1, which this host does not offer."""
    import wasmtime

    from host.builtin_runtime import BuiltinHost, detect_sockets_extension
    from host.errors import GuestSetupError
    from host.requests import RunRequest

    engine = wasmtime.Engine()
    v1 = wasmtime.Module(engine, '(module (import "wasi_snapshot_preview1" "sock_accept" '
                                 '(func (param i32 i32) (result i32))) (memory (export "memory") 1))')
    v2 = wasmtime.Module(engine, '(module (import "wasi_snapshot_preview1" "sock_open" '
                                 '(func (param i32 i32 i32) (result i32))) (memory (export "memory") 1))')
    plain = wasmtime.Module(engine, '(module (memory (export "memory") 1))')
    assert [detect_sockets_extension(module) for module in (v1, v2, plain)] == \
        ["wasmedgev1", "wasmedgev2", "none"]
    host = BuiltinHost(RunRequest(module=Path("v1.wasm"), args=[]))
    with pytest.raises(GuestSetupError, match="WasmEdge v1"):
        host.link(engine, v1)
