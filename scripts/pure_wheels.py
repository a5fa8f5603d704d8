"""Pure-Python wheels built on the host from source distributions, verified and cached.

python.wasm cannot load compiled extensions, yet many packages ship one only
as an accelerator: their source distribution installs plain Python when the
extension is switched off or fails to compile (MarkupSafe, PyYAML, msgpack,
the aio-libs packages). Such a package is built here once, with every compiler
call failing, checked to contain no compiled file, and kept in the user cache
under its name, version and the sha256 of the source distribution it came
from. A package whose build needs its compiled code fails, as it must.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from packaging.utils import NormalizedName
from packaging.version import Version

from scripts import layout
from scripts.resolution import is_pure_tagged
from scripts.shell import say
from scripts.stamps import file_sha256

# Shared libraries, also versioned ones (libfoo.so.1) that auditwheel-style
# tools vendor next to an extension.
COMPILED_FILE = re.compile(r"\.(so|pyd|dylib|dll)(\.[0-9]+)*$", re.IGNORECASE)

# Every compiler call fails: setuptools raises CompileError, which packages
# with an optional extension catch to fall back to Python; meson and CMake
# stop at their compiler check. `false` is POSIX and always on PATH.
NO_COMPILER = {"CC": "false", "CXX": "false", "LDSHARED": "false"}

# Switches that select a package's pure-Python build outright, read from the
# packages' own build scripts. Each is read by one package only, so every
# build gets all of them.
PURE_SWITCHES = {
    "PYYAML_FORCE_LIBYAML": "0",  # PyYAML's setup.py: 0 turns the libyaml extension off
    "MSGPACK_PUREPYTHON": "1",  # msgpack's setup.py: no _cmsgpack extension
}
# The aio-libs convention (multidict, yarl, frozenlist, propcache, aiohttp):
# <NAME>_NO_EXTENSIONS set to anything skips the extensions.
NO_EXTENSIONS_SWITCH = "{}_NO_EXTENSIONS"

PURE_TAG = "py3-none-any"
# In a release's cache folder: why it has no pure-Python form.
FAILURE_FILE = "no-pure-form.txt"


class NoPureForm(Exception):
    """A package that cannot be had as pure Python; the message says why.

    `lasting` failures come from the package's own build and are remembered,
    so the next attempt fails at once instead of downloading and building again.
    """

    def __init__(self, reason: str, *, lasting: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.lasting = lasting


def compiled_files(wheel: Path) -> list[str]:
    """The members of `wheel` that are compiled code python.wasm cannot load."""
    with zipfile.ZipFile(wheel) as archive:
        return [name for name in archive.namelist() if COMPILED_FILE.search(name)]


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def retag_pure(wheel: Path) -> Path:
    """Rewrite a wheel that holds no compiled file as py3-none-any, next to it.

    A build whose optional extension failed still declares extension modules,
    so setuptools tags its wheel for this host (cp311-cp311-linux_x86_64)
    although only Python files are inside. Only the WHEEL file, its line in
    RECORD and the file name change.
    """
    compiled = compiled_files(wheel)
    if compiled:
        raise ValueError(f"{wheel.name} contains compiled files: {', '.join(compiled)}")
    distribution, version = wheel.name.split("-")[:2]
    target = wheel.with_name(f"{distribution}-{version}-{PURE_TAG}.whl")
    with zipfile.ZipFile(wheel) as source:
        dist_info = next(name.split("/")[0] for name in source.namelist()
                         if re.fullmatch(r"[^/]+\.dist-info/WHEEL", name))
        wheel_file, record_file = f"{dist_info}/WHEEL", f"{dist_info}/RECORD"
        kept = [line for line in source.read(wheel_file).decode().splitlines()
                if not line.startswith(("Tag:", "Root-Is-Purelib:"))]
        new_wheel_file = "\n".join([*kept, "Root-Is-Purelib: true", f"Tag: {PURE_TAG}", ""])
        new_wheel_bytes = new_wheel_file.encode()
        rows = list(csv.reader(io.StringIO(source.read(record_file).decode())))
        for row in rows:
            if row and row[0] == wheel_file:
                row[1:] = [_record_hash(new_wheel_bytes), str(len(new_wheel_bytes))]
        record = io.StringIO()
        csv.writer(record, lineterminator="\n").writerows(rows)
        temporary = target.with_name(target.name + ".tmp")
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as out:
            for info in source.infolist():
                if info.filename == wheel_file:
                    out.writestr(info, new_wheel_bytes)
                elif info.filename == record_file:
                    out.writestr(info, record.getvalue().encode())
                else:
                    out.writestr(info, source.read(info))
    os.replace(temporary, target)
    return target


def make_pure(wheel: Path) -> Path:
    """Check that `wheel` holds only Python and return it tagged py3-none-any.

    A pure-tagged wheel is returned as it is; one tagged for this host but
    without compiled files is retagged; one with compiled files raises.
    """
    compiled = compiled_files(wheel)
    if compiled:
        raise NoPureForm(f"its source distribution built a wheel with compiled files "
                         f"({', '.join(compiled)}) even with compilers disabled", lasting=True)
    if is_pure_tagged(wheel.name):
        return wheel
    pure = retag_pure(wheel)
    wheel.unlink()
    return pure


def build_environment(name: NormalizedName) -> dict[str, str]:
    switch = NO_EXTENSIONS_SWITCH.format(name.upper().replace("-", "_"))
    return {**NO_COMPILER, **PURE_SWITCHES, switch: "1"}


def _pip(arguments: list[str], name: NormalizedName, log: Path) -> bool:
    """Run pip with compiled extensions disabled, its output into `log`; True on success."""
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", arguments[0], "--disable-pip-version-check",
               *arguments[1:]]
    with log.open("a") as sink:
        sink.write(f"+ {' '.join(command)}\n")
        sink.flush()
        result = subprocess.run(command, env={**os.environ, **build_environment(name)},
                                stdout=sink, stderr=subprocess.STDOUT, check=False)
    return result.returncode == 0


def download_sdist(name: NormalizedName, version: Version, directory: Path, log: Path) -> Path:
    """The source distribution of `name` `version`, downloaded into `directory`."""
    # pip prepares the metadata of what it downloads, which for some build
    # backends means building: compilers are disabled for that too.
    if _pip(["download", "--no-deps", "--no-binary", name, "--dest", str(directory),
             f"{name}=={version}"], name, log):
        found = [path for path in directory.iterdir() if not path.name.endswith(".whl")]
        if len(found) == 1:
            return found[0]
    output = log.read_text(errors="replace")
    if "metadata-generation-failed" in output:
        raise NoPureForm("building its source distribution with compilers disabled failed "
                         f"while preparing its metadata (log: {log})", lasting=True)
    raise NoPureForm(f"no source distribution of it could be downloaded (log: {log})",
                     lasting=False)


def build(sdist: Path, name: NormalizedName, wheel_dir: Path, log: Path) -> Path:
    """Build `sdist` into one wheel in `wheel_dir` with compiled extensions disabled."""
    # The sdist sits in a fresh temporary directory, so pip's own wheel cache,
    # keyed by the file's location, never hands back a wheel built with a
    # compiler for the same source.
    if not _pip(["wheel", "--no-deps", "--wheel-dir", str(wheel_dir), str(sdist)], name, log):
        raise NoPureForm("building its source distribution with compilers disabled failed "
                         f"(log: {log})", lasting=True)
    wheels = sorted(wheel_dir.glob("*.whl"))
    if len(wheels) != 1:
        raise NoPureForm(f"building its source distribution gave {len(wheels)} wheels, "
                         f"expected one (log: {log})", lasting=True)
    return make_pure(wheels[0])


def release_dir(name: NormalizedName, version: Version) -> Path:
    return layout.cache_root() / "pure-wheels" / name / str(version)


def pure_wheel(name: NormalizedName, version: Version, work: Path) -> tuple[Path, str]:
    """A pure-Python wheel of `name` `version` and the sha256 of the source it came from.

    It comes from the cache, keyed by name, version and the source
    distribution's sha256, or is built and cached now. Raises NoPureForm.
    """
    release = release_dir(name, version)
    failure = release / FAILURE_FILE
    if failure.is_file():
        raise NoPureForm(f"{failure.read_text().strip()}; found so by an earlier attempt "
                         f"(delete {failure} to try again)", lasting=False)
    log = release / "build.log"
    release.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    say(f"deps: {name} {version} has no pure-Python wheel: fetching its source distribution "
        "to build one with compiled extensions disabled")
    try:
        downloads = work / "sdist" / name
        downloads.mkdir(parents=True)
        sdist = download_sdist(name, version, downloads, log)
        sdist_sha256 = file_sha256(sdist)
        key = release / sdist_sha256
        cached = sorted(key.glob("*.whl"))
        if cached:
            say(f"deps: {name} {version}: built earlier from this source distribution, "
                f"from the cache ({cached[0]})")
            return cached[0], sdist_sha256
        wheel = _build_into(key, sdist, name, log)
    except NoPureForm as error:
        if error.lasting:
            failure.write_text(error.reason + "\n")
        raise
    say(f"deps: {name} {version}: built {wheel.name} (no compiled files), cached in {key}")
    return wheel, sdist_sha256


def _build_into(key: Path, sdist: Path, name: NormalizedName, log: Path) -> Path:
    with tempfile.TemporaryDirectory(dir=key.parent, prefix=".build-") as work:
        wheel_dir = Path(work) / key.name
        wheel_dir.mkdir()
        wheel = build(sdist, name, wheel_dir, log)
        try:
            # Renaming the finished directory publishes it whole; another
            # install that built the same wheel meanwhile wins the race.
            wheel_dir.rename(key)
        except OSError:
            if not any(key.glob("*.whl")):
                raise
    return key / wheel.name
