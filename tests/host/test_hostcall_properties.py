"""Every host function with random and boundary arguments: an errno back, never a trap.

One test case per declared host function (host/hostcall.py), so a new one is
covered as soon as it is declared. Each example starts a fresh guest whose
descriptors are interesting to hit (stdio on /dev/null, the grant, a file, a
directory, listening, connected and datagram sockets, all non-blocking), fills
part of its memory with random bytes, plants well-formed pieces where the
arguments point (paths, iovecs, socket addresses), and makes one call.

The cases issue 8 lists run first as explicit examples (_known_plans).

Nothing may block or leave the machine: stdio never waits, sockets are
non-blocking, poll_oneoff always gets one subscription that is ready at once
(so its huge timeouts are exercised without waiting), socket addresses the
guest passes in are loopback ones, and name lookups are numeric or localhost.
Files cannot grow past RLIMIT_FSIZE while the test runs.

CI runs a few examples per function (the "ci" profile, tests/host/conftest.py);
`nox -s unit-tests -- --hypothesis-profile=thorough -k properties` runs many more.
"""

from __future__ import annotations

import gc
import inspect
import os
import resource
import socket
import struct
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import pytest
import wasmtime
from hypothesis import example, given
from hypothesis import strategies as st
from wasm_guests import MEMORY_PAGES, WasiGuest

from host import wasi_abi as abi
from host.builtin_runtime import CALL_GROUPS
from host.descriptors import stdio_descriptor
from host.hostcall import HostCall
from host.linking import HostLinker
from host.requests import Grant

MEMORY_SIZE = MEMORY_PAGES * 65536
RANDOM_BYTES = 1024  # guest memory [0, RANDOM_BYTES) is random in each example
PLANT_AREA = 256 * 1024  # well-formed arguments go from here, 4 KiB each
PLANT_SLOT = 4096
FILE_SIZE_LIMIT = 64 << 20
_ZEROS = bytes(MEMORY_SIZE)
WASI_ERRNOS = range(len(abi.WASI_ERRNO))
# The descriptors each example starts with (see _reset).
FILE_FD, SUBDIR_FD, FIRST_SOCKET_FD, LAST_SOCKET_FD = 4, 5, 6, 10
# (event type, fd) subscriptions that are ready as soon as they are polled.
READY_AT_ONCE = [(abi.EVENTTYPE_FD_READ, FILE_FD), (abi.EVENTTYPE_FD_READ, 0),
                 (abi.EVENTTYPE_FD_WRITE, 1)]

U32_EDGES = [0, 1, 2, 3, 4, 7, 8, 16, 64, 255, 256, 4095, 4096, 65535, 65536, 70000,
             MEMORY_SIZE - 48, MEMORY_SIZE - 8, MEMORY_SIZE - 4, MEMORY_SIZE - 1, MEMORY_SIZE,
             MEMORY_SIZE + 1, 2**31 - 1, 2**31, 2**32 - 2, 2**32 - 1]
I64_EDGES = [0, 1, 2**31 - 1, 2**32 - 1, 2**32, 2**53, 2**63 - 1, 2**63, 2**64 - 1,
             25 * 86400 * 10**9]
HTLS_LEVEL, HTLS_SERVER_NAME = 0x74696D65, 1  # the hTLS socket option (htls.md)
PATHS = [b"", b".", b"..", b"file.txt", b"sub", b"sub/", b"link", b"dangling", b"old",
         b"sub/../file.txt", b"../outside", b"/etc/passwd", b"file.txt/", b"sub/new",
         b"new.txt", b"a" * 300, b"a/" * 3000, b"\xff\xfe", b"nul\0byte", b"link/.."]
NAMES = [b"localhost", b"127.0.0.1", b"::1", b"xn--zz", b"a" * 64, b"a" * 64 + b".com",
         b"\xff", b"", b"localhost\0junk", b"1.2.3", b"256.0.0.1", b"example.com",
         b"a." * 200, b"80", b"http", b"65536", b"-1", b"99999999999999999999", b"\0"]


class Parameter(NamedTuple):
    name: str
    kind: str  # "i" (i32) or "I" (i64)


