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
    assert "nox -s libc" in err and "tool.py" in err and "after `nox -s run --`" in err


def test_jobs_must_be_positive() -> None:
    with pytest.raises(SystemExit):
        parse_build_options("build", ["-j", "0"], {})


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
def test_a_guests_arguments_never_reach_the_build(name: str, tmp_path: Path) -> None:
    commands = run_session(name, GUEST_ARGUMENTS, tmp_path)
    assert all(command[4:] == [] for command in build_stage_commands(commands))
    # ... and no session requires a build session, which Nox would hand them to.
    assert not set(nox.registry.get()[name].requires) & set(entry.BUILD_STAGES)
    # They reach the guest, pip, pytest or the benchmark unchanged, at the end.
    assert any(command[-len(GUEST_ARGUMENTS):] == GUEST_ARGUMENTS for command in commands)


def test_run_builds_first_with_the_environment_switches_then_runs_the_guest(tmp_path: Path) -> None:
    assert run_session("run", GUEST_ARGUMENTS, tmp_path) == [
        ["python", "-m", "scripts", "build"],
        ["python", "-m", "scripts", "run", "--cwd", str(tmp_path), "--", *GUEST_ARGUMENTS],
    ]


@pytest.mark.parametrize("name", list(entry.BUILD_STAGES))
def test_a_build_session_takes_its_own_arguments_as_build_options(name: str, tmp_path: Path) -> None:
    assert run_session(name, ["--debug", "-j", "3"], tmp_path) == [
        ["python", "-m", "scripts", name, "--debug", "-j", "3"]]
    assert not nox.registry.get()[name].requires
