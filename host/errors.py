"""Exceptions shared across the host, apart from the modules that raise them.

Host-function modules only need these to report an errno or an exit; they do
not need the memory or FFI layers for that.
"""

from __future__ import annotations


class WasiError(Exception):
    """Raised by host-function helpers to return `errno` to the guest."""

    def __init__(self, errno: int) -> None:
        super().__init__(errno)
        self.errno = errno


class GuestExit(Exception):
    """Raised by proc_exit: unwinds the guest with its exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class GuestSetupError(Exception):
    """The module cannot be started; the message is the one-line reason."""


class TlsFailure(Exception):
    """A host TLS (hTLS) session cannot go on: `errno` for the guest, `reason` for stderr."""

    def __init__(self, errno: int, reason: str) -> None:
        super().__init__(reason)
        self.errno = errno
        self.reason = reason