class Form(NamedTuple):
    """One declared host function: its import name and wasm signature."""

    call: HostCall
    parameters: tuple[Parameter, ...]

    @property
    def id(self) -> str:
        return f"{self.call.name}[{self.call.params}]"


def _forms() -> list[Form]:
    forms = []
    for group in CALL_GROUPS:
        for function in vars(group).values():
            call = getattr(function, "__hostcall__", None)
            if isinstance(call, HostCall):
                names = list(inspect.signature(function).parameters)[1:]
                forms.append(Form(call, tuple(map(Parameter, names, call.params))))
    return forms


FORMS = _forms()


def _u32() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(U32_EDGES), st.integers(0, 2**32 - 1), st.integers(0, 40))


def _i64() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(I64_EDGES), st.integers(0, 2**64 - 1), st.integers(0, 40))


def _fd() -> st.SearchStrategy[int]:
    # Mostly the descriptors the guest has (see _reset), sometimes none.
    return st.one_of(st.integers(0, 10), st.integers(3, 10),
                     st.sampled_from([11, 100, 2**31 - 1, 2**32 - 1]))


def _bits() -> st.SearchStrategy[int]:
    return st.one_of(st.integers(0, 31), _u32())


# Values that mean something for the parameters of these names, besides any.
_BY_NAME: dict[str, st.SearchStrategy[int]] = {
    "level": st.one_of(st.sampled_from([0, 6, HTLS_LEVEL]), _u32()),
    "option": st.one_of(st.integers(0, 3), st.integers(0, 10), _u32()),
    "port": st.one_of(st.sampled_from([0, 1, 80, 65535, 65536, 70000, 2**32 - 1]), _u32()),
    "family": st.one_of(st.integers(0, 4), _u32()),
    "socket_type": st.one_of(st.integers(0, 3), _u32()),
    "how": st.one_of(st.integers(0, 4), _u32()),
    "whence": st.one_of(st.integers(0, 3), _u32()),
    "clock_id": st.one_of(st.integers(0, 4), _u32()),
    "advice": st.one_of(st.integers(0, 6), _u32()),
    "rights_base": st.one_of(st.sampled_from([0, abi.RIGHTS_ALL, abi.RIGHT_FD_READ,
                                              abi.RIGHT_FD_READ | abi.RIGHT_FD_WRITE]), _i64()),
    **{name: _bits() for name in ("flags", "old_flags", "oflags", "fdflags", "dirflags",
                                  "fst_flags", "riflags")},
}


class Plan(NamedTuple):
    arguments: list[int]
    plants: list[tuple[int, bytes]]  # (guest address, bytes) written before the call
    random_bytes: bytes


def _loopback_address(draw: Callable, address: int) -> bytes:
    """A WasmEdge address descriptor {buf, len} at `address`, buffer after it,
    that can only name a loopback address (or none the host accepts)."""
    buffer = address + 8
    form = draw(st.sampled_from(["v1-inet", "v1-inet6", "v2"]))
    if form == "v1-inet":
        return struct.pack("<II", buffer, 4) + bytes([127, 0, 0, draw(st.integers(0, 255))])
    if form == "v1-inet6":
        return struct.pack("<II", buffer, 16) + socket.inet_pton(socket.AF_INET6, "::1")
    length = draw(st.sampled_from([0, 17, 18, 20, 30, 128, 2**31, 2**32 - 1]))
    family = draw(st.sampled_from([0, 1, 2, 3, 4, 0xFFFF]))
    if family == 1:
        raw = socket.inet_pton(socket.AF_INET, "127.0.0.1")
    elif family == 2:
        raw = socket.inet_pton(socket.AF_INET6, "::1")
    else:  # unix (abstract or path) and unknown families: no network either
        raw = draw(st.sampled_from([b"@abstract\0", b"/tmp/x\0", b"\0" * 16]))
    return struct.pack("<IIH", buffer, length, family) + raw


