"""Parameter types of every host function, as the guest must import them.

"i" is an i32 parameter and "I" an i64; every function returns an i32 errno
except proc_exit, which returns nothing.
"""

from __future__ import annotations

PREVIEW1 = {
    "args_get": "ii", "args_sizes_get": "ii", "environ_get": "ii", "environ_sizes_get": "ii",
    "clock_res_get": "ii", "clock_time_get": "iIi",
    "fd_advise": "iIIi", "fd_allocate": "iII", "fd_close": "i", "fd_datasync": "i",
    "fd_fdstat_get": "ii", "fd_fdstat_set_flags": "ii", "fd_fdstat_set_rights": "iII",
    "fd_filestat_get": "ii", "fd_filestat_set_size": "iI", "fd_filestat_set_times": "iIIi",
    "fd_pread": "iiiIi", "fd_prestat_get": "ii", "fd_prestat_dir_name": "iii",
    "fd_pwrite": "iiiIi", "fd_read": "iiii", "fd_readdir": "iiiIi", "fd_renumber": "ii",
    "fd_seek": "iIii", "fd_sync": "i", "fd_tell": "ii", "fd_write": "iiii",
    "path_create_directory": "iii", "path_filestat_get": "iiiii",
    "path_filestat_set_times": "iiiiIIi", "path_link": "iiiiiii", "path_open": "iiiiiIIii",
    "path_readlink": "iiiiii", "path_remove_directory": "iii", "path_rename": "iiiiii",
    "path_symlink": "iiiii", "path_unlink_file": "iii",
    "poll_oneoff": "iiii", "proc_exit": "i", "proc_raise": "i", "sched_yield": "",
    "random_get": "ii",
    "sock_accept": "iii", "sock_recv": "iiiiii", "sock_send": "iiiii", "sock_shutdown": "ii",
}

# WasmEdge socket extension; sock_recv_from has a v1 form without the port.
WASMEDGE = {
    "sock_open": ("iii",), "sock_bind": ("iii",), "sock_connect": ("iii",),
    "sock_listen": ("ii",), "sock_recv_from": ("iiiiiiii", "iiiiiii"),
    "sock_send_to": ("iiiiiii",), "sock_getsockopt": ("iiiii",),
    "sock_setsockopt": ("iiiii",), "sock_getlocaladdr": ("iii",),
    "sock_getpeeraddr": ("iii",), "sock_getaddrinfo": ("iiiiiiii",),
}

NO_RESULT = frozenset({"proc_exit"})

_KINDS = {"i32": "i", "i64": "I"}


def encode(params: list[str]) -> str | None:
    """The signature string for wasmtime parameter type names, None if unsupported."""
    letters = [_KINDS.get(kind) for kind in params]
    return None if None in letters else "".join(letters)  # type: ignore[arg-type]


def accepted(name: str) -> tuple[str, ...]:
    if name in PREVIEW1:
        return (PREVIEW1[name],)
    return WASMEDGE.get(name, ())
