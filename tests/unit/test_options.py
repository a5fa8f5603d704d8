from __future__ import annotations

import re

import pytest

from scripts.options import LONG_FLAGS, BuildOptions, build_parser, parse_build_options


def test_defaults_are_an_optimized_release_build_with_sockets() -> None:
    options = parse_build_options("build", [], {}, strict=True)
    assert (options.debug, options.optimize, options.sockets) == (False, True, True)
    assert options.variant == "release"


def test_flags_select_the_variant() -> None:
    options = parse_build_options("build", ["--debug", "--no-opt", "--no-sockets", "-j", "3"], {},
                                  strict=True)
    assert options == BuildOptions(debug=True, optimize=False, sockets=False, jobs=3)
    assert options.variant == "debug-nosockets"


@pytest.mark.parametrize(
    ("env", "field"),
    [({"DEBUG": "1"}, "debug"), ({"NO_OPT": "true"}, "optimize"), ({"NO_WASMEDGE": "y"}, "sockets")],
)
def test_the_seeds_environment_switches_are_honoured(env: dict[str, str], field: str) -> None:
    default = getattr(parse_build_options("build", [], {}, strict=True), field)
    assert getattr(parse_build_options("build", [], env, strict=True), field) is not default


def test_an_empty_switch_is_off() -> None:
    assert parse_build_options("build", [], {"DEBUG": ""}, strict=True).debug is False


def test_a_requested_stage_rejects_unknown_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as error:
        parse_build_options("libc", ["--bogus"], {}, strict=True)
    assert error.value.code == 2
    assert "nox -s libc" in capsys.readouterr().err


def test_a_prerequisite_stage_tolerates_another_sessions_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    options = parse_build_options("libc", ["--debug", "script.py", "-c", "x"], {}, strict=False)
    assert options.debug is True
    assert capsys.readouterr().err == ""


def test_a_prerequisite_stage_warns_about_a_near_miss(capsys: pytest.CaptureFixture[str]) -> None:
    parse_build_options("libc", ["--debgu"], {}, strict=False)
    assert "did you mean '--debug'" in capsys.readouterr().err


def test_jobs_must_be_positive() -> None:
    with pytest.raises(SystemExit):
        parse_build_options("build", ["-j", "0"], {}, strict=True)


def test_the_near_miss_list_names_every_long_flag() -> None:
    flags = set()
    for line in build_parser("build", {}).format_help().splitlines():
        if line.startswith("  -"):
            flags |= set(re.findall(r"--[a-z-]+", line.strip().split("  ")[0]))
    assert flags - {"--help"} == set(LONG_FLAGS)
