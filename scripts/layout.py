"""Where the build reads and writes. Outputs stay in ignored folders."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"
DIST = REPO / "dist"
DEPS = REPO / "deps"
SOURCES_LOCK = REPO / "sources.toml"
TOOLCHAIN_FILE = BUILD / "toolchain.json"
SYSROOT = BUILD / "sysroot"
LIBC_PATCHES = REPO / "wasi-libc"
SOCKETS_SRC = REPO / "wasmedge_sock"
# Our files for the C libraries CPython's modules link (sqlite, bzip2, xz): a folder each.
CLIBS = REPO / "clibs"
PYTHON_DIR = REPO / "python"
CPYTHON_PATCHES = PYTHON_DIR / "patches"
CONFIG_SITE = PYTHON_DIR / "config.site-wasm32-wasi"
# Patches to the copy of CPython's Lib/test that `nox -s regrtest` runs.
TEST_PATCHES = PYTHON_DIR / "test-patches"
# The modules `nox -s regrtest` runs, and their expected failures and skips.
REGRTEST_LIST = REPO / "tests" / "regrtest.toml"
OVERLAY_LIB = PYTHON_DIR / "Lib"
PYTHON_WASM = DIST / "python.wasm"
STDLIB_ZIP = DIST / "python311.zip"
MANIFEST = DIST / "manifest.json"
LOGS = BUILD / "logs"
# Our own build inputs (besides the pinned sources); the manifest records them by content.
OWN_INPUTS = (LIBC_PATCHES, SOCKETS_SRC, CLIBS, CPYTHON_PATCHES, CONFIG_SITE, OVERLAY_LIB, SOURCES_LOCK)


def cache_root() -> Path:
    """Per-user cache shared by every clone (downloads, compiled modules)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "timecraft-python"
