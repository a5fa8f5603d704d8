"""sqlite3, bz2, lzma and the time module's clocks inside python.wasm, checked against the host."""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import lzma
import os
import sqlite3
import tarfile
import time
from pathlib import Path

from guest_harness import GuestRunner

SQLITE_GUEST = """
import sqlite3, sys
path = sys.argv[1]
con = sqlite3.connect(path)
con.execute("create table notes (id integer primary key, body text not null, size real)")
con.executemany("insert into notes (body, size) values (?, ?)",
                [("first", 1.5), ("second", 2.25), ("déjà vu", None)])
con.commit()
# A transaction rolled back leaves nothing behind, in this connection or on disk.
con.execute("insert into notes (body) values ('rolled back')")
con.execute("update notes set body = 'changed' where id = 1")
con.rollback()
print(con.execute("select count(*) from notes").fetchone()[0])
print(con.execute("select body from notes where id = 1").fetchone()[0])
print(con.execute("select sum(size) from notes").fetchone()[0])
con.close()
"""


def test_sqlite_database_written_by_the_guest_is_read_by_the_host(guest: GuestRunner,
                                                                  tmp_path: Path) -> None:
    database = tmp_path / "notes.db"
    out = guest.run(["-c", SQLITE_GUEST, str(database)], grants=[tmp_path])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["3", "first", "3.75"]
    # No journal is left behind once the guest's transactions are over.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.db"]
    with sqlite3.connect(database) as con:
        assert con.execute("pragma integrity_check").fetchone() == ("ok",)
        rows = con.execute("select id, body, size from notes order by id").fetchall()
    assert rows == [(1, "first", 1.5), (2, "second", 2.25), (3, "déjà vu", None)]


def test_sqlite_database_written_by_the_host_is_read_and_changed_by_the_guest(
        guest: GuestRunner, tmp_path: Path) -> None:
    database = tmp_path / "host.db"
    with sqlite3.connect(database) as con:
        con.execute("create table kv (k text primary key, v blob)")
        con.executemany("insert into kv values (?, ?)", [(f"key{i}", os.urandom(64)) for i in range(200)])
        expected = dict(con.execute("select k, v from kv"))
    con.close()
    out = guest.run(["-c", (
        "import sqlite3, sys, json\n"
        "con = sqlite3.connect(sys.argv[1])\n"
        "rows = dict(con.execute('select k, v from kv'))\n"
        "print(json.dumps({k: v.hex() for k, v in rows.items()}))\n"
        "with con: con.execute(\"delete from kv where k like 'key1%'\")\n"
    ), str(database)], grants=[tmp_path])
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {k: v.hex() for k, v in expected.items()}
    with sqlite3.connect(database) as con:
        left = {k for (k,) in con.execute("select k from kv")}
    con.close()
    assert left == {k for k in expected if not k.startswith("key1")}


def test_sqlite_connections_in_one_guest_exclude_each_other(guest: GuestRunner, tmp_path: Path) -> None:
    out = guest.run(["-c", (
        "import sqlite3, sys\n"
        "path = sys.argv[1]\n"
        "first = sqlite3.connect(path, timeout=0.1)\n"
        "first.execute('create table t (x)')\n"
        "first.commit()\n"
        "first.execute('insert into t values (1)')  # opens a write transaction\n"
        "second = sqlite3.connect(path, timeout=0.1)\n"
        "try:\n"
        "    second.execute('insert into t values (2)')\n"
        "except sqlite3.OperationalError as error:\n"
        "    print(error)\n"
        "first.commit()\n"
        "second.execute('insert into t values (2)')\n"
        "second.commit()\n"
        "print(sorted(x for (x,) in first.execute('select x from t')))\n"
    ), str(tmp_path / "locks.db")], grants=[tmp_path])
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["database is locked", "[1, 2]"]


