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
    # Nothing beneath it may be changed by the guest (see host/grants.py).
    read_only: bool = False
    # The directory, open: from then on it, not host_path, is the grant.
    host_fd: int | None = None


class ApiLimits(NamedTuple):
    """What a guest may ask of its timecraft API (see README, Security); all at once."""

    # Child hosts alive (spawned processes and task workers) in the guest's
    # whole tree: its children's children count against the same limit.
    processes: int = 8
    # API connections served, and tasks running.
    work: int = 16
    # Bytes of one API request body, and of one task's response body.
    body: int = 8 * 1024 * 1024
    # Tasks kept: submitted and not discarded yet.
    tasks: int = 256


class GuestLimits(NamedTuple):
    """What one guest may consume (see README, Security); all at once."""

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
    # Set only for modules a guest spawned through the API (see host/api/):
    # their id, their own loopback address, and the pipe that ends them with it.
    process_id: str | None = None
    ip_address: str | None = None
    lifeline_fd: int | None = None
    limits: GuestLimits = GuestLimits()
    api_limits: ApiLimits = ApiLimits()
    # The file whose locks count the processes of the guest's tree (host/api/children.py).
    process_slots_fd: int | None = None
    # The module, open: a spawned child runs what its parent found and opened.
    module_fd: int | None = None
