from __future__ import annotations

from pathlib import Path

import pytest

from scripts import layout, regrtest
from scripts.shell import StageError

SUCCESS = """\
0:00:00 [1/1] test_zlib
Ran 63 tests in 1.1s

OK (skipped=5)

== Tests result: SUCCESS ==

1 test OK.

Total duration: 1.2 sec
Tests result: SUCCESS
"""

FAILURE = """\
======================================================================
ERROR: test_exists (test.test_pathlib.PathTest.test_exists)
----------------------------------------------------------------------
PermissionError: [Errno 76] Capabilities insufficient: '/xyzzy'

======================================================================
FAIL: test_touch_common (test.test_pathlib.PathTest.test_touch_common)
----------------------------------------------------------------------
AssertionError: 0 not greater than or equal to 1

Ran 453 tests in 8.5s

FAILED (failures=1, errors=1, skipped=180)
test test_pathlib failed

== Tests result: FAILURE ==

1 test failed:
    test_pathlib

Tests result: FAILURE
"""

SKIPPED = """\
0:00:00 [1/1] test_socket
test_socket skipped -- requires socket support
test_socket skipped

== Tests result: SUCCESS ==

1 test skipped:
    test_socket

Tests result: SUCCESS
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "regrtest.toml"
    path.write_text(text)
    return path


def test_a_passing_module_is_ok_with_its_counts() -> None:
    assert regrtest.classify(0, SUCCESS, 60) == ("ok", "63 tests (skipped=5)")


def test_a_failing_module_names_its_failed_tests() -> None:
    outcome, detail = regrtest.classify(2, FAILURE, 60)
    assert outcome == "fail"
    assert detail == ("453 tests (failures=1, errors=1, skipped=180): "
                      "test.test_pathlib.PathTest.test_exists, test.test_pathlib.PathTest.test_touch_common")


def test_a_skipped_module_gives_the_reason() -> None:
    assert regrtest.classify(0, SKIPPED, 60) == ("skip", "requires socket support")


def test_no_result_a_trap_or_a_timeout_is_a_crash() -> None:
    assert regrtest.classify(None, "", 90) == ("crash", "no result after 90 s")
    assert regrtest.classify(134, "wasm trap: out of bounds memory access\n", 90)[0] == "crash"
    assert regrtest.classify(1, "Traceback...\nPermissionError\n", 90)[0] == "crash"


def test_only_doing_worse_than_listed_fails_the_run(tmp_path: Path) -> None:
    log = tmp_path / "log"
    expected_fail = regrtest.Expectation("fail", "no threads")
    assert regrtest.judge(regrtest.Result("test_x", "fail", 1, "", log), expected_fail) is None
    assert regrtest.judge(regrtest.Result("test_x", "ok", 1, "", log), expected_fail) is None
    problem = regrtest.judge(regrtest.Result("test_x", "crash", 1, "", log), expected_fail)
    assert problem == "test_x: crash but the list expects fail (no threads)"
    assert regrtest.judge(regrtest.Result("test_x", "skip", 1, "", log), regrtest.Expectation())


def test_the_repository_list_is_valid_and_covers_the_required_modules() -> None:
    listed = regrtest.load_list(layout.REGRTEST_LIST)
    required = {"test_sqlite3", "test_bz2", "test_lzma", "test_time", "test_zlib", "test_socket",
                "test_os", "test_pathlib"}
    assert required <= set(listed.default)
    assert listed.expectation("test_socket", "wasmtime").outcome == "skip"
    # The runtime's entry keeps the module's left-out tests.
    assert listed.expectation("test_socket", "wasmtime").ignore == listed.modules["test_socket"].ignore


def test_a_listed_skip_or_failure_without_a_reason_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StageError, match=r"\[test_x\]: expect = 'fail' needs a reason"):
        regrtest.load_list(write(tmp_path, 'default = []\n[test_x]\nexpect = "fail"\n'))
    with pytest.raises(StageError, match="every ignored test needs a reason"):
        regrtest.load_list(write(tmp_path, 'default = []\n[test_x.ignore]\n"test.test_x.A" = ""\n'))
    with pytest.raises(StageError, match="use one of ok, skip, fail, crash"):
        regrtest.load_list(write(tmp_path, 'default = []\n[test_x]\nexpect = "flaky"\nreason = "r"\n'))
    with pytest.raises(StageError, match="no such runtime"):
        regrtest.load_list(write(tmp_path, 'default = []\n[test_x.runtime.wasmedge]\nexpect = "ok"\n'))
    with pytest.raises(StageError, match="`default` must list"):
        regrtest.load_list(write(tmp_path, '[test_x]\n'))


def test_all_modules_are_the_test_modules_and_packages(tmp_path: Path) -> None:
    package = tmp_path / "test"
    (package / "test_pkg").mkdir(parents=True)
    (package / "test_pkg" / "__init__.py").write_text("")
    (package / "test_mod.py").write_text("")
    (package / "support").mkdir()
    (package / "regrtestdata").mkdir()
    (package / "test_data_only").mkdir()
    assert regrtest.all_modules(tmp_path) == ["test_mod", "test_pkg"]


def test_under_timecraft_the_runtime_is_timecraft() -> None:
    assert regrtest.runtime_name("wasmtime", {"TIMECRAFT": "timecraft"}) == "timecraft"
    assert regrtest.runtime_name(None, {}) == "builtin"
    assert regrtest.runtime_name("wasmtime", {}) == "wasmtime"
    # The built-in host's default runtime can come from its environment.
    assert regrtest.runtime_name(None, {"TIMECRAFT_PYTHON_RUNTIME": "wasmtime"}) == "wasmtime"
