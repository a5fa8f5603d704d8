"""C libraries for CPython's optional modules, built for wasm32-wasi: sqlite, bzip2, xz.

Each has its own stage (scripts/sqlite.py, scripts/bzip2.py, scripts/xz.py)
that unpacks its pinned source, applies the patches in clibs/NAME/, builds a
static library and installs it with its headers into build/NAME/ (`lib/`,
`include/`). A stage does nothing while its inputs are unchanged. The cpython
stage hands the installed libraries to CPython's configure.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts import layout, libc, reproducible, sources, toolchain
from scripts.options import BuildOptions
from scripts.shell import StageError, fresh_dir, replace_dir, say
from scripts.stamps import Stamp, fingerprint


@dataclass(frozen=True)
class Library:
    name: str  # stage name, sources.toml entry and folder in clibs/ and build/
    link_name: str  # -lLINK_NAME, i.e. libLINK_NAME.a
    configure_var: str  # CPython's configure reads VAR_CFLAGS and VAR_LIBS
    module: str  # the CPython extension module that needs it

    @property
    def prefix(self) -> Path:
        return layout.BUILD / self.name

    @property
    def archive(self) -> Path:
        return self.prefix / "lib" / f"lib{self.link_name}.a"

    @property
    def own_files(self) -> Path:
        return layout.CLIBS / self.name

    def configure_env(self) -> dict[str, str]:
        # Given explicitly, these make configure skip pkg-config for the
        # library (pkg-config would offer the build machine's copy).
        return {f"{self.configure_var}_CFLAGS": f"-I{self.prefix / 'include'}",
                f"{self.configure_var}_LIBS": f"-L{self.prefix / 'lib'} -l{self.link_name}"}


LIBRARIES = (
    Library("sqlite", "sqlite3", "LIBSQLITE3", "_sqlite3"),
    Library("bzip2", "bz2", "BZIP2", "_bz2"),
    Library("xz", "lzma", "LIBLZMA", "_lzma"),
)
BY_NAME = {library.name: library for library in LIBRARIES}

# Same size-first optimization as CPython's release build.
OPT_FLAGS = ("-Os",)

# Builds `library` from the unpacked source `work` into `staging`, which
# becomes the library's prefix (staging/lib/libNAME.a, staging/include/...).
Builder = Callable[[toolchain.Toolchain, BuildOptions, Path, Path], None]


def wasm_cc(tools: toolchain.Toolchain) -> str:
    """The C compiler for wasm32-wasi, with no build path left in what it writes."""
    return " ".join([tools.cc, "--target=wasm32-wasi", f"--sysroot={layout.SYSROOT}",
                     *reproducible.prefix_map_flags()])


def configure_env() -> dict[str, str]:
    """Environment for CPython's configure naming every library's flags."""
    env: dict[str, str] = {}
    for library in LIBRARIES:
        env.update(library.configure_env())
    return env


def archives() -> list[Path]:
    return [library.archive for library in LIBRARIES]


def sources_key() -> str:
    """Changes when a library's pinned source changes (its headers may then differ)."""
    lock = sources.load_lock()
    return fingerprint(*(lock[library.name].key for library in LIBRARIES))


def require_built() -> None:
    missing = [library for library in LIBRARIES if not library.archive.is_file()]
    if missing:
        names = " ".join(f"-s {library.name}" for library in missing)
        raise StageError(
            f"{', '.join(str(library.archive) for library in missing)} missing: CPython's "
            f"{', '.join(library.module for library in missing)} would be left out; "
            f"run `nox {names}` (or `nox -s build`)")


def install(staging: Path, archive: Path, headers: Iterable[Path]) -> None:
    """Copy a built archive and its public headers (files or folders) into `staging`."""
    (staging / "lib").mkdir(parents=True, exist_ok=True)
    (staging / "include").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(archive, staging / "lib" / archive.name)
    for header in headers:
        target = staging / "include" / header.name
        if header.is_dir():
            shutil.copytree(header, target)
        else:
            shutil.copyfile(header, target)


def build_stage(name: str, options: BuildOptions, builder: Builder,
                settings: Sequence[str]) -> None:
    """The body of a library stage: rebuild `name` only when its inputs changed.

    `settings` are the builder's compile flags and options, part of the key.
    """
    library = BY_NAME[name]
    tools = toolchain.load()
    key = fingerprint(sources.load_lock()[name].key, libc.input_key(tools), library.own_files,
                      repr(list(settings)))
    stamp = Stamp(layout.BUILD / "stamps" / name, outputs=[library.prefix])
    if stamp.matches(key):
        say(f"{name}: up to date")
        return
    work = layout.BUILD / f"{name}-src"
    sources.unpack(name, work, sorted(library.own_files.glob("*.patch")))
    staging = fresh_dir(layout.BUILD / f"{name}.new")
    builder(tools, options, work, staging)
    if not (staging / "lib" / library.archive.name).is_file():
        raise StageError(f"{name}: the build did not produce {library.archive.name}")
    replace_dir(staging, library.prefix)
    stamp.record(key)
    say(f"{name}: {library.archive} ({library.archive.stat().st_size / 1e3:.0f} kB)")
