"""The API's exceptions: a Connect error for the caller, a reason for a failed task."""

from __future__ import annotations

_HTTP_STATUS = {"invalid_argument": 400, "not_found": 404, "internal": 500,
                "unimplemented": 501}


class ApiError(Exception):
    """A Connect error: `code` names it, the HTTP status follows from it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return _HTTP_STATUS[self.code]


class TaskFailure(Exception):
    """Why a task ended in ERROR; the message becomes its errorMessage."""
