"""CPython's own test suite, the default selection of tests/regrtest.toml, in python.wasm.

`nox -s regrtest` runs the same with its own options (`-- --all`, modules);
here it is part of `nox -s test`, whose arguments after `--` are pytest's.
"""

from __future__ import annotations

from scripts import regrtest


def test_cpythons_own_tests_end_as_the_list_expects(guest, capsys) -> None:
    runtime = [] if guest.runtime is None else ["--runtime", guest.runtime]
    status = regrtest.main([*runtime, "--jobs", "2"])
    output = capsys.readouterr().out
    assert status == 0, output
