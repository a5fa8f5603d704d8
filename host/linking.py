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
from wasmtime import _ffi as ffi

from host.guest_memory import GuestMemory, WasiError
from host.wasi_abi import EFAULT, from_host

HostFunction = Callable[..., int]

_RAW_SLOT_SIZE = 16  # sizeof(wasmtime_val_raw_t)
_SLOT_FORMATS = {"i32": "I12x", "i64": "q8x"}
_ERRNO_BYTES = [struct.pack("<i", number) for number in range(128)]

_Callback = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p,
                             ctypes.c_void_p, ctypes.c_size_t)
# A private prototype so our callback type does not clash with the package's.
_define_unchecked = ctypes.CFUNCTYPE(
    ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
    ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, _Callback, ctypes.c_void_p,
    ctypes.c_void_p,
)(("wasmtime_linker_define_func_unchecked", ffi.dll))


class GuestExit(Exception):
    """Raised by proc_exit: unwinds the guest with its exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class CallOutcome:
    """Why the guest stopped, recorded by the trampolines before trapping."""

    def __init__(self) -> None:
        self.exit_code: int | None = None
        self.host_failure: BaseException | None = None
        self.failed_function = ""


def _new_trap(message: str) -> int:
    encoded = message.encode()
    trap = ffi.wasmtime_trap_new(ctypes.create_string_buffer(encoded), len(encoded))
    return ctypes.cast(trap, ctypes.c_void_p).value or 0


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
        callback = _Callback(self._trampoline(name, function, params, bool(results)))
        self._callbacks.append(callback)
        module_bytes, name_bytes = module.encode(), name.encode()
        error = _define_unchecked(
            ctypes.addressof(self._linker.ptr().contents), module_bytes, len(module_bytes),
            name_bytes, len(name_bytes), ctypes.addressof(func_type.ptr().contents),
            callback, None, None)
        if error:
            raise wasmtime.WasmtimeError._from_ptr(
                ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t)))

    def _trampoline(self, name: str, function: HostFunction, params: tuple[str, ...],
                    returns_errno: bool) -> Callable[[int, int, int, int], int]:
        arguments_size = _RAW_SLOT_SIZE * len(params)
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
                return _new_trap(f"exit status {exit_request.code}")
            except BaseException as failure:  # noqa: BLE001 - must not unwind through C
                outcome.host_failure = failure
                outcome.failed_function = name
                return _new_trap(f"host function {name} failed")
            if returns_errno:
                memmove(slots, errno_bytes[result], 4)
            return 0

        return trampoline
