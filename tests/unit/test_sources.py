from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from scripts import sources
from scripts.shell import StageError


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def write_lock(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def test_lock_of_the_repository_pins_every_source_with_two_origins_where_possible() -> None:
    lock = sources.load_lock()
    assert set(lock) == {"cpython", "wasi-libc", "zlib", "sqlite", "bzip2", "xz"}
    assert lock["cpython"].version == "3.11.2"
    assert all(len(source.origins) >= 2 for source in lock.values())
    assert all(origin.debian for source in lock.values() for origin in source.origins[-1:])


def test_lock_rejects_an_origin_without_a_valid_hash(tmp_path: Path) -> None:
    lock = write_lock(tmp_path / "s.toml", '[x]\nversion = "1"\n[[x.origins]]\n'
                      'url = "https://example.invalid/x.tgz"\nfile = "x.tgz"\nsha256 = "abc"\n')
    with pytest.raises(StageError, match="no valid sha256"):
        sources.load_lock(lock)


def test_lock_rejects_an_origin_with_both_url_and_debian(tmp_path: Path) -> None:
    lock = write_lock(tmp_path / "s.toml", f'[x]\nversion = "1"\n[[x.origins]]\n'
                      f'url = "u"\ndebian = "d"\nfile = "x"\nsha256 = "{"0" * 64}"\n')
    with pytest.raises(StageError, match="exactly one of url/debian/git"):
        sources.load_lock(lock)


def test_verify_discards_a_corrupted_file_and_names_both_hashes(tmp_path: Path) -> None:
    path = tmp_path / "x.tgz"
    path.write_bytes(b"corrupted")
    expected = sha(b"original")
    with pytest.raises(StageError) as error:
        sources.verify(path, sources.Origin(file="x.tgz", sha256=expected, url="u"))
    assert expected in str(error.value)
    assert sha(b"corrupted") in str(error.value)
    assert not path.exists()


def make_source(*payloads: bytes) -> sources.Source:
    origins = tuple(
        sources.Origin(file=f"f{i}.tgz", sha256=sha(payload), url=f"https://origin{i}.invalid/f")
        for i, payload in enumerate(payloads)
    )
    return sources.Source("demo", "1.0", origins)


def test_fetch_falls_back_to_the_next_origin_when_a_download_is_corrupted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = b"good bytes"
    source = make_source(b"expected-but-never-served", good)
    served = {"https://origin0.invalid/f": b"tampered", "https://origin1.invalid/f": good}
    monkeypatch.setattr(sources, "download_url", lambda url, dest: dest.write_bytes(served[url]))
    origin, path = sources.fetch(source)
    assert origin is source.origins[1]
    assert path.read_bytes() == good
    # The corrupted download left nothing behind that could be used later.
    assert not sources.cached_path(source.origins[0]).exists()
    assert not list(sources.cached_path(source.origins[0]).parent.glob("*"))


def test_fetch_fails_when_every_origin_is_bad(monkeypatch: pytest.MonkeyPatch) -> None:
    source = make_source(b"a", b"b")
    monkeypatch.setattr(sources, "download_url", lambda url, dest: dest.write_bytes(b"evil"))
    with pytest.raises(StageError, match="no origin of demo 1.0 worked"):
        sources.fetch(source)


def put_in_cache(origin: sources.Origin, data: bytes) -> Path:
    cached = sources.cached_path(origin)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(data)
    return cached


@pytest.fixture
def no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(url: str, dest: Path) -> None:
        raise AssertionError("must not download")

    monkeypatch.setattr(sources, "download_url", refuse)


@pytest.mark.usefixtures("no_downloads")
def test_fetch_uses_a_verified_cached_copy_without_downloading() -> None:
    source = make_source(b"cached")
    cached = put_in_cache(source.origins[0], b"cached")
    assert sources.fetch(source) == (source.origins[0], cached)


@pytest.mark.usefixtures("no_downloads")
def test_fetch_prefers_any_cached_origin_to_a_download() -> None:
    source = make_source(b"first", b"second")
    cached = put_in_cache(source.origins[1], b"second")
    assert sources.fetch(source) == (source.origins[1], cached)


def test_fetch_replaces_a_cached_copy_that_was_corrupted_on_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    source = make_source(b"right")
    put_in_cache(source.origins[0], b"bit rot")
    monkeypatch.setattr(sources, "download_url", lambda url, dest: dest.write_bytes(b"right"))
    _, path = sources.fetch(source)
    assert path.read_bytes() == b"right"


def make_release(tmp_path: Path, files: dict[str, str], links: dict[str, str] | None = None) -> Path:
    """A release tarball: `files` (and symbolic `links`) in the single top-level folder pkg-1.0."""
    tree = tmp_path / "pkg-1.0"
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    for name, target in (links or {}).items():
        (tree / name).symlink_to(target)
    archive = tmp_path / "pkg.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname="pkg-1.0")
    return archive


def test_extract_unpacks_the_single_top_level_folder(tmp_path: Path) -> None:
    archive = make_release(tmp_path, {"README": "hello"})
    sources.extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "README").read_text() == "hello"