def test_bz2_and_lzma_round_trip_and_match_the_hosts_decoders(guest: GuestRunner,
                                                             tmp_path: Path) -> None:
    data = os.urandom(50_000) + b"timecraft " * 20_000
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    out = guest.run(["-c", (
        "import bz2, lzma, sys\n"
        "folder = sys.argv[1]\n"
        "data = open(folder + '/data.bin', 'rb').read()\n"
        "for name, module in (('bz2', bz2), ('xz', lzma)):\n"
        "    packed = module.compress(data)\n"
        "    assert module.decompress(packed) == data, name\n"
        "    open(f'{folder}/data.{name}', 'wb').write(packed)\n"
        "raw = lzma.compress(data, format=lzma.FORMAT_RAW, filters=[{'id': lzma.FILTER_LZMA2}])\n"
        "assert lzma.decompress(raw, format=lzma.FORMAT_RAW, filters=[{'id': lzma.FILTER_LZMA2}]) == data\n"
        "print('ok')\n"
    ), str(tmp_path)], grants=[tmp_path])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert bz2.decompress((tmp_path / "data.bz2").read_bytes()) == data
    assert lzma.decompress((tmp_path / "data.xz").read_bytes()) == data


def test_guest_reads_tar_xz_and_tar_bz2_made_by_the_host(guest: GuestRunner, tmp_path: Path) -> None:
    members = {"top.txt": b"hello from the host\n", "dir/blob.bin": os.urandom(100_000),
               "dir/empty": b""}
    for mode in ("xz", "bz2"):
        with tarfile.open(tmp_path / f"archive.tar.{mode}", f"w:{mode}") as tar:
            for name, content in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    out = guest.run(["-c", (
        "import hashlib, json, sys, tarfile\n"
        "result = {}\n"
        "for mode in ('xz', 'bz2'):\n"
        "    with tarfile.open(f'{sys.argv[1]}/archive.tar.{mode}') as tar:\n"
        "        result[mode] = {m.name: hashlib.sha256(tar.extractfile(m).read()).hexdigest()\n"
        "                        for m in tar.getmembers() if m.isfile()}\n"
        "print(json.dumps(result))\n"
    ), str(tmp_path)], grants=[tmp_path])
    assert out.returncode == 0, out.stderr
    expected = {name: hashlib.sha256(content).hexdigest() for name, content in members.items()}
    assert json.loads(out.stdout) == {"xz": expected, "bz2": expected}


def test_clock_gettime_monotonic_increases_and_realtime_is_the_hosts(guest: GuestRunner) -> None:
    out = guest.python(
        "import time, json\n"
        "first = time.clock_gettime(time.CLOCK_MONOTONIC)\n"
        "first_ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)\n"
        "time.sleep(0.05)\n"
        "second = time.clock_gettime(time.CLOCK_MONOTONIC)\n"
        "second_ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)\n"
        "print(json.dumps([first, second, first_ns, second_ns,\n"
        "                  time.clock_gettime(time.CLOCK_REALTIME),\n"
        "                  time.clock_getres(time.CLOCK_MONOTONIC),\n"
        "                  time.CLOCK_REALTIME, time.CLOCK_MONOTONIC]))\n"
    )
    first, second, first_ns, second_ns, realtime, resolution, realtime_id, monotonic_id = json.loads(out)
    assert second - first >= 0.05
    assert second_ns - first_ns >= 50_000_000
    assert abs(realtime - time.time()) < 60
    assert 0 < resolution < 1
    # WASI's clock ids, which are also Linux's.
    assert (realtime_id, monotonic_id) == (0, 1)


def test_unknown_clock_id_raises_einval(guest: GuestRunner) -> None:
    out = guest.python(
        "import time, errno\n"
        "for call in (time.clock_gettime, time.clock_gettime_ns, time.clock_getres):\n"
        "    try:\n"
        "        call(12345)\n"
        "    except OSError as error:\n"
        "        print(errno.errorcode[error.errno])\n"
    )
    assert out.split() == ["EINVAL", "EINVAL", "EINVAL"]


def test_utime_without_times_sets_the_current_time(guest: GuestRunner, tmp_path: Path) -> None:
    target, touched = tmp_path / "stamp", tmp_path / "touched"
    for path in (target, touched):
        path.write_bytes(b"")
        os.utime(path, (1_000_000, 1_000_000))
    before = time.time()
    out = guest.run(["-c", "import os, pathlib, sys\n"
                     "os.utime(sys.argv[1])\n"
                     "pathlib.Path(sys.argv[2]).touch()\n"
                     "print(os.stat(sys.argv[1]).st_mtime)", str(target), str(touched)],
                    grants=[tmp_path])
    assert out.returncode == 0, out.stderr
    assert abs(float(out.stdout) - before) < 60
    assert abs(target.stat().st_mtime - before) < 60
    assert abs(touched.stat().st_mtime - before) < 60
