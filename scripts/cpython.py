"""Stage `cpython`: zlib for wasm, then CPython configured for wasm32-wasi and `make python.wasm`.

The other C libraries (sqlite, bzip2, xz) come from their own stages (scripts/clibs.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from scripts import clibs, layout, libc, reproducible, sockets, sources, toolchain
from scripts.options import BuildOptions
from scripts.shell import StageError, fresh_dir, output, replace_dir, run, say
from scripts.stamps import Stamp, fingerprint

ZLIB_PREFIX = layout.BUILD / "zlib"
CPYTHON_SRC = layout.BUILD / "cpython-src"
STAMPS = layout.BUILD / "stamps"


# A size-optimized release build (the default, -Os: python.wasm has a 6.5 MB
# bound) compiles the interpreter's core, which every program runs, at -O2:
# about 1.5 % faster guests (README, Guest speed). Code that runs rarely or
# once (the parser and compiler, start-up, codecs and modules' glue) is built
# at -Oz, which pays for the core's 170 kB.
HOT_OBJECTS = (
    "Python/ceval.o", "Modules/_json.o", "Objects/abstract.o", "Objects/call.o",
    "Objects/dictobject.o", "Objects/floatobject.o", "Objects/genobject.o",
    "Objects/listobject.o", "Objects/longobject.o", "Objects/object.o", "Objects/obmalloc.o",
    "Objects/tupleobject.o", "Objects/typeobject.o",
)
COLD_OBJECTS = (
    "Parser/action_helpers.o", "Parser/myreadline.o", "Parser/parser.o", "Parser/peg_api.o",
    "Parser/pegen.o", "Parser/pegen_errors.o", "Parser/string_parser.o", "Parser/token.o",
    "Parser/tokenizer.o", "Python/Python-ast.o", "Python/ast.o", "Python/ast_opt.o",
    "Python/ast_unparse.o", "Python/compile.o", "Python/symtable.o",
    "Python/initconfig.o", "Python/pathconfig.o", "Python/preconfig.o", "Python/pylifecycle.o",
    "Python/sysmodule.o", "Modules/getpath.o", "Modules/main.o",
    "Modules/cjkcodecs/_codecs_cn.o", "Modules/cjkcodecs/_codecs_hk.o",
    "Modules/cjkcodecs/_codecs_iso2022.o", "Modules/cjkcodecs/_codecs_jp.o",
    "Modules/cjkcodecs/_codecs_kr.o", "Modules/cjkcodecs/_codecs_tw.o",
    "Modules/cjkcodecs/multibytecodec.o", "Modules/unicodedata.o", "Objects/unicodectype.o",
    "Modules/_sqlite/blob.o", "Modules/_sqlite/connection.o", "Modules/_sqlite/cursor.o",
    "Modules/_sqlite/microprotocols.o", "Modules/_sqlite/module.o",
    "Modules/_sqlite/prepare_protocol.o", "Modules/_sqlite/row.o", "Modules/_sqlite/statement.o",
    "Modules/_sqlite/util.o", "Modules/_bz2module.o", "Modules/_lzmamodule.o",
    "Modules/_csv.o", "Modules/_elementtree.o", "Modules/audioop.o", "Modules/cmathmodule.o",
    "Modules/posixmodule.o", "Modules/pyexpat.o", "Modules/socketmodule.o",
)
# Target-specific OPT for those objects, passed to make beside CPython's Makefile.
LEVELS_MAKEFILE = "object-opt-levels.mk"


def release_opt(options: BuildOptions, level: str | None = None) -> str:
    """CPython's OPT for a release build (no -g: the optimize stage strips debug info)."""
    features = [f"-m{feature}" for feature in options.features]
    return " ".join(["-DNDEBUG", "-fwrapv", f"-O{level or options.opt_level}", *features, "-Wall"])


def object_levels(options: BuildOptions) -> dict[str, str]:
    """Objects built at another -O level than the rest; none but in the default size build."""
    if options.debug or options.opt_level != "s":
        return {}
    return {**dict.fromkeys(HOT_OBJECTS, "2"), **dict.fromkeys(COLD_OBJECTS, "z")}


def levels_makefile(options: BuildOptions) -> str:
    return "".join(f"{target}: OPT := {release_opt(options, level)}\n"
                   for target, level in object_levels(options).items())


def check_objects_are_built(options: BuildOptions, makefile: str) -> None:
    """An object CPython no longer builds would silently keep the default level."""
    missing = [target for target in object_levels(options) if target not in makefile]
    if missing:
        raise StageError(f"cpython: {', '.join(missing)} not in CPython's Makefile: a new CPython "
                         "moved them; update HOT_OBJECTS/COLD_OBJECTS in scripts/cpython.py")


