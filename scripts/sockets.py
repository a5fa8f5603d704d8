"""Stage `sockets`: build libwasmedge_sock.a (POSIX sockets over the WasmEdge v2 ABI)."""

from __future__ import annotations

from pathlib import Path

from scripts import layout, reproducible, toolchain
from scripts.options import BuildOptions
from scripts.shell import run, say


def library_dir(options: BuildOptions) -> Path:
    return layout.BUILD / options.variant / "wasmedge_sock"


def library(options: BuildOptions) -> Path:
    return library_dir(options) / "libwasmedge_sock.a"


def build(options: BuildOptions) -> None:
    if not options.sockets:
        say("sockets: skipped (--no-sockets)")
        return
    tools = toolchain.load()
    # make's own dependency tracking (sources, headers, sysroot) keeps this incremental.
    # The Makefile's default flags (-O2), and paths relative to the checkout.
    cflags = " ".join(["-O2", *reproducible.prefix_map_flags()])
    command: list[str | Path] = ["make", "-C", layout.SOCKETS_SRC, f"-j{options.jobs}", f"CC={tools.cc}",
               f"AR={tools.ar}", f"CFLAGS={cflags}", f"SYSROOT={layout.SYSROOT}",
               f"OBJDIR={library_dir(options)}"]
    if options.debug:
        command.append("TRACE=1")
    run(command)
    say(f"sockets: {library(options)}")
