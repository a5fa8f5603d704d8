"""Stage `sources`: download every pinned third-party source into the per-user cache, verified."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import tomllib
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts import layout
from scripts.options import BuildOptions
from scripts.shell import StageError, run, say, which
from scripts.stamps import file_sha256, fingerprint

DOWNLOAD_TIMEOUT = 60


@dataclass(frozen=True)
class Origin:
    """One place a source can be had, and the hash that proves what it served.

    url and debian origins serve a file, checked by its sha256. A git origin
    serves a commit, which the build turns into a tar file with `git archive`;
    that tar's bytes depend on the git version, so it is checked by
    tree_sha256, a hash of the names and contents of the files in it.
    """

    file: str
    sha256: str | None = None
    tree_sha256: str | None = None
    url: str | None = None
    debian: str | None = None
    git: str | None = None
    commit: str | None = None

    @property
    def label(self) -> str:
        if self.git:
            return f"{self.git} at {self.commit}"
        return self.url or f"Debian source package {self.debian}"

    @property
    def expected_hash(self) -> str:
        return (self.tree_sha256 if self.git else self.sha256) or ""


@dataclass(frozen=True)
class Source:
    name: str
    version: str
    origins: tuple[Origin, ...]

    @property
    def key(self) -> str:
        """Changes exactly when the pinned content changes: for build stamps."""
        return fingerprint(*(origin.expected_hash for origin in self.origins))


def load_lock(path: Path = layout.SOURCES_LOCK) -> dict[str, Source]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise StageError(f"cannot read the source lock {path}: {error}") from error
    sources = {}
    for name, entry in data.items():
        origins = []
        for raw in entry.get("origins", []):
            origin = Origin(**raw)
            if sum(kind is not None for kind in (origin.url, origin.debian, origin.git)) != 1:
                raise StageError(f"{path}: an origin of {name} needs exactly one of url/debian/git")
            if origin.git and not origin.commit:
                raise StageError(f"{path}: git origin {origin.git} of {name} names no commit")
            hash_field = "tree_sha256" if origin.git else "sha256"
            if not re.fullmatch(r"[0-9a-f]{64}", origin.expected_hash):
                raise StageError(f"{path}: origin {origin.label} of {name} has no valid {hash_field}")
            origins.append(origin)
        if not origins:
            raise StageError(f"{path}: {name} lists no origins")
        sources[name] = Source(name, entry["version"], tuple(origins))
    return sources


def cached_path(origin: Origin) -> Path:
    # Keyed by hash: two lock entries can never clash, and a file is trusted by content.
    return layout.cache_root() / "sources" / origin.expected_hash / origin.file


def tree_sha256(archive: Path) -> str:
    """Hash of the files in a tar archive below its top-level folder: names and contents.

    Independent of the archive's format, compression, file times and owners,
    so a `git archive` of a commit and a release tarball of it can agree.
    """
    digest = hashlib.sha256()
    with tarfile.open(archive) as tar:
        entries = []
        for member in tar.getmembers():
            relative = member.name.partition("/")[2]
            if member.isfile():
                stream = tar.extractfile(member)
                assert stream is not None
                entries.append((relative, hashlib.sha256(stream.read()).hexdigest()))
            elif member.issym():
                entries.append((relative, "symlink to " + member.linkname))
        for relative, content in sorted(entries):
            digest.update(f"{relative}\0{content}\0".encode())
    return digest.hexdigest()


def verify(path: Path, origin: Origin) -> None:
    """Raise (and delete the file) unless it has the hash the lock records."""
    expected = origin.expected_hash
    try:
        actual = tree_sha256(path) if origin.git else file_sha256(path)
    except tarfile.TarError as error:
        actual = f"unreadable ({error})"
    if actual != expected:
        path.unlink(missing_ok=True)
        raise StageError(
            f"{path.name}: {'tree_sha256' if origin.git else 'sha256'} mismatch\n"
            f"    expected {expected}\n    actual   {actual}\n"
            "the file was discarded and will not be used"
        )


def download_url(url: str, dest: Path) -> None:
    say(f"+ download {url}")
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, dest.open("wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError) as error:
        raise StageError(f"download of {url} failed: {error}") from error


def debian_source_lists() -> str:
    """The machine's own Debian entries, turned into deb-src entries.

    Registry hosts are never written into the repository: they come from the
    machine's apt configuration.
    """
    entries = []
    parts = Path("/etc/apt/sources.list.d")
    for path in sorted(parts.glob("*.sources")) if parts.is_dir() else []:
        entries.append(re.sub(r"(?m)^Types:.*$", "Types: deb-src", path.read_text()))
    legacy = [Path("/etc/apt/sources.list"), *sorted(parts.glob("*.list"))] if parts.is_dir() else [
        Path("/etc/apt/sources.list")]
    for path in legacy:
        if path.is_file():
            for line in path.read_text().splitlines():
                if re.match(r"\s*deb\s", line):
                    entries.append(re.sub(r"^\s*deb\s", "deb-src ", line))
    if not entries:
        raise StageError("no Debian package sources are configured in /etc/apt on this machine")
    return "\n\n".join(entries) + "\n"


def apt_options(state: Path) -> list[str]:
    return [
        "-o", f"Dir::Etc::SourceList={state / 'sources.list'}",
        "-o", f"Dir::Etc::SourceParts={state / 'sources.list.d'}",
        "-o", f"Dir::State::Lists={state / 'lists'}",
        "-o", f"Dir::Cache={state / 'cache'}",
        "-o", "Debug::NoLocking=1",
    ]


@functools.cache
def private_apt_state() -> list[str]:
    """apt-get options for a private, up-to-date source package index (once per run)."""
    if which("apt-get") is None:
        raise StageError("apt-get is not available to fetch Debian source packages")
    state = layout.cache_root() / "apt"
    (state / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "sources.list.d").mkdir(exist_ok=True)
    (state / "sources.list").write_text("")
    (state / "sources.list.d" / "deb-src.sources").write_text(debian_source_lists())
    options = apt_options(state)
    run(["apt-get", *options, "update", "-q"], log=layout.LOGS / "sources.log")
    return options


def download_debian(package: str, file: str, dest: Path) -> None:
    """Fetch a Debian orig tarball without root and without touching the system's apt state."""
    options = private_apt_state()
    with tempfile.TemporaryDirectory(dir=dest.parent) as work:
        try:
            # The .dsc of a security update can be missing from a mirror while
            # the orig tarball is there, so success is judged by the tarball.
            run(["apt-get", *options, "source", "--download-only", "-q", package],
                cwd=Path(work), log=layout.LOGS / "sources.log")
        except StageError:
            say(f"sources: apt-get reported an error; checking whether {file} arrived anyway")
        got = Path(work) / file
        if not got.is_file():
            raise StageError(f"apt-get source {package} did not provide {file}")
        got.rename(dest)


