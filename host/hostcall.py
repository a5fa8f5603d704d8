"""Each host function is declared once, where it is implemented.

`@hostcall("iiii")` on a method gives its import name (the method's name
unless `name=` says otherwise), its wasm parameter types ("i" an i32, "I" an
i64), whether it returns an errno, and which ABI it belongs to. The runtimes
link from these declarations alone; nothing else lists host functions.
"""

from __future__ import annotations

from typing import Callable, Iterator, NamedTuple, TypeVar

WASI_MODULE = "wasi_snapshot_preview1"
PREVIEW1 = "preview1"
WASMEDGE = "wasmedge"  # the WasmEdge socket extension, imported from WASI_MODULE too

_KINDS = {"i32": "i", "i64": "I"}

F = TypeVar("F", bound=Callable[..., int])


class HostCall(NamedTuple):
    name: str
    params: str
    returns_errno: bool
    abi: str


def hostcall(params: str, *, name: str | None = None, abi: str = PREVIEW1,
             returns_errno: bool = True) -> Callable[[F], F]:
    def declare(method: F) -> F:
        method.__hostcall__ = HostCall(  # type: ignore[attr-defined]
            name or method.__name__, params, returns_errno, abi)
        return method
    return declare


def declared(group: object) -> Iterator[tuple[HostCall, Callable[..., int]]]:
    """The host functions a call group declares, bound to the group."""
    for attribute, value in vars(type(group)).items():
        call = getattr(value, "__hostcall__", None)
        if isinstance(call, HostCall):
            yield call, getattr(group, attribute)


def declarations(*classes: type) -> Iterator[HostCall]:
    """The declarations of call-group classes, without instances."""
    for cls in classes:
        for value in vars(cls).values():
            call = getattr(value, "__hostcall__", None)
            if isinstance(call, HostCall):
                yield call


def encode(kinds: list[str]) -> str | None:
    """The parameter string for wasmtime value type names, None if unsupported."""
    letters = [_KINDS.get(kind) for kind in kinds]
    return None if None in letters else "".join(letters)  # type: ignore[arg-type]
