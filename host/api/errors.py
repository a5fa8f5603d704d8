"""The API's exceptions: a Connect error for the caller, a reason for a failed task."""

from __future__ import annotations

_HTTP_STATUS = {"invalid_argument": 400, "not_found": 404, "resource_exhausted": 429,
                "internal": 500, "unimplemented": 501}


class ApiError(Exception):
    """A Connect error: `code` names it, the HTTP status follows from it."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # HTTP errors below the protocol (a body too large) have their own status.
        self.status = _HTTP_STATUS[code] if status is None else status


class TaskFailure(Exception):
    """Why a task ended in ERROR; the message becomes its errorMessage."""
