"""Stage `bzip2`: libbz2.a for wasm32-wasi in build/bzip2, for CPython's _bz2."""

from __future__ import annotations

from pathlib import Path

from scripts import clibs, layout, toolchain
from scripts.options import BuildOptions
from scripts.shell import run

# bzip2's own makefile flags, without -g and with our optimization.
CFLAGS = (*clibs.OPT_FLAGS, "-D_FILE_OFFSET_BITS=64")


def compile_library(tools: toolchain.Toolchain, options: BuildOptions, work: Path, staging: Path
                    ) -> None:
    # Only the library: the makefile's default target would also build and
    # test the bzip2 programs, which cannot run on the build machine.
    run(["make", f"-j{options.jobs}", "libbz2.a", f"CC={clibs.wasm_cc(tools)}", f"AR={tools.ar}",
         f"RANLIB={tools.ranlib}", f"CFLAGS={' '.join(CFLAGS)}"],
        cwd=work, log=layout.LOGS / "bzip2.log")
    clibs.install(staging, work / "libbz2.a", [work / "bzlib.h"])


def build(options: BuildOptions) -> None:
    clibs.build_stage("bzip2", options, compile_library, CFLAGS)