def download_git(repository: str, commit: str, dest: Path) -> None:
    """`git archive` of one commit, with a single top-level folder like a release tarball."""
    if which("git") is None:
        raise StageError("git is not installed (apt-get install git)")
    top = dest.name.split(".tar")[0]
    with tempfile.TemporaryDirectory(dir=dest.parent) as work:
        clone = Path(work) / "clone"
        run(["git", "clone", "--quiet", "--no-checkout", repository, clone],
            log=layout.LOGS / "sources.log")
        run(["git", "-C", clone, "archive", "--format=tar", f"--prefix={top}/", "-o", dest, commit],
            log=layout.LOGS / "sources.log")


def fetch(source: Source) -> tuple[Origin, Path]:
    """A verified local copy of `source`, from the cache or the first origin that works."""
    failures = []
    for origin in source.origins:
        path = cached_path(origin)
        if path.is_file():
            try:
                verify(path, origin)
                return origin, path
            except StageError as error:
                failures.append(str(error))
    for origin in source.origins:
        path = cached_path(origin)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        try:
            if origin.url:
                download_url(origin.url, partial)
            elif origin.git:
                assert origin.commit is not None
                download_git(origin.git, origin.commit, partial)
            else:
                assert origin.debian is not None
                download_debian(origin.debian, origin.file, partial)
            verify(partial, origin)
        except StageError as error:
            partial.unlink(missing_ok=True)
            say(f"sources: {source.name}: {origin.label} did not work: {error}")
            failures.append(f"{origin.label}: {error}")
            continue
        os.replace(partial, path)
        say(f"sources: {source.name} {source.version}: {origin.file} verified")
        return origin, path
    raise StageError(f"no origin of {source.name} {source.version} worked:\n  " + "\n  ".join(failures))


def extract(archive: Path, dest: Path) -> None:
    """Unpack an archive whose content sits in one top-level folder into `dest`."""
    say(f"+ extract {archive.name} -> {dest}")
    with tarfile.open(archive) as tar:
        tops = {member.name.split("/")[0] for member in tar.getmembers()}
        if len(tops) != 1:
            raise StageError(f"{archive.name}: expected one top-level folder, found {sorted(tops)}")
        with tempfile.TemporaryDirectory(dir=dest.parent) as work:
            # The safe "data" filter exists from Python 3.11.4 (and in patched 3.11.2s).
            if hasattr(tarfile, "data_filter"):
                tar.extractall(work, filter="data")
            else:
                tar.extractall(work)
            (Path(work) / tops.pop()).rename(dest)


def unpack(name: str, dest: Path, patches: Sequence[Path] = ()) -> None:
    """A pristine tree of the pinned source `name` at `dest`, with `patches` applied.

    Always from the verified archive: patches only ever apply to the original.
    """
    _, archive = fetch(load_lock()[name])
    shutil.rmtree(dest, ignore_errors=True)
    extract(archive, dest)
    for patch in patches:
        run(["patch", "-p1", "--forward", "--batch", "-s", "-i", patch], cwd=dest)


def build(options: BuildOptions) -> None:
    for source in load_lock().values():
        origin, path = fetch(source)
        say(f"sources: {source.name} {source.version}: {path} ({origin.label})")
