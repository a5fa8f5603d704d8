"""Stage `stdlib`: python311.zip (byte-compiled stdlib) plus our overlay files from python/Lib.

The zip is reproducible: every module is compiled here with its path inside
the zip as its file name (what tracebacks show, instead of the build
directory), as an unchecked hash-based pyc, and the entries are written in
name order with fixed dates and modes.
"""

from __future__ import annotations

import ast
import marshal
import os
import pprint
import subprocess
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

from scripts import cpython, layout, reproducible, toolchain
from scripts.options import BuildOptions
from scripts.shell import StageError, publish, run, say
from scripts.stamps import Stamp, file_sha256, fingerprint

# The earliest date a zip entry can carry. zipimport ignores entry dates for
# unchecked hash-based pycs, and a fixed date keeps the zip unchanged when
# only the commit (the build date) changes.
ENTRY_DATE = (1980, 1, 1, 0, 0, 0)
ENTRY_MODE = 0o644
# The code that compiles and writes the zip decides its bytes too.
STAGE_CODE = (Path(__file__), Path(reproducible.__file__))

# Run by the toolchain's Python 3.11 in a fresh interpreter: marshal marks
# strings shared by reference depending on which other objects hold them, so
# in the stage's own process the bytes would depend on the modules the build
# happened to import. Reads [(file name, source)], writes the pycs.
COMPILER = """\
import importlib.util, marshal, sys
pycs = []
for filename, source in marshal.load(sys.stdin.buffer):
    code = compile(source, filename, "exec", dont_inherit=True, optimize=0)
    # An unchecked hash-based pyc (PEP 552): the zip holds no .py twin to
    # check against, and no file time gets into it.
    pycs.append(importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little")
                + importlib.util.source_hash(source) + marshal.dumps(code))
marshal.dump(pycs, sys.stdout.buffer)
"""


def base_zip(options: BuildOptions) -> Path:
    return cpython.build_dir(options) / "usr" / "local" / "lib" / "python311.zip"


def overlay_files(overlay: Path) -> Iterator[tuple[PurePosixPath, Path]]:
    """(module path inside the zip, file) for every overlay .py file."""
    for path in sorted(overlay.rglob("*.py")):
        if "__pycache__" not in path.parts:
            yield PurePosixPath(path.relative_to(overlay).as_posix()), path


def compiled_name(module: PurePosixPath) -> str:
    return str(module.with_suffix(".pyc"))


def compile_modules(python: str, sources: Mapping[str, bytes]) -> dict[str, bytes]:
    """Byte-compile {zip entry: source} into {zip entry: pyc}, with `python`.

    Each module's file name is its path inside the zip: "json/decoder.py" for
    the entry "json/decoder.pyc".
    """
    names = sorted(sources)
    try:
        result = subprocess.run([python, "-I", "-S", "-c", COMPILER], capture_output=True,
                                input=marshal.dumps([(name[:-1], sources[name]) for name in names]),
                                check=False)
    except OSError as error:
        raise StageError(f"cannot run {python}: {error.strerror}; run `nox -s toolchain` "
                         "to find Python 3.11 again") from error
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace").strip().splitlines()[-4:]
        raise StageError("cannot byte-compile a module for the zip (named by its path inside "
                         f"the zip, which is its path under {layout.OVERLAY_LIB.name}/ for an "
                         "overlay file):\n" + "\n".join(tail))
    return dict(zip(names, marshal.loads(result.stdout), strict=True))


def write_zip(entries: Mapping[str, bytes], target: Path, compression: int) -> None:
    """Write `entries` to `target` (through a temporary file), the same bytes for the same entries."""
    temp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(temp, "w") as out:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, ENTRY_DATE)
            info.external_attr = ENTRY_MODE << 16
            out.writestr(info, entries[name], compress_type=compression, compresslevel=9)
    os.replace(temp, target)


def configuration_source(text: str) -> str:
    """The build configuration module (_sysconfigdata_*) without the checkout's path.

    Its values name the checkout's path; they are written again with that
    path written the way the compilers write it. The text is not patched in
    place: the generated file wraps long strings at its line width, so the
    length of the checkout's path would move lines, and line numbers are part
    of the compiled module.
    """
    lines = ["# The build configuration, without the build directory's path (stdlib stage)."]
    for statement in ast.parse(text).body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            raise StageError(f"unexpected statement in the build configuration: "
                             f"{ast.unparse(statement)[:80]}")
        value = ast.literal_eval(statement.value)
        if isinstance(value, dict):
            value = {key: reproducible.without_checkout_path(item) if isinstance(item, str)
                     else item for key, item in value.items()}
        lines.append(f"{statement.targets[0].id} = {pprint.pformat(value)}")
    return "\n".join(lines) + "\n"


