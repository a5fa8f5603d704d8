"""Stage `libc`: wasi-libc from the pinned source plus our patches, built into build/sysroot."""

from __future__ import annotations

from scripts import layout, reproducible, sources, toolchain
from scripts.options import BuildOptions
from scripts.shell import replace_dir, run, say
from scripts.stamps import Stamp, fingerprint

STAMP = Stamp(layout.BUILD / "stamps" / "libc", outputs=[layout.SYSROOT])


def cflags() -> str:
    # wasi-libc's own default flags (-O2 -DNDEBUG), and paths relative to the checkout.
    return " ".join(["-O2", "-DNDEBUG", *reproducible.prefix_map_flags()])


def input_key(tools: toolchain.Toolchain) -> str:
    return fingerprint(sources.load_lock()["wasi-libc"].key, layout.LIBC_PATCHES,
                       tools.cc, tools.ar, tools.nm, tools.versions["clang"], cflags())


def build(options: BuildOptions) -> None:
    tools = toolchain.load()
    key = input_key(tools)
    if STAMP.matches(key):
        say("libc: up to date")
        return
    work = layout.BUILD / "wasi-libc"
    sources.unpack("wasi-libc", work, sorted(layout.LIBC_PATCHES.glob("*.patch")))
    new_sysroot = work / "sysroot"
    run(["make", f"-j{options.jobs}", f"CC={tools.cc}", f"AR={tools.ar}", f"NM={tools.nm}",
         f"EXTRA_CFLAGS={cflags()}", f"SYSROOT={new_sysroot}"], cwd=work, log=layout.LOGS / "libc.log")
    replace_dir(new_sysroot, layout.SYSROOT)
    STAMP.record(key)
    say(f"libc: sysroot ready in {layout.SYSROOT}")
