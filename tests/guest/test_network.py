"""Networking inside python.wasm, against servers these tests run on loopback.

Clients in the guest talk to host-side servers (threads of this pytest
process) listening on 127.0.0.2: under timecraft the guest's 127.0.0.1 is its
own private loopback, while 127.0.0.2 goes out through the host's dialer, so
that address works under every runtime. One guest serves a host-side client,
and each kind of exchange also has a variant where server and client are both
guests (an asyncio server and clients in one guest, datagrams between two
sockets of one guest; HTTP between guests is the SDK's spawn test). HTTPS
has no such variant: hTLS is client-only. Runtimes without sockets skip the
tests that need them; what works without sockets runs everywhere.
"""

from __future__ import annotations

import http.server
import json
import random
import socket
import socketserver
import ssl
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme

from guest_harness import HOST_SIDE, PROGRAMS, GuestRunner, first_line, talking_to

# Every wait is bounded, so a broken host fails the test instead of hanging.
IO_TIMEOUT = 10  # one socket operation, in the guest or in a host-side server
GUEST_TIMEOUT = 60  # one whole guest run
HELLO = "hello from the host"


# -- host-side servers ------------------------------------------------------------


class _HttpHandler(http.server.BaseHTTPRequestHandler):
    """GET /hello answers HELLO; POST echoes what it received as JSON."""

    protocol_version = "HTTP/1.1"  # keep-alive: clients may reuse the connection
    timeout = IO_TIMEOUT  # a stalled client must not hold a server thread forever

    def do_GET(self) -> None:
        if self.path != "/hello":
            self.send_error(404)
            return
        self._reply(HELLO.encode(), "text/plain")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        echo = {"path": self.path, "content_type": self.headers.get("Content-Type"),
                "body": body.decode()}
        self._reply(json.dumps(echo).encode(), "application/json")

    def _reply(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class LocalHttpServer(http.server.ThreadingHTTPServer):
    """HTTP, or HTTPS when given a context, on 127.0.0.2 at a free port."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        super().__init__((HOST_SIDE, 0), _HttpHandler)

    def finish_request(self, request: socket.socket | tuple[bytes, socket.socket],
                       client_address: tuple[str, int]) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        assert isinstance(request, socket.socket)  # a stream server's requests are sockets
        # The handshake runs here, in the connection's own thread, so a client
        # that never completes it cannot block the accept loop.
        request.settimeout(IO_TIMEOUT)
        try:
            tls_request = self.tls.wrap_socket(request, server_side=True)
        except OSError:
            return  # the client refused the certificate, as the rejection tests intend
        with tls_request:
            super().finish_request(tls_request, client_address)


class _TcpEchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(IO_TIMEOUT)
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _UdpEchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        sock.sendto(data, self.client_address)


class _ThreadingTcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True


@contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[int]:
    """Run `server` in a thread for the duration; yields its port."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    address = server.server_address
    assert isinstance(address, tuple)  # every server here is an AF_INET one
    try:
        yield address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(IO_TIMEOUT)


@pytest.fixture
def http_port() -> Iterator[int]:
    with serving(LocalHttpServer()) as port:
        yield port


@pytest.fixture
def tcp_echo_port() -> Iterator[int]:
    with serving(_ThreadingTcpServer((HOST_SIDE, 0), _TcpEchoHandler)) as port:
        yield port


@pytest.fixture
def udp_echo_port() -> Iterator[int]:
    with serving(socketserver.UDPServer((HOST_SIDE, 0), _UdpEchoHandler)) as port:
        yield port


# -- TLS material -------------------------------------------------------------------


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    """The CA the host is told to trust; made fresh for each test run."""
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(authority: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return path


def server_context(issuer: trustme.CA, server_name: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    issuer.issue_cert(server_name).configure_cert(context)
    return context


@pytest.fixture
def https_port(authority: trustme.CA) -> Iterator[int]:
    """An HTTPS server whose certificate for 127.0.0.2 the trusted CA issued.

    The guest names it by address: "localhost" is the guest's own loopback.
    """
    with serving(LocalHttpServer(server_context(authority, HOST_SIDE))) as port:
        yield port


# -- guests -------------------------------------------------------------------------


@pytest.fixture
def net_guest(guest: GuestRunner) -> GuestRunner:
    if not guest.has_sockets:
        pytest.skip(f"the {guest.runtime} runtime has no sockets: its WASI answers ENOSYS "
                    "to every socket call")
    return guest


# -- tests that run on every runtime --------------------------------------------------


def test_socket_support_matches_the_runtime(guest: GuestRunner) -> None:
    out = guest.python(
        "import errno, socket\n"
        "try:\n"
        "    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()\n"
        "except OSError as error:\n"
        "    print(errno.errorcode[error.errno])\n"
        "else:\n"
        "    print('created')")
    assert out.strip() == ("created" if guest.has_sockets else "ENOSYS")


def test_network_modules_and_requests_import(guest: GuestRunner, guest_deps: Path) -> None:
    out = guest.python(
        "import asyncio, http.client, json, ssl, urllib.request\n"
        "import requests\n"
        "context = ssl.create_default_context()\n"
        "prepared = requests.Request('POST', 'https://example.test/x', json={'a': 1}).prepare()\n"
        "print(json.dumps([requests.__file__, context.verify_mode == ssl.CERT_REQUIRED,\n"
        "                  context.check_hostname, prepared.body.decode()]))",
        deps=guest_deps, timeout=GUEST_TIMEOUT)
    requests_file, verifies, checks_name, body = json.loads(out)
    assert requests_file.startswith(f"{guest_deps}/requests/")
    assert verifies and checks_name
    assert body == '{"a": 1}'


def test_inet_ntoa_agrees_with_the_host_and_round_trips(guest: GuestRunner) -> None:
    # Boundary bytes, and spread-out addresses from a fixed seed: the guest's
    # libc must print each one exactly as the host's does.
    rng = random.Random(20241129)
    packed = [bytes(4), b"\xff" * 4, b"\x7f\x00\x00\x01", b"\x01\x00\x01\x00",
              *(rng.randbytes(4) for _ in range(200))]
    out = guest.python(
        "import json, socket\n"
        f"packed = [bytes.fromhex(item) for item in {[item.hex() for item in packed]!r}]\n"
        "texts = [socket.inet_ntoa(item) for item in packed]\n"
        "back = [socket.inet_aton(text) == item for text, item in zip(texts, packed)]\n"
        "errors = []\n"
        "for bad in (b'', b'\\x01\\x02\\x03', b'\\x01\\x02\\x03\\x04\\x05'):\n"
        "    try:\n"
        "        socket.inet_ntoa(bad)\n"
        "    except OSError as error:\n"
        "        errors.append(str(error))\n"
        "    else:\n"
        "        errors.append(None)\n"
        "print(json.dumps([texts, back, errors, socket.inet_ntoa(socket.inet_aton('127.1'))]))")
    texts, round_trips, errors, short_form = json.loads(out)
    assert texts == [socket.inet_ntoa(item) for item in packed]
    assert all(round_trips)
    assert errors == ["packed IP wrong length for inet_ntoa"] * 3
    assert short_form == "127.0.0.1"


def test_services_come_from_the_built_in_table(guest: GuestRunner) -> None:
    # WASI has no /etc/services: the sockets library answers from its table of
    # IANA assignments, and an unknown name, port or protocol raises OSError as
    # on Linux.
    out = guest.python(
        "import json, socket\n"
        "def attempt(call, *args):\n"
        "    try:\n"
        "        return call(*args)\n"
        "    except OverflowError:\n"
        "        return 'OverflowError'\n"
        "    except OSError as error:\n"
        "        return 'OSError: ' + str(error)\n"
        "by_name = [attempt(socket.getservbyname, *args) for args in (\n"
        "    ('http', 'tcp'), ('https',), ('domain', 'udp'), ('ssh', 'tcp'), ('www', 'tcp'),\n"
        "    ('submission', 'tcp'), ('imaps', 'tcp'), ('pop3s',), ('ftp',), ('telnet',),\n"
        "    ('smtp', 'tcp'), ('pop3', 'tcp'), ('imap', 'tcp'), ('echo', 'udp'), ('tftp', 'udp'),\n"
        "    ('no-such-service', 'tcp'), ('tftp', 'tcp'), ('http', 'sctp'), ('HTTP', 'tcp'))]\n"
        "by_port = [attempt(socket.getservbyport, *args) for args in (\n"
        "    (443, 'tcp'), (80,), (53, 'udp'), (22,), (587, 'tcp'), (993,), (995, 'tcp'),\n"
        "    (514, 'tcp'), (514, 'udp'), (514,), (69,), (69, 'tcp'), (40000, 'tcp'),\n"
        "    (80, 'sctp'), (-1,), (65536,))]\n"
        "print(json.dumps([by_name, by_port]))")
    by_name, by_port = json.loads(out)
    no_service = "OSError: service/proto not found"
    no_port = "OSError: port/proto not found"
    assert by_name == [80, 443, 53, 22, 80, 587, 993, 995, 21, 23, 25, 110, 143, 7, 69,
                       no_service, no_service, no_service, no_service]
    assert by_port == ["https", "http", "domain", "ssh", "submission", "imaps", "pop3s",
                       "shell", "syslog", "shell", "tftp", no_port, no_port, no_port,
                       "OverflowError", "OverflowError"]


# -- plain HTTP -----------------------------------------------------------------------------


def test_http_client_get_and_post_on_one_connection(net_guest: GuestRunner,
                                                     http_port: int) -> None:
    out = net_guest.python(
        "import http.client, json\n"
        f"connection = http.client.HTTPConnection('{HOST_SIDE}', {http_port}, "
        f"timeout={IO_TIMEOUT})\n"
        "connection.request('GET', '/hello')\n"
        "got = connection.getresponse()\n"
        "print(got.status, got.read().decode())\n"
        "connection.request('POST', '/echo', body=json.dumps({'n': 42}),\n"
        "                   headers={'Content-Type': 'application/json'})\n"
        "posted = connection.getresponse()\n"
        "print(posted.status, posted.read().decode())\n"
        "connection.close()",
        timeout=GUEST_TIMEOUT)
    get_line, post_line = out.splitlines()
    assert get_line == f"200 {HELLO}"
    status, echo = post_line.split(" ", 1)
    assert status == "200"
    assert json.loads(echo) == {"path": "/echo", "content_type": "application/json",
                                "body": '{"n": 42}'}


def test_requests_get_and_post(net_guest: GuestRunner, http_port: int,
                               guest_deps: Path) -> None:
    out = net_guest.python(
        "import json, requests\n"
        f"base = 'http://{HOST_SIDE}:{http_port}'\n"
        "with requests.Session() as session:\n"
        f"    got = session.get(base + '/hello', timeout={IO_TIMEOUT})\n"
        f"    posted = session.post(base + '/form', data={{'k': 'v w'}}, timeout={IO_TIMEOUT})\n"
        "print(json.dumps([got.status_code, got.text, posted.status_code, posted.json()]))",
        deps=guest_deps, timeout=GUEST_TIMEOUT)
    get_status, get_text, post_status, echo = json.loads(out)
    assert (get_status, get_text) == (200, HELLO)
    assert post_status == 200
    assert echo == {"path": "/form", "content_type": "application/x-www-form-urlencoded",
                    "body": "k=v+w"}


# -- HTTPS through hTLS ------------------------------------------------------------------


def test_https_with_urllib_and_a_trusted_certificate(net_guest: GuestRunner,
                                                      https_port: int, ca_file: Path) -> None:
    out = net_guest.python(
        "import urllib.request\n"
        f"with urllib.request.urlopen('https://{HOST_SIDE}:{https_port}/hello', "
        f"timeout={IO_TIMEOUT}) as response:\n"
        "    print(response.status, response.read().decode())",
        ca_file=ca_file, timeout=GUEST_TIMEOUT)
    assert out.strip() == f"200 {HELLO}"


def test_https_with_requests_and_a_trusted_certificate(net_guest: GuestRunner,
                                                        https_port: int, ca_file: Path,
                                                        guest_deps: Path) -> None:
    out = net_guest.python(
        "import json, requests\n"
        f"base = 'https://{HOST_SIDE}:{https_port}'\n"
        f"got = requests.get(base + '/hello', timeout={IO_TIMEOUT})\n"
        f"posted = requests.post(base + '/api', json={{'secure': True}}, timeout={IO_TIMEOUT})\n"
        "print(json.dumps([got.status_code, got.text, posted.json()]))",
        deps=guest_deps, ca_file=ca_file, timeout=GUEST_TIMEOUT)
    get_status, get_text, echo = json.loads(out)
    assert (get_status, get_text) == (200, HELLO)
    assert echo == {"path": "/api", "content_type": "application/json",
                    "body": '{"secure": true}'}


def test_raw_htls_with_a_c_string_name(net_guest: GuestRunner, https_port: int,
                                       ca_file: Path) -> None:
    # The option straight from Python, its value ending in a C string's NUL:
    # the sockets library drops the NUL, which timecraft would send as part of
    # the name (and the server would refuse).
    out = net_guest.python(
        "import socket\n"
        f"s = socket.create_connection(('{HOST_SIDE}', {https_port}), timeout={IO_TIMEOUT})\n"
        f"s.setsockopt(0x74696d65, 1, b'{HOST_SIDE}\\0')\n"
        "s.sendall(b'GET /hello HTTP/1.0\\r\\n\\r\\n')\n"
        "data = b''\n"
        "while chunk := s.recv(4096):\n"
        "    data += chunk\n"
        "print(data.split(b'\\r\\n')[0].decode())\n"
        "print(data.rsplit(b'\\r\\n', 1)[-1].decode())",
        ca_file=ca_file, timeout=GUEST_TIMEOUT)
    status_line, body = out.splitlines()
    assert status_line.split()[1] == "200"
    assert body == HELLO


# What urllib and requests raise for a rejected certificate, one library per run:
# under the real timecraft the first rejection ends the whole run (spec §8).
REJECTION_CODE = {
    "urllib": """
import ssl, urllib.error, urllib.request
try:
    urllib.request.urlopen('{url}', timeout={timeout})
except urllib.error.URLError as error:
    reason = error.reason
except ssl.SSLError as error:  # reported while reading the response
    reason = error
else:
    reason = None
print(type(reason).__name__, isinstance(reason, ssl.SSLError))
""",
    "requests": """
import requests
try:
    requests.get('{url}', timeout={timeout})
except requests.exceptions.SSLError as error:
    print(type(error).__name__, 'CERTIFICATE_VERIFY_FAILED' in str(error))
else:
    print('connected')
""",
}
REJECTED = {"urllib": "SSLCertVerificationError True", "requests": "SSLError True"}


def assert_rejected(guest: GuestRunner, result: subprocess.CompletedProcess[str],
                    library: str, go_reason: str) -> None:
    if result.returncode == 0:
        assert result.stdout.strip() == REJECTED[library]
        return
    # timecraft reports no errno for a failed handshake: it ends the run (spec §8).
    assert guest.runtime is None, f"guest failed ({result.returncode}):\n{result.stderr}"
    assert "unexpected error" in result.stderr and go_reason in result.stderr, result.stderr


@pytest.mark.parametrize("library", sorted(REJECTION_CODE))
def test_a_certificate_from_an_untrusted_ca_is_rejected(net_guest: GuestRunner,
                                                        guest_deps: Path, library: str) -> None:
    # No CA file: neither the system store nor any host trusts a CA made just now.
    context = server_context(trustme.CA(), HOST_SIDE)
    with serving(LocalHttpServer(context)) as port:
        code = REJECTION_CODE[library].format(url=f"https://{HOST_SIDE}:{port}/hello",
                                              timeout=IO_TIMEOUT)
        result = net_guest.run(["-c", code], deps=guest_deps, timeout=GUEST_TIMEOUT)
    assert_rejected(net_guest, result, library, "unknown authority")


@pytest.mark.parametrize("library", sorted(REJECTION_CODE))
def test_a_certificate_for_another_name_is_rejected(net_guest: GuestRunner,
                                                    authority: trustme.CA, ca_file: Path,
                                                    guest_deps: Path, library: str) -> None:
    # The CA is trusted; only the name differs from the address the guest asks for.
    context = server_context(authority, "elsewhere.example")
    with serving(LocalHttpServer(context)) as port:
        code = REJECTION_CODE[library].format(url=f"https://{HOST_SIDE}:{port}/hello",
                                              timeout=IO_TIMEOUT)
        result = net_guest.run(["-c", code], deps=guest_deps, ca_file=ca_file,
                               timeout=GUEST_TIMEOUT)
    assert_rejected(net_guest, result, library, "certificate is valid for")


# -- the guest as a server -------------------------------------------------------------------


def test_the_guest_serves_http_to_a_host_client(net_guest: GuestRunner) -> None:
    process = net_guest.start([str(PROGRAMS / "serve_http_once.py")], grants=[PROGRAMS])
    with talking_to(process, "fetching from the guest"):
        port = int(first_line(process, GUEST_TIMEOUT))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/from-the-host",
                                    timeout=IO_TIMEOUT) as response:
            status, body = response.status, response.read().decode()
        _, stderr = process.communicate(timeout=GUEST_TIMEOUT)
    assert process.returncode == 0, stderr
    assert (status, body) == (200, "python.wasm served /from-the-host")


def test_getfqdn_falls_back_without_reverse_lookup(net_guest: GuestRunner) -> None:
    # http.server.HTTPServer and email.utils.make_msgid depend on getfqdn().
    out = net_guest.python("import socket, email.utils\n"
                           "print(socket.getfqdn('127.0.0.1'))\n"
                           "print(socket.gethostname(), socket.getfqdn())\n"
                           "print(email.utils.make_msgid().endswith('@localhost>'))")
    assert out.splitlines() == ["127.0.0.1", "localhost localhost", "True"]


# -- sockets directly ----------------------------------------------------------------------


def test_udp_round_trip(net_guest: GuestRunner, udp_echo_port: int) -> None:
    out = net_guest.python(
        "import socket\n"
        "with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:\n"
        f"    sock.settimeout({IO_TIMEOUT})\n"
        f"    sock.sendto(b'datagram', ('{HOST_SIDE}', {udp_echo_port}))\n"
        "    data, sender = sock.recvfrom(1024)\n"
        "print(data.decode(), sender[0], sender[1])",
        timeout=GUEST_TIMEOUT)
    assert out.split() == ["datagram", HOST_SIDE, str(udp_echo_port)]


def test_udp_between_two_sockets_of_one_guest(net_guest: GuestRunner) -> None:
    out = net_guest.python(
        "import socket\n"
        "a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "a.bind(('127.0.0.1', 0)); b.bind(('127.0.0.1', 0)); b.settimeout(10)\n"
        "a.sendto(b'between guests', b.getsockname())\n"
        "data, sender = b.recvfrom(1024)\n"
        "print(data.decode(), sender == a.getsockname())",
        timeout=GUEST_TIMEOUT)
    assert out.strip() == "between guests True"


NON_BLOCKING_ECHO = """
import errno, select, socket
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setblocking(False)
started = sock.connect_ex(({host!r}, {port}))
print(errno.errorcode.get(started, started))
_, writable, _ = select.select([], [sock], [], {timeout})
print(writable == [sock], sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
sock.send(b'ping')
readable, _, _ = select.select([sock], [], [], {timeout})
print(readable == [sock], sock.recv(16).decode())
sock.close()
"""


def test_non_blocking_connect_then_select(net_guest: GuestRunner, tcp_echo_port: int) -> None:
    out = net_guest.python(
        NON_BLOCKING_ECHO.format(host=HOST_SIDE, port=tcp_echo_port, timeout=IO_TIMEOUT),
        timeout=GUEST_TIMEOUT)
    started, connected, echoed = out.splitlines()
    # Loopback may finish the handshake before connect returns.
    assert started in ("EINPROGRESS", "0")
    assert connected == "True 0"
    assert echoed == "True ping"


def test_non_blocking_connect_to_a_listener_of_the_same_guest(net_guest: GuestRunner) -> None:
    code = NON_BLOCKING_ECHO.format(host="127.0.0.1", port="port", timeout=IO_TIMEOUT)
    out = net_guest.python(
        "import socket\n"
        "server = socket.create_server(('127.0.0.1', 0))\n"
        "port = server.getsockname()[1]\n"
        + code.replace("sock.send(b'ping')",
                       "peer, _ = server.accept(); sock.send(b'ping'); "
                       "peer.sendall(peer.recv(16))"),
        timeout=GUEST_TIMEOUT)
    started, connected, echoed = out.splitlines()
    assert started in ("EINPROGRESS", "0")  # timecraft: EINPROGRESS, though connected
    assert connected == "True 0"
    assert echoed == "True ping"


def test_a_refused_connect_shows_in_so_error_or_the_first_read(net_guest: GuestRunner) -> None:
    # A connect outside the guest cannot fail synchronously under timecraft: the
    # refusal comes from SO_ERROR (read once: reading clears it) or the first read.
    with socket.socket() as placeholder:  # a port nothing listens on once closed
        placeholder.bind((HOST_SIDE, 0))
        closed_port = placeholder.getsockname()[1]
    out = net_guest.python(
        "import errno, select, socket\n"
        "sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
        "sock.setblocking(False)\n"
        f"started = sock.connect_ex(('{HOST_SIDE}', {closed_port}))\n"
        "if started == errno.EINPROGRESS:\n"
        f"    select.select([], [sock], [], {IO_TIMEOUT})\n"
        "    started = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)\n"
        "if started == 0:\n"
        f"    select.select([sock], [], [], {IO_TIMEOUT})\n"
        "    try:\n"
        "        sock.recv(1)\n"
        "    except OSError as error:\n"
        "        started = error.errno\n"
        "    else:\n"
        "        started = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)\n"
        "print(errno.errorcode.get(started, started))",
        timeout=GUEST_TIMEOUT)
    assert out.strip() == "ECONNREFUSED"


def test_asyncio_streams(net_guest: GuestRunner, tcp_echo_port: int) -> None:
    result = net_guest.run([str(PROGRAMS / "asyncio_echo_client.py"), HOST_SIDE,
                            str(tcp_echo_port)], grants=[PROGRAMS], timeout=GUEST_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        [f"connection {n} line {line}\n" for line in range(3)] for n in range(3)]


def test_asyncio_server_and_clients_in_one_guest(net_guest: GuestRunner) -> None:
    result = net_guest.run([str(PROGRAMS / "asyncio_echo_pair.py")], grants=[PROGRAMS],
                           timeout=GUEST_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        [f"connection {n} line {line}\n" for line in range(3)] for n in range(3)]


def test_getaddrinfo_localhost_agrees_with_the_host(net_guest: GuestRunner) -> None:
    out = net_guest.python(
        "import json, socket\n"
        "found = socket.getaddrinfo('localhost', 8080, type=socket.SOCK_STREAM)\n"
        "addresses = sorted({(family.name, address[0], address[1])\n"
        "                    for family, _, _, _, address in found})\n"
        "try:\n"
        "    socket.getaddrinfo('not-a-number', 80, flags=socket.AI_NUMERICHOST)\n"
        "except socket.gaierror:\n"
        "    refused = True\n"
        "else:\n"
        "    refused = False\n"
        "kinds = sorted({kind.name for _, kind, _, _, _ in socket.getaddrinfo('localhost', 80)})\n"
        "print(json.dumps([addresses, refused, socket.gethostbyname('localhost'), kinds]))",
        timeout=GUEST_TIMEOUT)
    addresses, numeric_host_refused, by_name, kinds = json.loads(out)
    # Without a type hint every entry is still a kind of socket the guest can open.
    assert kinds == ["SOCK_DGRAM", "SOCK_STREAM"]
    on_host = sorted({(family.name, address[0], address[1])
                      for family, _, _, _, address
                      in socket.getaddrinfo("localhost", 8080, type=socket.SOCK_STREAM)})
    assert [tuple(item) for item in addresses] == on_host
    assert numeric_host_refused
    assert by_name == socket.gethostbyname("localhost")


def test_getnameinfo_names_well_known_services(net_guest: GuestRunner) -> None:
    # As on Linux: the service's name unless NI_NUMERICSERV, the UDP one with
    # NI_DGRAM, and the number for a port no service is known on.
    out = net_guest.python(
        "import json, socket\n"
        "host = socket.NI_NUMERICHOST\n"
        "print(json.dumps([socket.getnameinfo(address, flags) for address, flags in (\n"
        "    (('127.0.0.1', 443), host), (('127.0.0.1', 443), host | socket.NI_NUMERICSERV),\n"
        "    (('127.0.0.1', 514), host), (('127.0.0.1', 514), host | socket.NI_DGRAM),\n"
        "    (('::1', 22), host), (('127.0.0.1', 40000), host))]))",
        timeout=GUEST_TIMEOUT)
    assert [tuple(item) for item in json.loads(out)] == [
        ("127.0.0.1", "https"), ("127.0.0.1", "443"), ("127.0.0.1", "shell"),
        ("127.0.0.1", "syslog"), ("::1", "ssh"), ("127.0.0.1", "40000")]
