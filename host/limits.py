"""Applying a RunRequest's GuestLimits (host/requests.py) to a guest, for both runtimes.

The descriptor and socket limits are enforced by the fd table
(host/descriptors.py); this module sets what wasmtime enforces itself and
words the messages about it.
"""

from __future__ import annotations

import resource

import wasmtime

from host.requests import GuestLimits

# Elements of all of a guest's tables: each costs the host 8 bytes, and
# table.grow could otherwise ask for 2^32 of them (32 GiB). python.wasm needs
# about ten thousand.
TABLE_ELEMENTS = 1 << 20
# Descriptors the host keeps for itself beyond the guest's: the module, the
# compiled-module cache, the API server and its children's pipes.
_HOST_DESCRIPTORS = 64


def limited_store(engine: wasmtime.Engine, limits: GuestLimits) -> wasmtime.Store:
    """A store whose memory and tables cannot grow past `limits`: memory.grow
    and table.grow return -1 to the guest there, the way a full machine would."""
    store = wasmtime.Store(engine)
    store.set_limits(memory_size=limits.memory, table_elements=TABLE_ELEMENTS)
    return store


def allow_descriptors(limits: GuestLimits) -> None:
    """Raise this process's open-file soft limit so the guest can use its whole quota.

    Without this a guest allowed 1024 descriptors would meet the host's usual
    soft limit of 1024 first, and the host would have none left for itself.
    The hard limit is never raised: past it the guest just sees EMFILE earlier.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limits.descriptors + _HOST_DESCRIPTORS
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def size_text(size: int) -> str:
    """512 MiB, 1 GiB, 1.5 GiB: how sizes appear in messages."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.4g} {unit}"
    return f"{size} bytes"


def memory_note(used: int, limits: GuestLimits) -> str:
    """Why a guest that failed may have run out of memory, or "" when it cannot have.

    wasmtime does not report a memory.grow refused by the limit (the guest just
    sees -1, and Python raises MemoryError), so the note is given whenever a
    guest that failed had used at least half of its limit.
    """
    if 2 * used < limits.memory:
        return ""
    return (f"its memory had reached {size_text(used)} of the {size_text(limits.memory)} "
            "limit; raise it with --max-memory")


def start_note(error: Exception, limits: GuestLimits) -> str:
    """The limit to raise when a module's declared minimum does not fit in it."""
    text = str(error)
    if "exceeds memory limits" in text:
        return f" (--max-memory is {size_text(limits.memory)})"
    if "exceeds table limits" in text:
        return f" (this host allows {TABLE_ELEMENTS} table elements)"
    return ""
