"""Only the guest reaches its API, and the API stays within the guest's grants and limits."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Iterator

import pytest

from host.api import SERVICE_PATH, VERSION
from host.builtin_runtime import LazyApi
from host.requests import Grant, RunRequest
from host.wasi_sockets import TIMECRAFT_API_ADDRESS, NetworkView
from wasm_guests import SocketGuest

INET, STREAM = 1, 2
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp
_UNIX_ACCEPTING = 0x10000  # __SO_ACCEPTCON in /proc/net/unix


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def listening_sockets(pid: int) -> set[str]:
    """Listening TCP and Unix sockets of process `pid`, as table lines."""
    owned = _socket_inodes(pid)
    found = set()
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[3] == _LISTEN and fields[9] in owned:
                    found.add(f"{table} {fields[1]}")
    with open(f"/proc/{pid}/net/unix") as lines:
        for line in list(lines)[1:]:
            fields = line.split()
            if int(fields[3], 16) & _UNIX_ACCEPTING and fields[6] in owned:
                found.add(f"unix {' '.join(fields[7:])}")
    return found


@pytest.fixture
def api_guest(tmp_path: Path) -> Iterator[tuple[SocketGuest, LazyApi]]:
    request = RunRequest(module=tmp_path / "guest.wasm", args=[], env={"PWD": "/app"},
                         grants=[Grant(tmp_path, "/app")], sockets="wasmedgev2")
    api = LazyApi(request)
    guest = SocketGuest([], network=NetworkView(None, api.connect))
    yield guest, api
    guest.close()
    api.close()


def guest_call(guest: SocketGuest, method: str, message: dict) -> tuple[int, dict]:
    """One API call from inside the guest, through its WasmEdge socket calls."""
    fd = guest.socket(INET, STREAM)
    assert guest.call("sock_connect", fd, guest.address("127.0.0.1"),
                      TIMECRAFT_API_ADDRESS[1]) == 0
    body = json.dumps(message).encode()
    request = (f"POST {SERVICE_PATH}{method} HTTP/1.1\r\nHost: 127.0.0.1:7463\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
               "Connection: close\r\n\r\n").encode() + body
    assert guest.send(fd, request) == (0, len(request))
    reply = b""
    while True:
        errno, data = guest.recv(fd, 65536)
        assert errno == 0
        if not data:
            break
        reply += data
    assert guest.call("fd_close", fd) == 0
    head, _, payload = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


def test_the_guest_reaches_its_api_at_timecrafts_address(
        api_guest: tuple[SocketGuest, LazyApi]) -> None:
    guest, _ = api_guest
    assert guest_call(guest, "Version", {}) == (200, {"version": VERSION})
    fd = guest.socket(INET, STREAM)
    assert guest.call("sock_connect", fd, guest.address("127.0.0.1"), 7463) == 0
    peer, out = guest.bytes_at(struct.pack("<II", guest.alloc(128), 128)), guest.alloc(4)
    assert guest.call("sock_getpeeraddr", fd, peer, out) == 0
    assert (guest.read_address(peer), guest.u32(out)) == ((INET, bytes([127, 0, 0, 1])), 7463)


def test_no_other_process_can_reach_the_api(api_guest: tuple[SocketGuest, LazyApi]) -> None:
    guest, _ = api_guest
    before = listening_sockets(os.getpid())
    assert guest_call(guest, "Version", {})[0] == 200
    # Whatever a local process could connect to would be listening now.
    assert listening_sockets(os.getpid()) - before == set()