@st.composite
def plans(draw: Callable, form: Form) -> Plan:
    parameters = form.parameters
    names = [parameter.name for parameter in parameters]
    arguments = []
    for parameter in parameters:
        if parameter.name in _BY_NAME:
            arguments.append(draw(_BY_NAME[parameter.name]))
        elif parameter.kind == "I":
            arguments.append(draw(_i64()))
        elif parameter.name in ("fd", "old_fd", "new_fd", "to"):
            sockets = st.integers(FIRST_SOCKET_FD, LAST_SOCKET_FD)
            arguments.append(draw(st.one_of(sockets, _fd()) if form.call.name.startswith(
                "sock_") else _fd()))
        else:
            arguments.append(draw(_u32()))
    plants: list[tuple[int, bytes]] = []
    slot = iter(range(PLANT_AREA, MEMORY_SIZE, PLANT_SLOT))
    for index, name in enumerate(names):
        length_index = names.index(f"{name}_len") if f"{name}_len" in names else None
        if length_index is not None and name != "buf" and draw(st.booleans()):
            text = draw(st.one_of(st.sampled_from(PATHS + NAMES), st.binary(max_size=64)))
            address = next(slot)
            arguments[index] = address
            arguments[length_index] = draw(st.sampled_from(
                [len(text), len(text) + 1, max(len(text) - 1, 0), 2**32 - 1]))
            plants.append((address, text))
        elif name == "iovs" and draw(st.booleans()):
            address = next(slot)
            count = draw(st.integers(0, 4))
            vectors = b"".join(struct.pack("<II", draw(_u32()), draw(st.sampled_from(
                [0, 1, 16, 4096, 2**31, 2**32 - 1]))) for _ in range(count))
            arguments[index] = address
            arguments[index + 1] = draw(st.sampled_from([count, 0, 1025, 2**32 - 1]))
            plants.append((address, vectors))
        elif name == "address" and form.call.name in ("sock_bind", "sock_connect",
                                                      "sock_send_to"):
            # Always planted: random memory could name any host on the internet.
            address = draw(st.sampled_from([next(slot), MEMORY_SIZE - 4, MEMORY_SIZE,
                                            2**32 - 1]))
            arguments[index] = address
            if address < MEMORY_SIZE - 64:
                plants.append((address, _loopback_address(draw, address)))
    if form.call.name == "poll_oneoff" and arguments[0] + 48 <= MEMORY_SIZE:
        # The first subscription is always ready: the host never waits, even
        # with the clock timeouts of the random ones that follow.
        kind, fd = draw(st.sampled_from(READY_AT_ONCE))
        plants.append((arguments[0], struct.pack("<QB7xI28x", 77, kind, fd)))
    return Plan(arguments, plants, draw(st.binary(max_size=RANDOM_BYTES)))


def _subscriptions(*timeouts: int) -> bytes:
    """A ready fd subscription, then clocks with these relative timeouts.

    stdout (/dev/null) is ready only once the kernel says so: the host must
    ask it with the clocks' timeouts, unlike a file, which it knows is ready.
    """
    ready = struct.pack("<QB7xI28x", 1, abi.EVENTTYPE_FD_WRITE, 1)
    return ready + b"".join(struct.pack("<QB7xIxxxxQQH6x", 2, abi.EVENTTYPE_CLOCK,
                                        abi.CLOCK_MONOTONIC, timeout, 0, 0)
                            for timeout in timeouts)


