"""Python SDK for the timecraft host API.

`Client` calls the API of the runtime the program runs under (tasks and
processes); `serve_forever` runs a worker that answers HTTP tasks.
"""

from timecraft.client import ADDRESS_VARIABLE, DEFAULT_ADDRESS, Client, TimecraftError
from timecraft.messages import (
    HTTPRequest,
    HTTPResponse,
    ModuleSpec,
    ProcessID,
    TaskID,
    TaskRequest,
    TaskResponse,
    TaskState,
)
from timecraft.worker import make_server, serve_forever

__all__ = [
    "ADDRESS_VARIABLE",
    "Client",
    "DEFAULT_ADDRESS",
    "HTTPRequest",
    "HTTPResponse",
    "ModuleSpec",
    "ProcessID",
    "TaskID",
    "TaskRequest",
    "TaskResponse",
    "TaskState",
    "TimecraftError",
    "make_server",
    "serve_forever",
]