def test_debian_entries_come_from_the_machines_apt_configuration() -> None:
    text = sources.debian_source_lists()
    assert "deb-src" in text
    assert "Types: deb\n" not in text


def git(*args: str | Path) -> None:
    subprocess.run(["git", *map(str, args)], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t.invalid",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t.invalid",
                        "PATH": os.environ["PATH"], "HOME": str(Path.home())})


def release_and_repository(tmp_path: Path) -> tuple[Path, Path]:
    """A release tarball of a small tree, and a git repository of the same tree."""
    release = make_release(tmp_path, {"src/a.c": "int a;\n", "README": "readme\n"},
                           links={"link": "README"})
    tree = tmp_path / "pkg-1.0"
    git("init", "-q", tree)
    git("-C", tree, "add", "-A")
    git("-C", tree, "commit", "-qm", "release")
    return release, tree


def test_a_git_commit_and_a_release_tarball_of_it_have_one_tree_hash(tmp_path: Path) -> None:
    release, repository = release_and_repository(tmp_path)
    origin = sources.Origin(file="lib-HEAD.tar", tree_sha256=sources.tree_sha256(release),
                            git=repository.as_uri(), commit="HEAD")
    fetched_origin, path = sources.fetch(sources.Source("lib", "1.0", (origin,)))
    assert fetched_origin is origin
    assert sources.tree_sha256(path) == sources.tree_sha256(release)
    sources.extract(path, tmp_path / "out")
    assert (tmp_path / "out" / "src" / "a.c").read_text() == "int a;\n"


def test_a_commit_with_other_content_is_refused(tmp_path: Path) -> None:
    release, repository = release_and_repository(tmp_path)
    (repository / "src" / "a.c").write_text("int tampered;\n")
    git("-C", repository, "commit", "-qam", "tampered")
    origin = sources.Origin(file="lib-HEAD.tar", tree_sha256=sources.tree_sha256(release),
                            git=repository.as_uri(), commit="HEAD")
    with pytest.raises(StageError, match="tree_sha256 mismatch"):
        sources.fetch(sources.Source("lib", "1.0", (origin,)))
    assert not list(sources.cached_path(origin).parent.glob("*"))


def test_a_git_origin_needs_a_commit_and_a_tree_hash(tmp_path: Path) -> None:
    lock = write_lock(tmp_path / "s.toml", '[x]\nversion = "1"\n[[x.origins]]\n'
                      f'git = "https://example.invalid/x.git"\nfile = "x.tar"\nsha256 = "{"0" * 64}"\n')
    with pytest.raises(StageError, match="names no commit"):
        sources.load_lock(lock)
    lock.write_text(lock.read_text() + 'commit = "abc"\n')
    with pytest.raises(StageError, match="no valid tree_sha256"):
        sources.load_lock(lock)


def test_unpack_gives_a_pristine_patched_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = make_release(tmp_path, {"hello.c": "int answer = 41;\n"})
    patch = tmp_path / "0001-answer.patch"
    patch.write_text("--- a/hello.c\n+++ b/hello.c\n@@ -1 +1 @@\n-int answer = 41;\n+int answer = 42;\n")
    monkeypatch.setattr(sources, "load_lock", lambda: {"pkg": make_source(archive.read_bytes())})
    monkeypatch.setattr(sources, "download_url",
                        lambda url, dest: dest.write_bytes(archive.read_bytes()))
    dest = tmp_path / "work"
    dest.mkdir()
    (dest / "stale.o").write_text("")
    sources.unpack("pkg", dest, [patch])
    assert sorted(p.name for p in dest.iterdir()) == ["hello.c"]
    assert (dest / "hello.c").read_text() == "int answer = 42;\n"
