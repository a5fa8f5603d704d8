"""Every use of the `wasmtime` package's private API, in one place.

The package's public API wraps each host-function argument in a `Val` and
each memory access in a bounds-checked copy; python.wasm makes thousands of
WASI calls while starting, so the host reaches under it for three things:
raw-slot host functions, a direct view of linear memory, and the native
library's identity for the compiled-module cache. These rely on internals
(`_ffi`, `Store._context()`, `Memory._memory`, `WasmtimeError._from_ptr`)
that requirements/host.in pins to the release range this was written for.
"""

from __future__ import annotations

import ctypes
import os
from typing import Callable

import wasmtime
from wasmtime import _ffi as ffi

# wasmtime_linker_define_func_unchecked's callback:
# (env, caller, args_and_results, count) -> trap pointer or NULL.
RawCallback = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p,
                               ctypes.c_void_p, ctypes.c_size_t)
RAW_SLOT_SIZE = 16  # sizeof(wasmtime_val_raw_t)

# A private prototype so our callback type does not clash with the package's.
_define_unchecked = ctypes.CFUNCTYPE(
    ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
    ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, RawCallback, ctypes.c_void_p,
    ctypes.c_void_p,
)(("wasmtime_linker_define_func_unchecked", ffi.dll))


def define_raw(linker: wasmtime.Linker, module: str, name: str,
               func_type: wasmtime.FuncType, callback: object) -> None:
    """Define `module::name` on `linker` as a raw-slot callback (a RawCallback)."""
    module_bytes, name_bytes = module.encode(), name.encode()
    error = _define_unchecked(
        ctypes.addressof(linker.ptr().contents), module_bytes, len(module_bytes),
        name_bytes, len(name_bytes), ctypes.addressof(func_type.ptr().contents),
        callback, None, None)
    if error:
        raise wasmtime.WasmtimeError._from_ptr(
            ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t)))


def new_trap(message: str) -> int:
    """A trap for a raw callback to return (the guest unwinds with it)."""
    encoded = message.encode()
    trap = ffi.wasmtime_trap_new(ctypes.create_string_buffer(encoded), len(encoded))
    return ctypes.cast(trap, ctypes.c_void_p).value or 0


def memory_accessors(store: wasmtime.Store, memory: wasmtime.Memory
                     ) -> tuple[Callable[[], int], Callable[[], int]]:
    """Functions returning the memory's current size and base address."""
    context = store._context()
    memory_ref = ctypes.byref(memory._memory)
    data_size = ffi.dll.wasmtime_memory_data_size
    data = ffi.dll.wasmtime_memory_data
    return (lambda: data_size(context, memory_ref),
            lambda: ctypes.addressof(data(context, memory_ref).contents))


def native_library_identity() -> str:
    """Identifies the wasmtime native library: serialized modules only load in
    the build that produced them (the Python package exposes no version)."""
    library = os.stat(ffi.dll._name)
    return f"{library.st_size:x}-{library.st_mtime_ns:x}"
