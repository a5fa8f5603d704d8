from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from scripts import layout
from scripts.runtime import Guest, guest_command

# Extension modules a useful build must have compiled in; the test below also
# imports every other built-in module the interpreter reports.
REQUIRED_EXTENSIONS = {"zlib", "_json", "_decimal", "pyexpat", "_sha256", "_sha512", "_md5",
                       "_sha1", "_sha3", "_blake2", "_struct", "math", "_datetime", "_random",
                       "_bisect", "_heapq", "array", "binascii", "select", "_socket",
                       "unicodedata", "_elementtree", "_csv", "_pickle", "_asyncio", "_sqlite3",
                       "_bz2", "_lzma"}


def test_interpreter_starts_and_reports_its_version(guest) -> None:
    out = guest.python("import sys; print(sys.version_info[:3], sys.platform)")
    assert out.strip() == "(3, 11, 2) wasi"


def test_objects_come_from_pymalloc(guest) -> None:
    # configure leaves pymalloc off for WASI; the build turns it on for speed
    # (README, Guest speed). Only pymalloc keeps size-class pools and arenas.
    result = guest.run(["-c", "import sys; sys._debugmallocstats()"])
    assert result.returncode == 0, result.stderr
    assert "Small block threshold" in result.stderr
    assert "# arenas allocated total" in result.stderr


ALLOCATE_AND_FREE = """
import tracemalloc
tracemalloc.start()
# Each kind of call the allocator takes: malloc, calloc, realloc and free.
data = [str(i) * 20 for i in range(20000)]
zeros = bytes(300000)  # calloc: bytes(n) asks for zeroed memory
grown = [None]
for _ in range(5000):
    grown.append(None)
allocated = tracemalloc.get_traced_memory()[0]
del data, zeros, grown
freed = tracemalloc.get_traced_memory()[0]
print(allocated, freed)
"""


def test_allocation_hooks_see_every_allocation_and_free(guest) -> None:
    # pymalloc is called directly while no hook is installed
    # (python/patches/0003); once tracemalloc installs its hooks, every
    # allocation and free must go through them again.
    allocated, freed = map(int, guest.python(ALLOCATE_AND_FREE).split())
    assert allocated > 1_000_000
    assert freed < allocated // 10


def test_debug_allocator_hooks_find_no_mismatched_calls(guest) -> None:
    # The debug hooks put a header around each block and check it on free and
    # realloc: a block that bypassed them on one side and not the other would
    # be a fatal "bad ID" error.
    result = guest.run(["-c", ALLOCATE_AND_FREE], extra_env={"PYTHONMALLOC": "debug"})
    assert result.returncode == 0, result.stderr
    assert "Fatal Python error" not in result.stderr


def test_str_hashes_are_siphash_as_natively(guest) -> None:
    # A cross build assumed aligned access was required and fell back to FNV,
    # which hash flooding defeats (PEP 456); python/config.site says why not.
    out = guest.python("import sys; print(sys.hash_info.algorithm, sys.hash_info.seed_bits)")
    assert out.split() == ["siphash13", "128"]


def test_exit_status_is_the_guests(guest) -> None:
    result = guest.run(["-c", "import sys; sys.exit(7)"])
    assert result.returncode == 7


def test_every_built_in_extension_module_imports(guest) -> None:
    out = guest.python(
        "import sys, json, importlib\n"
        "names = sorted(sys.builtin_module_names)\n"
        "for name in names: importlib.import_module(name)\n"
        "print(json.dumps(names))"
    )
    built = set(json.loads(out))
    assert REQUIRED_EXTENSIONS <= built, f"not built: {sorted(REQUIRED_EXTENSIONS - built)}"


def test_extension_modules_work(guest) -> None:
    out = guest.python(
        "import zlib, hashlib, json, decimal, xml.etree.ElementTree as ET\n"
        "data = b'timecraft' * 100\n"
        "assert zlib.decompress(zlib.compress(data)) == data\n"
        "print(hashlib.sha256(b'abc').hexdigest())\n"
        "print(json.dumps({'a': [1, 2]}))\n"
        "print(decimal.Decimal(1) / decimal.Decimal(7))\n"
        "print(ET.fromstring('<a><b>x</b></a>').find('b').text)"
    )
    assert out.splitlines() == [
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        '{"a": [1, 2]}',
        "0.1428571428571428571428571429",
        "x",
    ]


