"""The hTLS option (level "time", name 1) is spelled three times, in three languages:
the C header the guest library exports, the guest's ssl overlay, and the host."""

from __future__ import annotations

import ast
import re

from host import wasi_sockets
from scripts import layout

HTLS_LEVEL = int.from_bytes(b"time", "big")  # timecraft's SOL level: the ASCII bytes "time"


def _c_defines() -> dict[str, int]:
    header = (layout.REPO / "wasmedge_sock" / "include" / "wasmedge_sock.h").read_text()
    return {name: int(value, 0) for name, value in
            re.findall(r"^#define\s+(\w+)\s+(0x[0-9a-fA-F]+|\d+)\s*$", header, re.MULTILINE)}


def _ssl_overlay_constants() -> dict[str, int]:
    # The overlay replaces the stdlib's ssl inside the guest; read it, do not import it here.
    tree = ast.parse((layout.REPO / "python" / "Lib" / "ssl.py").read_text())
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, int):
                    constants[target.id] = node.value.value
    return constants


def test_htls_option_agrees_across_c_header_ssl_overlay_and_host() -> None:
    c, overlay = _c_defines(), _ssl_overlay_constants()
    assert c["SOL_TIMECRAFT_HTLS"] == overlay["_HTLS_LEVEL"] == wasi_sockets.HTLS_LEVEL == HTLS_LEVEL
    assert c["HTLS_SERVER_NAME"] == overlay["_HTLS_SERVER_NAME"] == wasi_sockets.HTLS_SERVER_NAME == 1
