"""Running a worker server in a thread for the duration of a test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from timecraft.worker import WorkerServer


@contextmanager
def served(server: WorkerServer) -> Iterator[str]:
    """Serve `server` in a thread; yields its "127.0.0.1:PORT"."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
