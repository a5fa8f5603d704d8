"""Runtime "builtin": WASI preview 1 (and WasmEdge sockets) implemented here.

Unlike wasmtime's own WASI this host owns the fd table, so sockets, hTLS and
the directory sandbox are all under its control.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import TYPE_CHECKING, Callable

import wasmtime

from host.descriptors import FdTable, preopen_descriptor, stdio_descriptor
from host.errors import GuestSetupError, WasiError
from host.grants import ReadOnlyTrees, close_opened, open_grants, reopen
from host.guest_memory import GuestMemory
from host.hostcall import WASI_MODULE, WASMEDGE, declarations, declared, encode
from host.limits import allow_descriptors, limited_store, memory_note, start_note
from host.linking import HostFunction, HostLinker
from host.messages import first_line
from host.modcache import grant_problem, load_module
from host.polling import PollCalls
from host.requests import RunRequest
from host.virtual_network import VirtualNetwork
from host.wasi_abi import ENOSYS
from host.wasi_files import FD_CHANGE_RIGHTS, FileCalls
from host.wasi_process import ProcessCalls
from host.wasi_sockets import SocketCalls, tls_sessions

if TYPE_CHECKING:
    from host.api.transport import ApiServer

# How timecraft tells a WasmEdge v1 module from a v2 one (spec §1).
_V1_PARAM_COUNTS = {"sock_accept": 2, "sock_getlocaladdr": 4, "sock_getpeeraddr": 4}
EXIT_HOST_ERROR = 2
EXIT_TRAP = 134
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
# Every class that declares host functions (see host/hostcall.py).
CALL_GROUPS = (FileCalls, ProcessCalls, PollCalls, SocketCalls)
# Host functions by import name and parameter string ("i" i32, "I" i64):
# the function, whether it returns an errno, whether it is a WasmEdge one.
HostFunctions = dict[tuple[str, str], tuple[HostFunction, bool, bool]]


def _unsupported(*_args: int) -> int:
    return ENOSYS


def detect_sockets_extension(module: wasmtime.Module) -> str:
    """The socket extension a module imports, decided as timecraft decides it.

    WasmEdge v1 when sock_accept takes 2 parameters or sock_getlocaladdr or
    sock_getpeeraddr 4; otherwise v2 when any WasmEdge-only function is
    imported; otherwise none.
    """
    wasmedge_only = {call.name for call in declarations(SocketCalls) if call.abi == WASMEDGE}
    found = "none"
    for item in module.imports:
        if item.module != WASI_MODULE or not isinstance(item.type, wasmtime.FuncType):
            continue
        if _V1_PARAM_COUNTS.get(item.name or "") == len(item.type.params):
            return "wasmedgev1"
        if item.name in wasmedge_only:
            found = "wasmedgev2"
    return found


def sockets_extension(request: RunRequest, module: wasmtime.Module) -> str:
    """What the guest gets: the detected extension unless -S named one."""
    wanted = detect_sockets_extension(module) if request.sockets == "auto" else request.sockets
    if wanted == "wasmedgev1":
        raise GuestSetupError("the module imports the WasmEdge v1 socket functions; this host "
                              "implements WasmEdge v2 (build the guest against v2)")
    return wanted


class LazyApi:
    """The guest's timecraft API (host/api/), started on its first connection.

    Guests that never call the API do not pay for importing http.server and
    subprocess, nor for a server thread.
    """

    def __init__(self, request: RunRequest) -> None:
        self._request = request
        self._server: ApiServer | None = None

    def serve(self, connection: socket.socket) -> None:
        """Serve the API on `connection`, the host end of a guest's connection to it.

        Raises ConnectionRefusedError when the API is at its connection limit.
        """
        if self._server is None:
            from host.api.transport import start_api

            self._server = start_api(self._request)
        self._server.serve(connection)

    def close(self) -> None:
        """Stop the server and every process the guest started through it."""
        if self._server is not None:
            self._server.close()


class BuiltinHost:
    """Everything one guest instance sees: its memory, fds and host functions."""

    def __init__(self, request: RunRequest,
                 api_serve: Callable[[socket.socket], None] | None = None) -> None:
        self.request = request
        self.network = VirtualNetwork(request.ip_address, api_serve,
                                      tls_sessions(request.ca_file))
        self.memory = GuestMemory()
        self.table = FdTable(request.limits.descriptors, request.limits.sockets)
        self.read_only = ReadOnlyTrees()
        self.functions = self._collect_functions()

    def _collect_functions(self) -> HostFunctions:
        request = self.request
        groups = (
            FileCalls(self.memory, self.table, self.read_only),
            ProcessCalls(self.memory, [request.module.name, *request.args], request.env),
            PollCalls(self.memory, self.table),
            SocketCalls(self.memory, self.table, self.network),
        )
        functions: HostFunctions = {}
        for group in groups:
            for call, function in declared(group):
                functions[call.name, call.params] = (function, call.returns_errno,
                                                     call.abi == WASMEDGE)
        return functions

    def open_descriptors(self) -> None:
        try:
            for host_fd in (0, 1, 2):
                self.table.add(stdio_descriptor(host_fd))
        except WasiError:
            raise GuestSetupError("--max-fds must leave room for stdio (at least 3)") from None
        for grant in self.request.grants:
            try:
                descriptor = preopen_descriptor(reopen(grant), grant.guest_path)
            except OSError as error:
                raise GuestSetupError(f"cannot open {grant.host_path}: {error.strerror}") from None
            try:
                self.table.add(descriptor)
            except WasiError:
                raise GuestSetupError(
                    f"{len(self.request.grants)} --dir grants and stdio do not fit in "
                    f"--max-fds {self.table.max_descriptors}; raise it") from None
            self.read_only.add(descriptor.host_fd, grant.read_only)
        for descriptor in self.table.entries.values():
            if descriptor.preopen_path is not None and self.read_only.within(descriptor.host_fd):
                descriptor.rights_base &= ~FD_CHANGE_RIGHTS

    def link(self, engine: wasmtime.Engine, module: wasmtime.Module
             ) -> tuple[wasmtime.Linker, HostLinker]:
        linker = wasmtime.Linker(engine)
        host_linker = HostLinker(linker, self.memory)
        sockets_on = sockets_extension(self.request, module) == "wasmedgev2"
        defined: set[str] = set()
        for item in module.imports:
            if item.module != WASI_MODULE or not isinstance(item.type, wasmtime.FuncType) \
                    or item.name is None:
                continue  # left undefined: instantiation names the unknown import
            if item.name in defined:
                continue  # a module may import the same function more than once
            params = encode([str(kind) for kind in item.type.params])
            found = None if params is None else self.functions.get((item.name, params))
            if found is None:
                if any(name == item.name for name, _ in self.functions):
                    raise GuestSetupError(
                        f"import {item.module}::{item.name} has an unexpected signature")
                continue  # not ours: instantiation names the unknown import
            function, returns_errno, wasmedge = found
            if wasmedge and not sockets_on:
                # Present but failing, like the wasmtime runtime: the guest
                # starts and only networking reports ENOSYS.
                function = _unsupported
            if [str(kind) for kind in item.type.results] != (["i32"] if returns_errno else []):
                raise GuestSetupError(
                    f"import {item.module}::{item.name} has an unexpected signature")
            host_linker.define(item.module, item.name, item.type, function)
            defined.add(item.name)
        return linker, host_linker


def run(request: RunRequest) -> int:
    # Each grant is resolved now, before the guest runs, and held open: what
    # the guest does to the paths later cannot change what it was granted.
    try:
        grants = open_grants(request.grants)
    except OSError as error:
        print(f"host: cannot open {error.filename}: {error.strerror}", file=sys.stderr)
        return EXIT_HOST_ERROR
    try:
        problem = grant_problem(grants)
        if problem is not None:
            print(f"host: {problem}", file=sys.stderr)
            return EXIT_HOST_ERROR
        return _run_module(request._replace(grants=grants))
    finally:
        close_opened(grants, request.grants)


def _run_module(request: RunRequest) -> int:
    engine = wasmtime.Engine()
    try:
        module = load_module(engine, request.module, request.module_fd)
    except wasmtime.WasmtimeError as error:
        print(f"host: {request.module} is not a valid WebAssembly module: {first_line(error)}",
              file=sys.stderr)
        return EXIT_HOST_ERROR
    except OSError as error:
        print(f"host: cannot read {request.module}: {error.strerror}", file=sys.stderr)
        return EXIT_HOST_ERROR
    finally:
        if request.module_fd is not None:
            os.close(request.module_fd)  # read: the guest has no use for it
    if request.lifeline_fd is not None:
        from host.api.children import exit_with_parent

        exit_with_parent(request.lifeline_fd)
    allow_descriptors(request.limits)
    api = LazyApi(request)
    try:
        return _run_instance(engine, module, BuiltinHost(request, api.serve))
    finally:
        api.close()


def _run_instance(engine: wasmtime.Engine, module: wasmtime.Module, host: BuiltinHost) -> int:
    request = host.request
    try:
        host.open_descriptors()
        linker, host_linker = host.link(engine, module)
        store = limited_store(engine, request.limits)
        instance = linker.instantiate(store, module)
        exports = instance.exports(store)
        memory, start = exports.get("memory"), exports.get("_start")
        if not isinstance(memory, wasmtime.Memory) or not isinstance(start, wasmtime.Func):
            raise GuestSetupError("not a WASI command: it must export memory and _start")
        host.memory.bind(store, memory)
    except (GuestSetupError, wasmtime.WasmtimeError) as error:
        print(f"host: cannot start {request.module}: {first_line(error)}"
              f"{start_note(error, request.limits)}", file=sys.stderr)
        host.table.close_all()
        return EXIT_HOST_ERROR
    outcome = host_linker.outcome
    try:
        start(store)
    except (wasmtime.Trap, wasmtime.WasmtimeError) as trap:
        note = memory_note(memory.data_len(store), request.limits)
        if outcome.exit_code is not None:
            if outcome.exit_code and note:
                print(f"host: the guest exited with status {outcome.exit_code}; {note}",
                      file=sys.stderr)
            return outcome.exit_code
        if isinstance(outcome.host_failure, KeyboardInterrupt):
            print("host: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        if outcome.host_failure is not None:
            print(f"host: internal error in {outcome.failed_function}: "
                  f"{first_line(outcome.host_failure)!s} "
                  f"({type(outcome.host_failure).__name__})", file=sys.stderr)
            return EXIT_INTERNAL
        print(f"host: guest trapped: {first_line(trap)}" + (f" ({note})" if note else ""),
              file=sys.stderr)
        return EXIT_TRAP
    finally:
        host.table.close_all()
    return 0
