"""Name lookups for sock_getaddrinfo, decided the way timecraft's sandbox decides them.

The spec's §4 (sock_getaddrinfo, "Semantics") is the reference. Resolution
itself is the host's, as in timecraft, whose Go resolver reads the host's
/etc/hosts and DNS: here the C library's resolver does that. What is decided
in this module is everything a guest can tell apart: which requests are
refused and with which errno, the port, what an empty name means, and the
order and number of the addresses.
"""

from __future__ import annotations

import socket
import string
from typing import NamedTuple

from host import wasi_abi as abi
from host.errors import WasiError

# Hint flags, families, socket types and protocols in the WasmEdge numbering.
AI_PASSIVE = 1
AI_NUMERICHOST = 4
AI_NUMERICSERV = 8
FAMILY_ANY, FAMILY_INET, FAMILY_INET6 = 0, 1, 2
TYPE_ANY, TYPE_DGRAM, TYPE_STREAM = 0, 1, 2
PROTOCOL_IP, PROTOCOL_TCP, PROTOCOL_UDP = 0, 1, 2

_LOOPBACK = {FAMILY_INET: bytes([127, 0, 0, 1]), FAMILY_INET6: bytes(15) + b"\x01"}
_ANY_ADDRESS = {FAMILY_INET: bytes(4), FAMILY_INET6: bytes(16)}
# What Go's resolver accepts as a domain name before it looks anything up.
_NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_")
_MAX_LABEL = 63
_MAX_NAME = 254  # with the trailing dot


class Found(NamedTuple):
    """One result: the WasmEdge family (1 or 2), the raw address and the port."""

    family: int
    address: bytes
    port: int


def strip_nul(raw: bytes) -> bytes:
    """timecraft ignores one trailing NUL on the node and on the service."""
    return raw[:-1] if raw.endswith(b"\0") else raw


def lookup(node: bytes, service: bytes, flags: int, family: int, socket_type: int,
           protocol: int, limit: int) -> list[Found]:
    """The addresses for (node, service), IPv4 first, at most `limit`; raises WasiError."""
    if (not node and not service) or limit in (0, 1):
        raise WasiError(abi.EINVAL)
    if family not in (FAMILY_ANY, FAMILY_INET, FAMILY_INET6) \
            or socket_type not in (TYPE_ANY, TYPE_DGRAM, TYPE_STREAM) \
            or protocol not in (PROTOCOL_IP, PROTOCOL_TCP, PROTOCOL_UDP) \
            or (socket_type == TYPE_STREAM and protocol == PROTOCOL_UDP) \
            or (socket_type == TYPE_DGRAM and protocol == PROTOCOL_TCP):
        raise WasiError(abi.ENOTSUP)
    port = service_port(service, flags, socket_type)
    found = [Found(kind, address, port) for kind, address in _addresses(node, flags, family)]
    return found[:limit]


def service_port(service: bytes, flags: int, socket_type: int) -> int:
    """Empty is 0, digits are the port, a name is looked up; anything else is EINVAL."""
    if not service:
        return 0
    try:
        text = service.decode("ascii")
    except UnicodeDecodeError:
        raise WasiError(abi.EINVAL) from None
    if text.isdigit():
        port = int(text)
        if port > 0xFFFF:
            raise WasiError(abi.EINVAL)
        return port
    if flags & AI_NUMERICSERV or not text.isprintable():
        raise WasiError(abi.EINVAL)
    try:
        return socket.getservbyname(text, "udp" if socket_type == TYPE_DGRAM else "tcp")
    except OSError:
        raise WasiError(abi.EINVAL) from None


def _literal(node: bytes) -> tuple[int, bytes] | None:
    try:
        text = node.decode("ascii")
    except UnicodeDecodeError:
        return None
    for kind, host_family in ((FAMILY_INET, socket.AF_INET), (FAMILY_INET6, socket.AF_INET6)):
        try:
            return kind, socket.inet_pton(host_family, text)
        except (OSError, ValueError):
            continue
    return None


def is_domain_name(node: bytes) -> bool:
    """Letters, digits, '-' and '_' in dot-separated labels of 1 to 63 characters."""
    if not node or len(node) > _MAX_NAME:
        return False
    labels = node.split(b".")
    if labels[-1] == b"":
        labels.pop()  # a fully qualified name
    return bool(labels) and all(
        0 < len(label) <= _MAX_LABEL and set(label.decode("latin-1")) <= _NAME_CHARACTERS
        for label in labels)


def _addresses(node: bytes, flags: int, family: int) -> list[tuple[int, bytes]]:
    if not node:
        wanted = family or FAMILY_INET
        return [(wanted, (_ANY_ADDRESS if flags & AI_PASSIVE else _LOOPBACK)[wanted])]
    literal = _literal(node)
    if literal is None and flags & AI_NUMERICHOST:
        raise WasiError(abi.EINVAL)
    if literal is not None:
        found = [literal]
    elif not is_domain_name(node):
        raise WasiError(abi.ECANCELED)  # Go's resolver refuses it: "no such host"
    else:
        found = _resolve(node)
    # All IPv4 addresses first, then all IPv6 ones, each in the resolver's order.
    ordered = [item for item in found if item[0] == FAMILY_INET] + \
        [item for item in found if item[0] == FAMILY_INET6]
    if family:
        ordered = [item for item in ordered if item[0] == family]
        if not ordered:
            raise WasiError(abi.ECANCELED)  # Go: "no suitable address"
    return ordered


def _resolve(name: bytes) -> list[tuple[int, bytes]]:
    """The host resolver's addresses for a checked name; any failure is ECANCELED."""
    try:
        # Bytes skip Python's IDNA codec: the name goes to the resolver as given.
        infos = socket.getaddrinfo(name, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise WasiError(abi.ECANCELED) from None
    found: list[tuple[int, bytes]] = []
    for host_family, _, _, _, address in infos:
        kind = FAMILY_INET if host_family == socket.AF_INET else FAMILY_INET6
        if host_family not in (socket.AF_INET, socket.AF_INET6):
            continue
        item = (kind, socket.inet_pton(host_family, str(address[0]).split("%", 1)[0]))
        if item not in found:
            found.append(item)
    if not found:
        raise WasiError(abi.ECANCELED)
    return found
