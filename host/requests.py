"""What one run of a module asks for: the types the CLI, the runtimes and the API share."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Mapping, NamedTuple, Sequence


# NamedTuples rather than dataclasses: importing dataclasses costs several
# milliseconds of every start.
class Grant(NamedTuple):
    """A host directory made visible to the guest under `guest_path`."""

    host_path: Path
    guest_path: str


class Limits(NamedTuple):
    """What one guest may consume; the defaults are documented in the README ("Limits")."""

    # Bytes of linear memory; a memory.grow past it fails (returns -1) in the guest.
    memory: int = 1 << 30
    # Open guest descriptors (stdio and pre-opened directories included): EMFILE past it.
    descriptors: int = 1024
    # Open sockets, which count as descriptors too: ENFILE past it.
    sockets: int = 256


class RunRequest(NamedTuple):
    module: Path
    args: Sequence[str]
    env: Mapping[str, str] = MappingProxyType({})
    grants: Sequence[Grant] = ()
    # The socket extension: "auto" detects it from the module's imports.
    sockets: str = "auto"
    # Extra CA bundle trusted by hTLS, on top of the system trust store.
    ca_file: str | None = None
    limits: Limits = Limits()
    # Set only for modules a guest spawned through the API (see host/api.py):
    # their id, their own loopback address, and the pipe that ends them with it.
    process_id: str | None = None
    ip_address: str | None = None
    lifeline_fd: int | None = None
