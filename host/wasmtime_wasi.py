"""Run a module on the `wasmtime` package's own WASI implementation.

Its WASI has no socket table, so the WasmEdge socket functions are present
but answer ENOSYS: the guest starts and runs everything but networking.
"""

from __future__ import annotations

import sys

import wasmtime

from host.hostcall import WASI_MODULE, WASMEDGE, declarations
from host.messages import first_line
from host.modcache import grant_problem, load_module
from host.requests import RunRequest
from host.wasi_sockets import SocketCalls

ENOSYS = 52


def _unsupported(*_args: object) -> int:
    return ENOSYS


def run(request: RunRequest) -> int:
    problem = grant_problem(request.grants)
    if problem is not None:
        print(f"host: {problem}", file=sys.stderr)
        return 2
    engine = wasmtime.Engine()
    try:
        module = load_module(engine, request.module, request.module_fd)
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
        wasi.preopen_dir(str(grant.host_path), grant.guest_path, not grant.read_only)

    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    # wasmtime's WASI does not define the WasmEdge socket functions.
    wasmedge_only = {call.name for call in declarations(SocketCalls) if call.abi == WASMEDGE}
    for item in module.imports:
        if item.module == WASI_MODULE and item.name in wasmedge_only \
                and isinstance(item.type, wasmtime.FuncType):
            linker.define_func(item.module, item.name, item.type, _unsupported)

    try:
        instance = linker.instantiate(store, module)
    except wasmtime.WasmtimeError as error:
        print(f"host: cannot start {request.module}: {first_line(error)}",
              file=sys.stderr)
        return 2
    start = instance.exports(store).get("_start")
    if not isinstance(start, wasmtime.Func):
        print(f"host: cannot start {request.module}: not a WASI command: it must export _start",
              file=sys.stderr)
        return 2
    try:
        start(store)
    except wasmtime.ExitTrap as exit_trap:
        return exit_trap.code
    except wasmtime.Trap as trap:
        print(f"host: guest trapped: {first_line(trap)}", file=sys.stderr)
        return 134
    return 0
