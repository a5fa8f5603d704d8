"""Stage `sqlite`: the SQLite amalgamation as build/sqlite/lib/libsqlite3.a for wasm32-wasi.

How SQLite behaves in a WASI guest (see README.md, "SQLite in the guest"):
WASI has no file locking and no shared memory. Locks between connections of
one guest work (SQLite's own table, clibs/sqlite/wasi_compat.h); nothing
excludes a second process writing the same database at the same time. The
journal is the rollback journal (WAL needs shared memory between processes
and is left out), and temporary tables and indexes live in memory, since a
sandbox may have no writable temporary directory.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from scripts import clibs, layout, toolchain
from scripts.options import BuildOptions
from scripts.shell import StageError, fresh_dir, run, which

DEFINES = (
    # WASI preview 1 has no threads.
    "-DSQLITE_THREADSAFE=0",
    # No dlopen in WASI.
    "-DSQLITE_OMIT_LOAD_EXTENSION",
    # WAL keeps its index in memory shared by every process using the
    # database; WASI cannot share memory. A database the host left in WAL mode
    # must be switched back (PRAGMA journal_mode=DELETE) before a guest opens it.
    "-DSQLITE_OMIT_WAL",
    # No mmap in WASI.
    "-DSQLITE_MAX_MMAP_SIZE=0",
    # Temporary tables, indexes and sorts in memory: a sandbox may grant no
    # writable temporary directory. PRAGMA temp_store=FILE still works where one is.
    "-DSQLITE_TEMP_STORE=2",
    # wasi-libc has usleep; without this SQLite sleeps in whole seconds while busy.
    "-DHAVE_USLEEP=1",
    # getpid() in wasi-libc needs this (CPython links the emulation library).
    "-D_WASI_EMULATED_GETPID",
    # Entropy from WASI's random_get (clibs/sqlite/wasi_init.c).
    "-DSQLITE_EXTRA_INIT=timecraft_sqlite_init",
)
COMPAT_HEADER = layout.CLIBS / "sqlite" / "wasi_compat.h"
INIT_SOURCE = layout.CLIBS / "sqlite" / "wasi_init.c"


def amalgamation(tools: toolchain.Toolchain, work: Path) -> Path:
    """The folder holding sqlite3.c and sqlite3.h.

    The upstream tarball ships them; Debian's is SQLite's canonical source
    tree, from which SQLite's own makefile generates them (with tclsh and a
    native compiler for its code generators).
    """
    if (work / "sqlite3.c").is_file():
        return work
    if which("tclsh") is None:
        raise StageError("generating the SQLite amalgamation from Debian's source tree needs "
                         "tclsh: install it (apt-get install tcl) and run the stage again")
    folder = fresh_dir(work / "amalgamation")
    run(["make", "-f", work / "main.mk", f"TOP={work}", f"BCC={tools.cc}", f"TCC={tools.cc}",
         "NAWK=awk", "TCLSH_CMD=tclsh", "sqlite3.c"],
        cwd=folder, log=layout.LOGS / "sqlite.log")
    return folder


def compile_library(tools: toolchain.Toolchain, options: BuildOptions, work: Path, staging: Path
                    ) -> None:
    source = amalgamation(tools, work)
    objects = fresh_dir(work / "wasm")
    cc = shlex.split(clibs.wasm_cc(tools))
    log = layout.LOGS / "sqlite.log"
    run([*cc, *clibs.OPT_FLAGS, *DEFINES, "-include", COMPAT_HEADER, "-c", source / "sqlite3.c",
         "-o", objects / "sqlite3.o"], log=log)
    run([*cc, *clibs.OPT_FLAGS, "-Wall", "-Wextra", "-Werror", f"-I{source}", "-c", INIT_SOURCE,
         "-o", objects / "wasi_init.o"], log=log)
    archive = objects / "libsqlite3.a"
    run([tools.ar, "rcs", archive, objects / "sqlite3.o", objects / "wasi_init.o"], log=log)
    clibs.install(staging, archive, [source / "sqlite3.h", source / "sqlite3ext.h"])


def build(options: BuildOptions) -> None:
    clibs.build_stage("sqlite", options, compile_library, [*clibs.OPT_FLAGS, *DEFINES])
