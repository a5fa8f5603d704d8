"""Binds Python host functions to wasm imports through wasmtime's raw-value ABI.

`Linker.define_func` wraps every argument in a `Val` and allocates a `Caller`
per call; python.wasm makes thousands of WASI calls while starting, so host
functions here are registered with the unchecked C API instead: one ctypes
callback that unpacks the raw argument slots with a precompiled `struct`.
"""

from __future__ import annotations

import ctypes
import struct
from typing import Callable

import wasmtime

from host.errors import GuestExit, WasiError
from host.guest_memory import GuestMemory
from host.wasi_abi import EFAULT, from_host
from host.wasmtime_private import RAW_SLOT_SIZE, RawCallback, define_raw, new_trap

HostFunction = Callable[..., int]

_SLOT_FORMATS = {"i32": "I12x", "i64": "q8x"}
_ERRNO_BYTES = [struct.pack("<i", number) for number in range(128)]


class CallOutcome:
    """Why the guest stopped, recorded by the trampolines before trapping."""

    def __init__(self) -> None:
        self.exit_code: int | None = None
        self.host_failure: BaseException | None = None
        self.failed_function = ""


def signature(func_type: wasmtime.FuncType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(str(p) for p in func_type.params), tuple(str(r) for r in func_type.results)


class HostLinker:
    """Defines host functions on a wasmtime Linker and keeps their callbacks alive."""

    def __init__(self, linker: wasmtime.Linker, memory: GuestMemory) -> None:
        self._linker = linker
        self._memory = memory
        self._callbacks: list[object] = []
        self.outcome = CallOutcome()

    def define(self, module: str, name: str, func_type: wasmtime.FuncType,
               function: HostFunction) -> None:
        params, results = signature(func_type)
        if any(kind not in _SLOT_FORMATS for kind in params) or results not in ((), ("i32",)):
            raise ValueError(f"unsupported signature for {module}::{name}")
        callback = RawCallback(self._trampoline(name, function, params, bool(results)))
        self._callbacks.append(callback)
        define_raw(self._linker, module, name, func_type, callback)

    def _trampoline(self, name: str, function: HostFunction, params: tuple[str, ...],
                    returns_errno: bool) -> Callable[[int, int, int, int], int]:
        arguments_size = RAW_SLOT_SIZE * len(params)
        unpack = struct.Struct("<" + "".join(_SLOT_FORMATS[kind] for kind in params)).unpack
        refresh = self._memory.refresh
        outcome = self.outcome
        string_at = ctypes.string_at
        memmove = ctypes.memmove
        errno_bytes = _ERRNO_BYTES

        def trampoline(_env: int, _caller: int, slots: int, _count: int) -> int:
            try:
                refresh()
                result = function(*unpack(string_at(slots, arguments_size)))
            except OSError as error:
                result = from_host(error)
            except WasiError as error:
                result = error.errno
            except struct.error:
                result = EFAULT  # a guest pointer past the end of its memory
            except GuestExit as exit_request:
                outcome.exit_code = exit_request.code
                return new_trap(f"exit status {exit_request.code}")
            except BaseException as failure:  # noqa: BLE001 - must not unwind through C
                outcome.host_failure = failure
                outcome.failed_function = name
                return new_trap(f"host function {name} failed")
            if returns_errno:
                memmove(slots, errno_bytes[result], 4)
            return 0

        return trampoline
