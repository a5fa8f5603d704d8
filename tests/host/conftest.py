"""Fixtures for the host tests; the guests themselves are in wasm_guests.py."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, settings
from wasm_guests import GUEST_ROOT, SocketGuest, WasiGuest

from host.requests import Grant

# Property tests (test_hostcall_properties.py): a few examples per host function
# in CI, no example database in the checkout; --hypothesis-profile=thorough for more.
settings.register_profile(
    "ci", max_examples=15, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("thorough", settings.get_profile("ci"), max_examples=1500)
settings.load_profile("ci")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp/granted is the grant; tmp/secret.txt and tmp/outside/ lie beside it."""
    granted = tmp_path / "granted"
    (granted / "sub" / "deeper").mkdir(parents=True)
    (granted / "file.txt").write_text("inside")
    (granted / "sub" / "inner.txt").write_text("inner")
    (tmp_path / "secret.txt").write_text("SECRET")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "other.txt").write_text("OTHER")
    return tmp_path


@pytest.fixture
def guest(tree: Path) -> Iterator[WasiGuest]:
    instance = WasiGuest([Grant(tree / "granted", GUEST_ROOT)])
    yield instance
    instance.close()


@pytest.fixture
def net(tmp_path: Path) -> Iterator[SocketGuest]:
    instance = SocketGuest([])
    yield instance
    instance.close()
