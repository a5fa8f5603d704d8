"""Stage `optimize`: wasm-opt -O2 and debug-info stripping of python.wasm into dist/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

from scripts import cpython, layout, toolchain
from scripts.options import BuildOptions, parse_build_options
from scripts.shell import StageError, run, say
from scripts.stamps import Stamp, file_sha256, fingerprint

STAMP = Stamp(layout.BUILD / "stamps" / "optimize", outputs=[layout.PYTHON_WASM])


def wasm_opt_flags(options: BuildOptions) -> list[str]:
    # Debug builds keep DWARF and names for debuggers and tracebacks.
    return ["-O2", "--debuginfo"] if options.debug else ["-O2", "--strip-debug"]


def main(argv: Sequence[str], strict: bool) -> int:
    options = parse_build_options("optimize", argv, strict=strict)
    tools = toolchain.load()
    linked = cpython.linked_wasm(options)
    if not linked.is_file():
        raise StageError(f"{linked} is missing: run `nox -s cpython` first")
    flags = wasm_opt_flags(options) if options.optimize else []
    target = layout.PYTHON_WASM
    key = fingerprint(file_sha256(linked), repr(flags), tools.versions["wasm-opt"])
    if STAMP.matches(key):
        say("optimize: up to date")
        return 0
    layout.DIST.mkdir(exist_ok=True)
    temp = target.with_name(target.name + ".tmp")
    if flags:
        run([tools.wasm_opt, *flags, linked, "-o", temp])
    else:
        say("optimize: skipped (--no-opt); copying the linked module")
        shutil.copyfile(linked, temp)
    os.replace(temp, target)
    STAMP.record(key)
    say(f"optimize: {target} ({target.stat().st_size / 1e6:.1f} MB)")
    return 0