def make_command(options: BuildOptions, *targets: str) -> list[str]:
    """make in CPython's build folder, with the per-object optimization levels."""
    return ["make", f"-j{options.jobs}", "-f", "Makefile", "-f", LEVELS_MAKEFILE, *targets]


def build_dir(options: BuildOptions) -> Path:
    return layout.BUILD / options.variant / "cpython"


def linked_wasm(options: BuildOptions) -> Path:
    return build_dir(options) / "python.wasm"


def build_zlib(tools: toolchain.Toolchain, options: BuildOptions) -> str:
    """Static zlib for wasm in build/zlib; returns its input key."""
    env = {"CC": clibs.wasm_cc(tools), "AR": tools.ar, "RANLIB": tools.ranlib, "CFLAGS": "-O2"}
    key = fingerprint(sources.load_lock()["zlib"].key, libc.input_key(tools),
                      repr(sorted(env.items())))
    stamp = Stamp(STAMPS / "zlib", outputs=[ZLIB_PREFIX])
    if stamp.matches(key):
        say("cpython: zlib up to date")
        return key
    work = layout.BUILD / "zlib-src"
    sources.unpack("zlib", work)
    new_prefix = fresh_dir(layout.BUILD / "zlib.new")
    log = layout.LOGS / "zlib.log"
    run(["./configure", "--static", f"--prefix={new_prefix}"], cwd=work, env=env, log=log)
    run(["make", f"-j{options.jobs}", "libz.a"], cwd=work, log=log)
    run(["make", "install"], cwd=work, log=log)
    replace_dir(new_prefix, ZLIB_PREFIX)
    # zlib.pc names the temporary prefix it was installed to.
    pc = ZLIB_PREFIX / "lib" / "pkgconfig" / "zlib.pc"
    pc.write_text(pc.read_text().replace(str(new_prefix), str(ZLIB_PREFIX)))
    stamp.record(key)
    return key


def prepare_source() -> str:
    """Pristine CPython source plus python/patches in build/cpython-src; returns its key."""
    key = fingerprint(sources.load_lock()["cpython"].key, layout.CPYTHON_PATCHES)
    stamp = Stamp(STAMPS / "cpython-src", outputs=[CPYTHON_SRC])
    if stamp.matches(key):
        return key
    new_src = layout.BUILD / "cpython-src.new"
    sources.unpack("cpython", new_src, sorted(layout.CPYTHON_PATCHES.glob("*.patch")))
    replace_dir(new_src, CPYTHON_SRC)
    stamp.record(key)
    return key


def configure_command(tools: toolchain.Toolchain, options: BuildOptions) -> tuple[list[str], dict[str, str]]:
    build_triple = output([CPYTHON_SRC / "config.guess"])
    command = [
        # Run from the build folder by a relative path, configure records a
        # relative srcdir; CPython compiles it into python.wasm (getpath's VPATH).
        os.path.join(os.path.relpath(CPYTHON_SRC, build_dir(options)), "configure"),
        "--host=wasm32-unknown-wasi",
        f"--build={build_triple}",
        f"--with-build-python={tools.build_python}",
        "--disable-test-modules",
        # configure leaves pymalloc off for WASI; with it, allocation-heavy
        # code runs about 2 % faster, 9 % for floats (README, Guest speed).
        "--with-pymalloc",
    ]
    if options.debug:
        command.append("--with-pydebug")
    else:
        # Link-time optimization inlines across CPython's files: about 5 %
        # faster guests for 0.2 MB (README, Guest speed). Debug builds skip it
        # for quick relinks.
        command.append("--with-lto=thin")
    libs = ""
    ldflags = []
    if not options.debug:
        # Relinking after an edit recompiles only the changed files' code (a
        # C edit: about 1 s instead of 20).
        ldflags.append(f"-Wl,--thinlto-cache-dir={build_dir(options) / 'thinlto-cache'}")
    if options.sockets:
        ldflags.append(f"-L{sockets.library_dir(options)}")
        libs = "-lwasmedge_sock"
        # configure turns IPv6 off for WASI unless asked; our sockets support it.
        command.append("--enable-ipv6")
    env = {
        "CONFIG_SITE": str(layout.CONFIG_SITE),
        # pkg-config would offer the build machine's libraries (its zlib among
        # them, see build notes); ours are named explicitly instead.
        "PKG_CONFIG_LIBDIR": str(ZLIB_PREFIX / "lib" / "pkgconfig"),
        "PKG_CONFIG_PATH": "",
        "ZLIB_CFLAGS": f"-I{ZLIB_PREFIX / 'include'}",
        "ZLIB_LIBS": f"-L{ZLIB_PREFIX / 'lib'} -lz",
        **clibs.configure_env(),
        "CC": clibs.wasm_cc(tools),
        "CPP": f"{clibs.wasm_cc(tools)} -E",
        "AR": tools.ar,
        "RANLIB": tools.ranlib,
        "LDFLAGS": " ".join(ldflags),
        "LIBS": libs,
        # --with-lto needs llvm-ar beside the compiler; ours is the toolchain's.
        "LLVM_AR": tools.ar,
    }
    if not options.debug:
        # Optimized for size: python.wasm is about 0.5 MB smaller after
        # wasm-opt than with CPython's -O3 (5.3 vs 5.85 MB), for CPU-bound code
        # about 4 % slower. No -g: the optimize stage strips debug info anyway.
        env["OPT"] = release_opt(options)
        # --with-lto adds -g to every compile and to the link when the
        # compiler takes it: 27 MB of DWARF that the optimize stage strips.
        env["ac_cv_prog_cc_g"] = "no"
    if not options.sockets:
        env["py_cv_module__socket"] = "n/a"
    return command, env


