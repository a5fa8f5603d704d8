from __future__ import annotations

from pathlib import Path

import nox
import pytest

import noxfile  # noqa: F401  (importing it registers the sessions with nox.registry)
from scripts import __main__ as entry
from scripts.options import BuildOptions, parse_build_options

GUEST_ARGUMENTS = ["tool.py", "--debug", "-j", "3", "--no-opt"]


def test_defaults_are_an_optimized_release_build_with_sockets() -> None:
    options = parse_build_options("build", [], {})
    assert (options.debug, options.optimize, options.sockets) == (False, True, True)
    assert options.variant == "release"


def test_flags_select_the_variant() -> None:
    options = parse_build_options("build", ["--debug", "--no-opt", "--no-sockets", "-j", "3"], {})
    assert options == BuildOptions(debug=True, optimize=False, sockets=False, jobs=3)
    assert options.variant == "debug-nosockets"


@pytest.mark.parametrize(
    ("env", "field"),
    [({"DEBUG": "1"}, "debug"), ({"NO_OPT": "true"}, "optimize"), ({"NO_WASMEDGE": "y"}, "sockets")],
)
def test_the_seeds_environment_switches_are_honoured(env: dict[str, str], field: str) -> None:
    default = getattr(parse_build_options("build", [], {}), field)
    assert getattr(parse_build_options("build", [], env), field) is not default


def test_an_empty_switch_is_off() -> None:
    assert parse_build_options("build", [], {"DEBUG": ""}).debug is False


def test_a_build_stage_rejects_what_is_not_a_build_option(capsys: pytest.CaptureFixture[str]) -> None:
    # Not even the --debug among them is taken: arguments that are not all
    # build options were meant for something else.
    with pytest.raises(SystemExit) as error:
        parse_build_options("libc", GUEST_ARGUMENTS, {})
    assert error.value.code == 2
    err = capsys.readouterr().err
    assert "scripts libc" in err and "tool.py" in err and "DEBUG=1" in err


def test_jobs_come_from_the_jobs_switch_or_the_cpus() -> None:
    assert parse_build_options("build", [], {"JOBS": "3"}).jobs == 3
    assert parse_build_options("build", [], {}).jobs >= 1


@pytest.mark.parametrize("jobs", ["-1", "many"])
def test_a_bad_job_count_is_an_error(jobs: str) -> None:
    with pytest.raises(SystemExit):
        parse_build_options("build", ["-j", jobs], {})
    with pytest.raises(SystemExit):
        parse_build_options("build", [], {"JOBS": jobs})


class RecordingSession:
    """Stands in for nox.Session: records the commands a session function runs."""

    def __init__(self, name: str, posargs: list[str], invoked_from: Path) -> None:
        self.name = name
        self.posargs = posargs
        self.invoked_from = str(invoked_from)
        self.commands: list[list[str]] = []

    def run(self, *args: str, **kwargs: object) -> None:
        self.commands.append(list(args))

    def install(self, *args: str, **kwargs: object) -> None:
        pass

    def log(self, *args: object) -> None:
        pass


def run_session(name: str, posargs: list[str], tmp_path: Path) -> list[list[str]]:
    session = RecordingSession(name, posargs, tmp_path)
    nox.registry.get()[name](session)
    return session.commands


def build_stage_commands(commands: list[list[str]]) -> list[list[str]]:
    return [c for c in commands if c[:3] == ["python", "-m", "scripts"] and c[3] in entry.BUILD_STAGES]


@pytest.mark.parametrize("name", ["run", "deps", "unit-tests", "guest-tests", "sdk-tests",
                                  "bench", "bench-host"])
def test_a_guests_arguments_reach_only_the_guest(name: str, tmp_path: Path) -> None:
    commands = run_session(name, GUEST_ARGUMENTS, tmp_path)
    assert build_stage_commands(commands) == []
    # They reach the guest, pip, pytest or the benchmark unchanged, at the end.
    assert any(command[-len(GUEST_ARGUMENTS):] == GUEST_ARGUMENTS for command in commands)


@pytest.mark.parametrize("name", list(entry.BUILD_STAGES))
def test_a_build_stage_never_takes_the_arguments_nox_hands_it(name: str, tmp_path: Path) -> None:
    # Nox gives a stage that another session requires that session's arguments:
    # `nox -s run -- tool.py --debug` must not build a debug CPython.
    assert run_session(name, GUEST_ARGUMENTS, tmp_path) == [["python", "-m", "scripts", name]]


def test_stages_run_in_order_through_requires() -> None:
    sessions = nox.registry.get()

    def before(name: str) -> set[str]:
        found: set[str] = set()
        for needed in sessions[name].requires:
            found |= {needed, *before(needed)}
        return found

    assert before("build") == {"toolchain", "sources", "libc", "sockets", "sqlite", "bzip2", "xz",
                               "cpython", "optimize", "stdlib"}
    assert before("cpython") == {"toolchain", "sources", "libc", "sockets", "sqlite", "bzip2", "xz"}
    for name in ("run", "guest-tests", "sdk-tests", "bench-host"):
        assert "build" in sessions[name].requires


def test_speed_switches_give_release_builds_their_own_folder() -> None:
    env = {"OPT_LEVEL": "3", "WASM_FEATURES": "bulk-memory, simd128", "WASM_OPT_LEVEL": "4"}
    options = parse_build_options("build", [], env)
    assert (options.opt_level, options.wasm_opt_level) == ("3", "4")
    assert options.features == ("bulk-memory", "simd128")
    assert options.variant == "release-O3-bulk-memory-simd128"
    # A debug build is not optimized by CPython's OPT: one folder whatever the level.
    assert parse_build_options("build", [], {**env, "DEBUG": "1"}).variant == "debug"


@pytest.mark.parametrize("env", [{"WASM_FEATURES": "threads"}, {"WASM_FEATURES": "tail-call"},
                                 {"OPT_LEVEL": "fast"}])
def test_a_switch_beyond_what_timecraft_runs_is_an_error(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_build_options("build", [], env)
    assert "error" in capsys.readouterr().err