def module_source(build: Path, name: str) -> bytes:
    """The source of `name`, a compiled module in make's zip.

    Stdlib modules come from the source tree; the build configuration
    (_sysconfigdata_*) from the build folder.
    """
    library = cpython.CPYTHON_SRC / "Lib" / name[:-1]
    if library.is_file():
        return library.read_bytes()
    generated = build / (build / "pybuilddir.txt").read_text().strip() / name[:-1]
    if generated.is_file():
        return configuration_source(generated.read_text()).encode()
    raise StageError(f"make wasm_stdlib put {name} in its zip, but neither {library} nor "
                     f"{generated} exists: remove {build} and build again")


def compile_base(options: BuildOptions, tools: toolchain.Toolchain) -> Path:
    """The modules `make wasm_stdlib` chose, compiled again the reproducible way (cached)."""
    base = base_zip(options)
    compiled = layout.BUILD / options.variant / "stdlib-compiled.zip"
    stamp = Stamp(layout.BUILD / "stamps" / f"stdlib-compiled-{options.variant}",
                  outputs=[compiled])
    key = fingerprint(file_sha256(base), tools.build_python, tools.versions["python"],
                      *STAGE_CODE)
    if stamp.matches(key):
        return compiled
    build = cpython.build_dir(options)
    with zipfile.ZipFile(base) as source:
        names = source.namelist()
        entries = {name: source.read(name) for name in names if not name.endswith(".pyc")}
    entries |= compile_modules(tools.build_python, {name: module_source(build, name)
                                                    for name in names if name.endswith(".pyc")})
    # Stored, not compressed: this is only the input of add_overlay.
    write_zip(entries, compiled, zipfile.ZIP_STORED)
    stamp.record(key)
    return compiled


def add_overlay(base: Path, overlay: Path, target: Path, python: str) -> list[str]:
    """Write `target`: the entries of `base`, with overlay modules added or replacing theirs.

    Overlay files are byte-compiled like the rest of the zip, by `python`.
    Returns the names of the overlay entries.
    """
    replaced = {compiled_name(module): path for module, path in overlay_files(overlay)}
    with zipfile.ZipFile(base) as source:
        # Drop both the stdlib's compiled module and any source twin.
        entries = {name: source.read(name) for name in source.namelist()
                   if name not in replaced and name[:-1] + "c" not in replaced}
    entries |= compile_modules(python, {name: path.read_bytes() for name, path in replaced.items()})
    write_zip(entries, target, zipfile.ZIP_DEFLATED)
    return sorted(replaced)


def build(options: BuildOptions) -> None:
    build = cpython.build_dir(options)
    if not (build / "Makefile").is_file():
        raise StageError(f"{build} is not configured: run `nox -s cpython` first")
    # The Python 3.11 that CPython's own build runs compiles the whole zip.
    tools = toolchain.load()
    # make knows when the stdlib sources or the build configuration changed.
    run(cpython.make_command(options, "wasm_stdlib"), cwd=build,
        log=layout.LOGS / f"stdlib-{options.variant}.log")
    compiled = compile_base(options, tools)
    stdlib_zip = layout.BUILD / options.variant / "python311.zip"
    stamp = Stamp(layout.BUILD / "stamps" / f"stdlib-{options.variant}", outputs=[stdlib_zip])
    key = fingerprint(file_sha256(compiled), layout.OVERLAY_LIB, tools.build_python,
                      tools.versions["python"], *STAGE_CODE)
    if stamp.matches(key):
        say("stdlib: up to date")
    else:
        added = add_overlay(compiled, layout.OVERLAY_LIB, stdlib_zip, tools.build_python)
        stamp.record(key)
        say(f"stdlib: overlay modules: {', '.join(added) or 'none'}")
    publish(stdlib_zip, layout.STDLIB_ZIP)
    say(f"stdlib: {layout.STDLIB_ZIP} ({layout.STDLIB_ZIP.stat().st_size / 1e6:.1f} MB)")