def _known_plans(name: str) -> list[Plan]:
    """The cases issue 8 lists, always run before the random ones."""
    at, out = PLANT_AREA, PLANT_AREA + PLANT_SLOT * 4
    ipv6 = struct.pack("<II", at + 8, 16) + socket.inet_pton(socket.AF_INET6, "::1")
    ipv4 = struct.pack("<II", at + 8, 4) + bytes([127, 0, 0, 1])
    iovec = struct.pack("<II", at + 64, 1)

    def plan(arguments: list[int], *plants: tuple[int, bytes]) -> Plan:
        return Plan(arguments, list(plants), b"")

    def lookup(node: bytes, service: bytes) -> Plan:
        return plan([at, len(node), at + 1024, len(service), 0, out, 4, out + 64],
                    (at, node), (at + 1024, service))

    known = {
        "poll_oneoff": [plan([at, out, 2, out + 512], (at, _subscriptions(2**64 - 1))),
                        plan([at, out, 3, out + 512],
                             (at, _subscriptions(25 * 86400 * 10**9, 2**63)))],
        "random_get": [plan([0, 2**32 - 1]), plan([0, MEMORY_SIZE])],
        "proc_exit": [plan([256]), plan([2**32 - 1])],
        "sock_listen": [plan([FIRST_SOCKET_FD, 2**32 - 1])],
        "sock_bind": [plan([LAST_SOCKET_FD, at, 70000], (at, ipv6))],
        "sock_connect": [plan([LAST_SOCKET_FD, at, 70000], (at, ipv6))],
        "sock_send_to": [plan([FIRST_SOCKET_FD + 3, at + 32, 1, at, 70000, 0, out],
                              (at, ipv4), (at + 32, iovec))],
        "sock_getaddrinfo": [lookup(b"localhost", b"\xff"), lookup(b"xn--zz", b"80"),
                             lookup(b"a" * 64 + b".example", b"80")],
        "sock_setsockopt": [plan([FIRST_SOCKET_FD + 1, HTLS_LEVEL, HTLS_SERVER_NAME, at, 1],
                                 (at, b"\xff"))],
    }
    return known.get(name, [])



@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("properties")
    (root / "granted").mkdir()
    (root / "outside").mkdir()
    return root / "granted"


@pytest.fixture(scope="module", autouse=True)
def hermetic(sandbox: Path) -> Iterator[None]:
    """No name lookup leaves the machine; no file grows past FILE_SIZE_LIMIT."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: object, port: object, family: int = 0, type: int = 0,
                    proto: int = 0, flags: int = 0) -> list:
        if host not in (None, "localhost", b"localhost"):
            flags |= socket.AI_NUMERICHOST
        return real_getaddrinfo(host, port, family, type, proto, flags)  # type: ignore[arg-type]

    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, limits[1]))
    try:
        yield
    finally:
        socket.getaddrinfo = real_getaddrinfo
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)


def _restore(sandbox: Path) -> None:
    """Put back what earlier examples may have removed or replaced."""
    (sandbox / "sub").mkdir(exist_ok=True)
    if not (sandbox / "file.txt").is_file() or (sandbox / "file.txt").is_symlink():
        (sandbox / "file.txt").unlink(missing_ok=True)
        (sandbox / "file.txt").write_bytes(b"inside")
    for name, target in (("link", "file.txt"), ("dangling", "missing")):
        if not os.path.islink(sandbox / name):
            try:
                os.symlink(target, sandbox / name)
            except FileExistsError:
                pass
    old = sandbox / "old"  # modified before 1970
    old.touch()
    os.utime(old, ns=(-10**18, -10**18))


def _reset(guest: WasiGuest, sandbox: Path) -> None:
    """The guest as each example starts it: zeroed memory, the same descriptors.

    One guest serves all the examples of a test (starting one costs about
    30 ms, mostly linking); only its descriptors and memory are state.
    """
    _restore(sandbox)
    table = guest.host.table
    table.close_all()
    guest.host.open_descriptors()
    for fd in (0, 1, 2):
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        table.entries[fd].close()
        table.entries[fd] = stdio_descriptor(null)  # a duplicate: ours can go
        os.close(null)
    guest.host.memory.view[:MEMORY_SIZE] = _ZEROS
    # File and directory through the guest's own calls; no allocate right, so
    # fd_allocate cannot reserve disk space (RLIMIT_FSIZE bounds the rest).
    assert guest.open("file.txt", rights=abi.RIGHTS_ALL & ~abi.RIGHT_FD_ALLOCATE) \
        == (0, FILE_FD)
    assert guest.open("sub", oflags=abi.OFLAG_DIRECTORY) == (0, SUBDIR_FD)
    _open_sockets(guest)


def _open_sockets(guest: WasiGuest) -> None:
    """A listener, a client connected to it, the accepted end, a UDP and an IPv6
    socket, all non-blocking; whatever the host's socket layer refuses is left out."""
    out = guest.alloc(4)
    loopback = guest.bytes_at(struct.pack("<II", 0, 128))
    buffer = guest.bytes_at(struct.pack("<H", 1) + socket.inet_aton("127.0.0.1") + bytes(122))
    guest.memory.write(guest.store, struct.pack("<I", buffer), loopback)

    def open_socket(family: int, kind: int) -> int | None:
        if guest.call("sock_open", family, kind, out) != 0:
            return None
        fd = guest.u32(out)
        guest.call("fd_fdstat_set_flags", fd, abi.FDFLAG_NONBLOCK)
        return fd

    listener = open_socket(1, 2)
    if listener is not None and guest.call("sock_bind", listener, loopback, 0) == 0 \
            and guest.call("sock_listen", listener, 4) == 0:
        client = open_socket(1, 2)
        port_out = guest.alloc(4)
        descriptor = guest.bytes_at(struct.pack("<II", guest.alloc(128), 128))
        if client is not None and guest.call(
                "sock_getlocaladdr", listener, descriptor, port_out) == 0:
            guest.call("sock_connect", client, loopback, guest.u32(port_out))
            guest.call("sock_accept", listener, abi.FDFLAG_NONBLOCK, out)
    udp = open_socket(1, 1)
    if udp is not None:
        guest.call("sock_bind", udp, loopback, 0)
    open_socket(2, 2)


