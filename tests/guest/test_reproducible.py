"""The artifacts carry no trace of the directory they were built in."""

from __future__ import annotations

import json
import time
import zipfile

from scripts import layout


def test_a_traceback_names_stdlib_files_by_their_path_inside_the_zip(guest) -> None:
    result = guest.run(["-c", "import json; json.loads('{')"])
    assert result.returncode == 1
    assert 'File "json/decoder.py", line ' in result.stderr, result.stderr
    assert "json.decoder.JSONDecodeError" in result.stderr
    assert str(layout.BUILD) not in result.stderr


def test_the_build_date_is_the_manifests_source_date_epoch(guest) -> None:
    epoch = json.loads(layout.MANIFEST.read_text())["source_date_epoch"]
    date = time.gmtime(epoch)
    # As C's __DATE__ and __TIME__ write it: "Nov  4 2023, 09:05:00".
    expected = f"{time.strftime('%b', date)} {date.tm_mday:2d} {date.tm_year}, " \
               f"{time.strftime('%H:%M:%S', date)}"
    out = guest.python("import sys; print(sys.version)")
    assert expected in out, out


def test_no_artifact_contains_the_checkout_path() -> None:
    for artifact in (layout.PYTHON_WASM, layout.STDLIB_ZIP):
        assert artifact.is_file(), f"{artifact} is missing: run `nox -s build` first"
    checkout = str(layout.REPO).encode()
    assert checkout not in layout.PYTHON_WASM.read_bytes()
    with zipfile.ZipFile(layout.STDLIB_ZIP) as zf:
        # The entries are compressed: look into each.
        assert [name for name in zf.namelist() if checkout in zf.read(name)] == []
