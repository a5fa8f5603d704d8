"""Run a module on the `wasmtime` package's own WASI implementation.

Its WASI has no socket table, so the WasmEdge socket functions are present
but answer ENOSYS: the guest starts and runs everything but networking.
"""

from __future__ import annotations

import sys

import wasmtime

from host.errors import GuestExit
from host.hostcall import WASI_MODULE, WASMEDGE, declarations
from host.limits import limited_store, memory_note, start_note
from host.messages import first_line
from host.modcache import grant_problem, load_module
from host.requests import RunRequest
from host.wasi_process import exit_status
from host.wasi_sockets import SocketCalls

ENOSYS = 52


def _unsupported(*_args: object) -> int:
    return ENOSYS


def _proc_exit(code: int) -> None:
    # wasmtime re-raises a host function's exception from the guest's call.
    raise GuestExit(exit_status(code))


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

    store = limited_store(engine, request.limits)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    # wasmtime's own proc_exit refuses statuses from 126 up with an error that
    # is no exit at all; this one gives the same status as the builtin runtime.
    linker.allow_shadowing = True
    # (A FuncType belongs to the first engine that uses it: one per run.)
    linker.define_func(WASI_MODULE, "proc_exit",
                       wasmtime.FuncType([wasmtime.ValType.i32()], []), _proc_exit)
    # wasmtime's WASI does not define the WasmEdge socket functions.
    wasmedge_only = {call.name for call in declarations(SocketCalls) if call.abi == WASMEDGE}
    for item in module.imports:
        if item.module == WASI_MODULE and item.name in wasmedge_only \
                and isinstance(item.type, wasmtime.FuncType):
            linker.define_func(item.module, item.name, item.type, _unsupported)

    try:
        instance = linker.instantiate(store, module)
    except wasmtime.WasmtimeError as error:
        print(f"host: cannot start {request.module}: {first_line(error)}"
              f"{start_note(error, request.limits)}", file=sys.stderr)
        return 2
    exports = instance.exports(store)
    start, memory = exports.get("_start"), exports.get("memory")
    if not isinstance(start, wasmtime.Func):
        print(f"host: cannot start {request.module}: not a WASI command: it must export _start",
              file=sys.stderr)
        return 2
    try:
        start(store)
    except GuestExit as exit_request:
        note = _memory_note(store, memory, request)
        if exit_request.code and note:
            print(f"host: the guest exited with status {exit_request.code}; {note}",
                  file=sys.stderr)
        return exit_request.code
    except (wasmtime.Trap, wasmtime.WasmtimeError) as trap:
        note = _memory_note(store, memory, request)
        print(f"host: guest trapped: {first_line(trap)}" + (f" ({note})" if note else ""),
              file=sys.stderr)
        return 134
    return 0


def _memory_note(store: wasmtime.Store, memory: object, request: RunRequest) -> str:
    used = memory.data_len(store) if isinstance(memory, wasmtime.Memory) else 0
    return memory_note(used, request.limits)