def _caller(guest: WasiGuest, form: Form) -> tuple[Callable[..., int], HostLinker]:
    """The wasm function that calls `form`, and the linker that records its outcome
    (and keeps its host callbacks alive: the caller must hold on to it).

    The shared wrapper module exports the first form of each name; another
    form (sock_recv_from's WasmEdge v1 one) gets a module of its own on the
    guest's memory, linked by the same host.
    """
    first = next(item for item in FORMS if item.call.name == form.call.name)
    if first == form:
        return (lambda *args: guest.call(form.call.name, *args)), guest.linker_state
    types = " ".join({"i": "i32", "I": "i64"}[kind] for kind in form.call.params)
    body = " ".join(f"local.get {index}" for index in range(len(form.call.params)))
    wat = f"""(module
 (import "env" "memory" (memory 1))
 (import "wasi_snapshot_preview1" "{form.call.name}" (func $f (param {types}) (result i32)))
 (func (export "call") (param {types}) (result i32) {body} call $f))"""
    module = wasmtime.Module(guest.store.engine, wat)
    linker, host_linker = guest.host.link(guest.store.engine, module)
    linker.define(guest.store, "env", "memory", guest.memory)
    function = linker.instantiate(guest.store, module).exports(guest.store)["call"]
    return (lambda *args: function(guest.store, *args)), host_linker


@pytest.mark.parametrize("form", FORMS, ids=[form.id for form in FORMS])
def test_hostile_arguments_get_an_errno(form: Form, sandbox: Path) -> None:
    # Leaks are new descriptors; older ones (other tests' garbage) may close meanwhile.
    gc.collect()
    host_fds = set(os.listdir("/proc/self/fd"))
    guest = WasiGuest([Grant(sandbox, "/sandbox")], sockets="wasmedgev2")
    call, host_linker = _caller(guest, form)

    @given(plan=plans(form))
    def check(plan: Plan) -> None:
        _reset(guest, sandbox)
        host_linker.outcome.__init__()  # type: ignore[misc]
        guest.memory.write(guest.store, plan.random_bytes, 0)
        for address, data in plan.plants:
            if address + len(data) <= MEMORY_SIZE:
                guest.memory.write(guest.store, data, address)
        try:
            result = call(*plan.arguments)
        except (wasmtime.Trap, wasmtime.WasmtimeError):
            outcome = host_linker.outcome
            assert outcome.host_failure is None, \
                f"{form.id} failed in the host: {outcome.host_failure!r}"
            assert not form.call.returns_errno, f"{form.id} trapped"
            assert outcome.exit_code in range(256)
            return
        assert form.call.returns_errno
        assert result in WASI_ERRNOS, f"{form.id} returned {result}"

    for plan in _known_plans(form.call.name):
        check = example(plan=plan)(check)
    try:
        check()
    finally:
        guest.close()
    gc.collect()
    assert set(os.listdir("/proc/self/fd")) <= host_fds, "a host descriptor was left open"
