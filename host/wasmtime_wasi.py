"""Run a module on the `wasmtime` package's own WASI implementation.

Its WASI has no socket table, so the WasmEdge socket functions are present
but answer ENOSYS: the guest starts and runs everything but networking.
"""

from __future__ import annotations

import sys

import wasmtime

from host.cli import RunRequest
from host.messages import first_line
from host.modcache import load_module

WASI_MODULE = "wasi_snapshot_preview1"
ENOSYS = 52
# WasmEdge socket functions that wasmtime's WASI does not define.
WASMEDGE_ONLY_SOCKET_FUNCTIONS = frozenset({
    "sock_open", "sock_bind", "sock_connect", "sock_listen", "sock_recv_from",
    "sock_send_to", "sock_getsockopt", "sock_setsockopt", "sock_getlocaladdr",
    "sock_getpeeraddr", "sock_getaddrinfo",
})


def _unsupported(*_args: object) -> int:
    return ENOSYS


def run(request: RunRequest) -> int:
    engine = wasmtime.Engine()
    try:
        module = load_module(engine, request.module)
    except wasmtime.WasmtimeError as error:
        print(f"host: {request.module} is not a valid WebAssembly module: "
              f"{first_line(error)}", file=sys.stderr)
        return 2

    wasi = wasmtime.WasiConfig()
    wasi.argv = [request.module.name, *request.args]
    wasi.env = sorted(request.env.items())
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    for grant in request.grants:
        wasi.preopen_dir(str(grant.host_path), grant.guest_path)

    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    for item in module.imports:
        if item.module == WASI_MODULE and item.name in WASMEDGE_ONLY_SOCKET_FUNCTIONS:
            linker.define_func(item.module, item.name, item.type, _unsupported)

    try:
        instance = linker.instantiate(store, module)
    except wasmtime.WasmtimeError as error:
        print(f"host: cannot start {request.module}: {first_line(error)}",
              file=sys.stderr)
        return 2
    start = instance.exports(store)["_start"]
    try:
        start(store)
    except wasmtime.ExitTrap as exit_trap:
        return exit_trap.code
    except wasmtime.Trap as trap:
        print(f"host: guest trapped: {first_line(trap)}", file=sys.stderr)
        return 134
    return 0
