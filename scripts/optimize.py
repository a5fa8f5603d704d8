"""Stage `optimize`: wasm-opt (-O3 by default) and debug-info stripping of python.wasm into dist/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from scripts import cpython, layout, toolchain, wasm_features
from scripts.options import BuildOptions
from scripts.shell import StageError, publish, run, say
from scripts.stamps import Stamp, file_sha256, fingerprint

# Binaryen inlines every function that has a single caller, however large.
# CPython's specializers (_Py_Specialize_*, called only by the eval loop when
# an instruction adapts, rarely) went into the eval loop that way, and the
# engine then kept less of the loop's state in registers: 3 % slower overall.
# LLVM already inlined what is worth it (README, Guest speed).
NO_ONE_CALLER_INLINING = "--one-caller-inline-max-function-size=0"
# Lets wasm-opt fold `pointer + constant` into the offset of a load or store
# (the engine then folds it into the machine instruction's address): about
# 1 % faster and 40 kB smaller. The assumption is that no access reaches the
# first 1 kB of memory by wrapping around from the top of the address space.
# wasm-ld puts the C stack first (--stack-first), so those addresses are the
# stack's deepest bytes, and only a stack overflow that already wrapped below
# 0 would reach them that way: it now traps instead of corrupting the stack.
LOW_MEMORY_UNUSED = "--low-memory-unused"


def wasm_opt_flags(options: BuildOptions) -> list[str]:
    level = [f"-O{options.wasm_opt_level}", NO_ONE_CALLER_INLINING, LOW_MEMORY_UNUSED]
    # Debug builds keep DWARF and names for debuggers and tracebacks.
    return [*level, "--debuginfo"] if options.debug else [*level, "--strip-debug"]


def optimized_wasm(options: BuildOptions) -> Path:
    return layout.BUILD / options.variant / "python.wasm"


def build(options: BuildOptions) -> None:
    tools = toolchain.load()
    linked = cpython.linked_wasm(options)
    if not linked.is_file():
        raise StageError(f"{linked} is missing: run `nox -s cpython` first")
    flags = wasm_opt_flags(options) if options.optimize else []
    optimized = optimized_wasm(options)
    stamp = Stamp(layout.BUILD / "stamps" / f"optimize-{options.variant}", outputs=[optimized])
    key = fingerprint(file_sha256(linked), repr(flags), tools.versions["wasm-opt"])
    if stamp.matches(key):
        say("optimize: up to date")
    else:
        # The key holds the linked module's hash, so an unchanged module was checked.
        wasm_features.check_core_2_0(linked)
        temp = optimized.with_name(optimized.name + ".tmp")
        if flags:
            run([tools.wasm_opt, *flags, linked, "-o", temp])
        else:
            say("optimize: skipped (NO_OPT=1); using the linked module as it is")
            shutil.copyfile(linked, temp)
        os.replace(temp, optimized)
        stamp.record(key)
    publish(optimized, layout.PYTHON_WASM)
    say(f"optimize: {layout.PYTHON_WASM} ({layout.PYTHON_WASM.stat().st_size / 1e6:.1f} MB)")