def relink_if_libraries_changed(options: BuildOptions) -> None:
    """CPython's Makefile does not know python.wasm depends on our static libraries.

    Removing the linked module makes `make` link again while every object file
    stays, so an edit in wasmedge_sock costs a relink, not a rebuild.
    """
    wasm = linked_wasm(options)
    if not wasm.exists():
        return
    libraries = [layout.SYSROOT / "lib" / "wasm32-wasi" / "libc.a", ZLIB_PREFIX / "lib" / "libz.a",
                 *clibs.archives()]
    if options.sockets:
        libraries.append(sockets.library(options))
    newest = max(path.stat().st_mtime for path in libraries if path.exists())
    if newest > wasm.stat().st_mtime:
        say("cpython: a linked library changed; relinking python.wasm")
        wasm.unlink()


def _epoch_record(options: BuildOptions) -> Path:
    return build_dir(options) / "source-date-epoch"


def compiled_build_date(options: BuildOptions) -> int:
    """The SOURCE_DATE_EPOCH that python.wasm was compiled with (the manifest's).

    Not the commit's date now: a commit made while the build ran must not
    make the manifest disagree with sys.version.
    """
    record = _epoch_record(options)
    try:
        return int(record.read_text())
    except (OSError, ValueError):
        raise StageError(f"{record} is missing or unreadable: rerun `nox -s build`") from None


def forget_an_old_build_date(options: BuildOptions, epoch: int) -> None:
    """Recompile the build date into python.wasm when SOURCE_DATE_EPOCH changed.

    make does not see the environment: removing the object that holds the
    date (CPython's getbuildinfo.c, __DATE__ and __TIME__, which clang takes
    from SOURCE_DATE_EPOCH) recompiles just that file and relinks.
    """
    record = _epoch_record(options)
    if record.is_file() and record.read_text() == str(epoch):
        return
    (build_dir(options) / "Modules" / "getbuildinfo.o").unlink(missing_ok=True)
    record.write_text(str(epoch))


def build(options: BuildOptions) -> None:
    tools = toolchain.load()
    zlib_key = build_zlib(tools, options)
    clibs.require_built()
    src_key = prepare_source()
    command, env = configure_command(tools, options)
    # A library's new version may change its headers, so it reconfigures;
    # any other change to a library relinks (relink_if_libraries_changed).
    levels = levels_makefile(options)
    key = fingerprint(src_key, zlib_key, clibs.sources_key(), libc.input_key(tools), layout.CONFIG_SITE,
                      repr(command), repr(sorted(env.items())), levels)
    build = build_dir(options)
    stamp = Stamp(STAMPS / f"cpython-configure-{options.variant}", outputs=[build / "config.status"])
    if not stamp.matches(key):
        # A stale tree would mix objects built with other settings into the link.
        fresh_dir(build)
        run(command, cwd=build, env=env, log=layout.LOGS / f"cpython-configure-{options.variant}.log")
        check_objects_are_built(options, (build / "Makefile").read_text())
        stamp.record(key)
    else:
        say("cpython: configure up to date")
    (build / LEVELS_MAKEFILE).write_text(levels)
    relink_if_libraries_changed(options)
    epoch = reproducible.source_date_epoch()
    forget_an_old_build_date(options, epoch)
    run(make_command(options, "python.wasm"), cwd=build,
        env={reproducible.EPOCH_VARIABLE: str(epoch)},
        log=layout.LOGS / f"cpython-make-{options.variant}.log")
    say(f"cpython: {linked_wasm(options)}")