def test_stdlib_is_imported_from_the_zip(guest) -> None:
    out = guest.python("import os, json, email.message, asyncio, http.client\n"
                       "print(json.__file__); print(asyncio.__file__)")
    zip_path = str(layout.STDLIB_ZIP)
    for line in out.splitlines():
        assert line.startswith(zip_path + "/"), line


def test_every_overlay_module_is_in_the_zip_and_imports(guest) -> None:
    overlay = sorted(layout.OVERLAY_LIB.rglob("*.py"))
    assert overlay, "python/Lib has no overlay module to check"
    with zipfile.ZipFile(layout.STDLIB_ZIP) as zf:
        names = set(zf.namelist())
    modules = []
    for path in overlay:
        relative = path.relative_to(layout.OVERLAY_LIB).with_suffix(".pyc").as_posix()
        assert relative in names, f"{relative} missing from {layout.STDLIB_ZIP}"
        module = relative[: -len(".pyc")].replace("/", ".").removesuffix(".__init__")
        modules.append(module)
    out = guest.python("import importlib, sys\n"
                       f"for name in {modules!r}: print(importlib.import_module(name).__file__)")
    assert len(out.splitlines()) == len(modules)
    assert all(line.startswith(str(layout.STDLIB_ZIP)) for line in out.splitlines())


def test_a_relative_script_path_works(guest, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "hello.py").write_text(
        "import os, sys\nprint('hello', sys.argv[1:], os.getcwd())\n")
    result = guest.run(["./sub/hello.py", "a", "b"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"hello ['a', 'b'] {tmp_path}"


def test_a_file_written_in_a_granted_directory_reads_back(guest, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    out = guest.python(
        "import os, sys\n"
        f"path = os.path.join({str(data)!r}, 'note.txt')\n"
        "with open(path, 'w') as f: f.write('written by the guest\\n')\n"
        "with open(path) as f: print(f.read(), end='')\n"
        f"print(sorted(os.listdir({str(data)!r})))",
        cwd=tmp_path,
    )
    assert out.splitlines() == ["written by the guest", "['note.txt']"]
    assert (data / "note.txt").read_text() == "written by the guest\n"


def test_the_built_in_host_runs_the_command_line_made_for_timecraft(tmp_path: Path) -> None:
    # The very command the runner gives $TIMECRAFT, with TIMECRAFT naming our host.
    (tmp_path / "script.py").write_text("import os\nprint(open('data.txt').read(), os.getcwd())\n")
    (tmp_path / "data.txt").write_text("granted")
    # The host package's console script, installed in this session's environment.
    timecraft = str(Path(sys.executable).parent / "timecraft-python-host")
    command = guest_command(Guest(cwd=tmp_path), ["script.py"], env={"TIMECRAFT": timecraft})
    assert command[:2] == [timecraft, "run"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["granted", str(tmp_path)]


def test_hard_links_with_and_without_following_symlinks(guest, tmp_path: Path) -> None:
    # wasi-libc's linkat() once looked both paths up in one shared buffer, so
    # os.link(..., follow_symlinks=False) linked the new name to itself: ENOENT.
    (tmp_path / "a").write_text("data")
    (tmp_path / "s").symlink_to("a")
    out = guest.python(
        "import os\n"
        "os.link('a', 'plain')\n"
        "os.link('a', 'nofollow', follow_symlinks=False)\n"
        "os.link('s', 'of-link', follow_symlinks=False)\n"
        "print(os.stat('nofollow').st_nlink, os.path.islink('of-link'))",
        cwd=tmp_path,
    )
    assert out.split() == ["3", "True"]
    assert (tmp_path / "nofollow").read_text() == "data"


def test_exit_statuses_above_255_are_255(guest) -> None:
    # POSIX would keep the low 8 bits and make sys.exit(256) a success.
    assert guest.run(["-c", "import sys; sys.exit(256)"]).returncode == 255
    assert guest.run(["-c", "import sys; sys.exit(255)"]).returncode == 255
