"""Stage `stdlib`: python311.zip (byte-compiled stdlib) plus our overlay files from python/Lib."""

from __future__ import annotations

import importlib.util
import marshal
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from scripts import cpython, layout
from scripts.options import BuildOptions
from scripts.shell import StageError, publish, run, say
from scripts.stamps import Stamp, file_sha256, fingerprint


def base_zip(options: BuildOptions) -> Path:
    return cpython.build_dir(options) / "usr" / "local" / "lib" / "python311.zip"


def overlay_files(overlay: Path) -> Iterator[tuple[PurePosixPath, Path]]:
    """(module path inside the zip, file) for every overlay .py file."""
    for path in sorted(overlay.rglob("*.py")):
        if "__pycache__" not in path.parts:
            yield PurePosixPath(path.relative_to(overlay).as_posix()), path


def compiled_name(module: PurePosixPath) -> str:
    return str(module.with_suffix(".pyc"))


def add_overlay(base: Path, overlay: Path, target: Path) -> list[str]:
    """Write `target`: the entries of `base`, with overlay modules added or replacing theirs.

    Overlay files are byte-compiled like the rest of the zip. Returns the
    names of the overlay entries.
    """
    replaced = {compiled_name(module): path for module, path in overlay_files(overlay)}
    temp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(
        temp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9
    ) as out:
        for info in source.infolist():
            # Drop both the stdlib's compiled module and any source twin.
            if info.filename in replaced or info.filename[:-1] + "c" in replaced:
                continue
            out.writestr(info, source.read(info))
        for name, path in replaced.items():
            out.writestr(name, pyc_bytes(path, name[:-1]))
    os.replace(temp, target)
    return sorted(replaced)


def pyc_bytes(source: Path, filename: str) -> bytes:
    """Byte-compile `source` as an unchecked hash-based pyc (PEP 552).

    The zip holds no .py twin to check against, and a hash-based pyc makes
    the zip's content independent of file times.
    """
    data = source.read_bytes()
    code = compile(data, filename, "exec", dont_inherit=True)
    unchecked_hash_based = (1).to_bytes(4, "little")
    return (importlib.util.MAGIC_NUMBER + unchecked_hash_based
            + importlib.util.source_hash(data) + marshal.dumps(code))


def build(options: BuildOptions) -> None:
    build = cpython.build_dir(options)
    if not (build / "Makefile").is_file():
        raise StageError(f"{build} is not configured: run `nox -s cpython` first")
    # make knows when the stdlib sources or the build configuration changed.
    run(["make", "wasm_stdlib"], cwd=build, log=layout.LOGS / f"stdlib-{options.variant}.log")
    base = base_zip(options)
    stdlib_zip = layout.BUILD / options.variant / "python311.zip"
    stamp = Stamp(layout.BUILD / "stamps" / f"stdlib-{options.variant}", outputs=[stdlib_zip])
    key = fingerprint(file_sha256(base), layout.OVERLAY_LIB)
    if stamp.matches(key):
        say("stdlib: up to date")
    else:
        added = add_overlay(base, layout.OVERLAY_LIB, stdlib_zip)
        stamp.record(key)
        say(f"stdlib: overlay modules: {', '.join(added) or 'none'}")
    publish(stdlib_zip, layout.STDLIB_ZIP)
    say(f"stdlib: {layout.STDLIB_ZIP} ({layout.STDLIB_ZIP.stat().st_size / 1e6:.1f} MB)")
