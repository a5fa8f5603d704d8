"""Direct access to the guest's linear memory from host functions."""

from __future__ import annotations

import ctypes
import struct

import wasmtime

from host.errors import WasiError
from host.wasi_abi import EFAULT, EINVAL, ENAMETOOLONG
from host.wasmtime_private import memory_accessors

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_IOVEC = struct.Struct("<II")
# Linux's limit on the buffers of one readv/writev.
IOV_MAX = 1024
PATH_MAX = 4096


class GuestMemory:
    """A memoryview over the guest's memory, rebuilt whenever the memory grows.

    Host functions run between guest instructions, so the memory can only have
    changed size (never shrunk) since the previous call: checking the size on
    entry is enough to keep `view` valid.
    """

    def __init__(self) -> None:
        self.view = memoryview(bytearray())
        self._size = 0
        self._query_size = lambda: 0
        self._query_base = lambda: 0

    def bind(self, store: wasmtime.Store, memory: wasmtime.Memory) -> None:
        self._query_size, self._query_base = memory_accessors(store, memory)
        self._size = -1
        self.refresh()

    def refresh(self) -> None:
        size = self._query_size()
        if size != self._size:
            self._size = size
            self.view = memoryview((ctypes.c_ubyte * size).from_address(self._query_base())).cast("B")

    def u16(self, address: int) -> int:
        return _U16.unpack_from(self.view, address)[0]

    def u32(self, address: int) -> int:
        return _U32.unpack_from(self.view, address)[0]

    def u64(self, address: int) -> int:
        return _U64.unpack_from(self.view, address)[0]

    def put_u16(self, address: int, value: int) -> None:
        _U16.pack_into(self.view, address, value)

    def put_u32(self, address: int, value: int) -> None:
        _U32.pack_into(self.view, address, value)

    def put_u64(self, address: int, value: int) -> None:
        _U64.pack_into(self.view, address, value)

    def slice(self, address: int, length: int) -> memoryview:
        if address + length > self._size:
            raise WasiError(EFAULT)
        return self.view[address:address + length]

    def read(self, address: int, length: int) -> bytes:
        return bytes(self.slice(address, length))

    def write(self, address: int, data: bytes) -> None:
        self.slice(address, len(data))[:] = data

    def string(self, address: int, length: int) -> str:
        """A guest string argument; undecodable bytes survive as surrogates like host paths."""
        return self.read(address, length).decode("utf-8", "surrogateescape")

    def size(self) -> int:
        """The memory's size now (it may have grown since the last host call)."""
        return self._query_size()

    def path(self, address: int, length: int) -> str:
        """A guest path argument: at most PATH_MAX bytes, as on Linux.

        Longer ones could never be used on the host anyway, and splitting a
        path of a billion slashes into components would take gigabytes.
        """
        if length > PATH_MAX:
            raise WasiError(ENAMETOOLONG)
        return self.string(address, length)

    def iovecs(self, address: int, count: int) -> list[memoryview]:
        """The guest buffers of an iovec/ciovec array, as writable views.

        At most IOV_MAX of them, like readv(2): the count is the guest's, and
        looping over billions of empty entries would stall the host.
        """
        if count > IOV_MAX:
            raise WasiError(EINVAL)
        self.slice(address, 8 * count)
        view = self.view
        buffers = []
        for index in range(count):
            base, length = _IOVEC.unpack_from(view, address + 8 * index)
            if length:
                buffers.append(self.slice(base, length))
        return buffers
