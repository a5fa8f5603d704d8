"""Stage `xz`: liblzma.a (from xz) for wasm32-wasi in build/xz, for CPython's _lzma."""

from __future__ import annotations

from pathlib import Path

from scripts import clibs, layout, toolchain
from scripts.options import BuildOptions
from scripts.shell import output, run

CONFIGURE_OPTIONS = (
    "--disable-shared", "--enable-static",
    # WASI preview 1 has no threads.
    "--disable-threads",
    # Only liblzma: no programs, scripts, translations or documentation.
    "--disable-xz", "--disable-xzdec", "--disable-lzmadec", "--disable-lzmainfo",
    "--disable-lzma-links", "--disable-scripts", "--disable-doc", "--disable-nls",
    # Formats CPython's lzma module has no API for.
    "--disable-microlzma", "--disable-lzip-decoder",
)


def compile_library(tools: toolchain.Toolchain, options: BuildOptions, work: Path, staging: Path
                    ) -> None:
    log = layout.LOGS / "xz.log"
    env = {"CC": clibs.wasm_cc(tools), "AR": tools.ar, "RANLIB": tools.ranlib,
           "CFLAGS": " ".join(clibs.OPT_FLAGS)}
    build_triple = output([work / "build-aux" / "config.guess"])
    run([work / "configure", "--host=wasm32-unknown-wasi", f"--build={build_triple}",
         *CONFIGURE_OPTIONS], cwd=work, env=env, log=log)
    run(["make", f"-j{options.jobs}", "-C", "src/liblzma"], cwd=work, log=log)
    api = work / "src" / "liblzma" / "api"
    clibs.install(staging, work / "src" / "liblzma" / ".libs" / "liblzma.a",
                  [api / "lzma.h", api / "lzma"])


def build(options: BuildOptions) -> None:
    clibs.build_stage("xz", options, compile_library, [*clibs.OPT_FLAGS, *CONFIGURE_OPTIONS])
