"""Build options: the build sessions' own arguments, or the seed's environment switches."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BuildOptions:
    debug: bool = False
    optimize: bool = True
    sockets: bool = True
    jobs: int = 2

    @property
    def variant(self) -> str:
        """Name of the build folder; variants live side by side so switching is cheap."""
        return ("debug" if self.debug else "release") + ("" if self.sockets else "-nosockets")

    def describe(self) -> dict[str, object]:
        return {"debug": self.debug, "optimize": self.optimize, "sockets": self.sockets}


def _switch(env: Mapping[str, str], name: str) -> bool:
    # The seed treated any non-empty value as "on" (NO_OPT=true, DEBUG=1, ...).
    return bool(env.get(name, ""))


def build_parser(stage: str, env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"nox -s {stage} --", description=f"Build stage {stage!r}.")
    parser.add_argument("--debug", action="store_true", default=_switch(env, "DEBUG"),
                        help="CPython --with-pydebug and socket call tracing (env DEBUG=1)")
    parser.add_argument("--no-opt", dest="optimize", action="store_false",
                        default=not _switch(env, "NO_OPT"),
                        help="skip wasm-opt; dist/python.wasm is the linked module (env NO_OPT=1)")
    parser.add_argument("--no-sockets", dest="sockets", action="store_false",
                        default=not _switch(env, "NO_WASMEDGE"),
                        help="build without wasmedge_sock, for runtimes without the socket "
                        "extension (env NO_WASMEDGE=1)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2,
                        help="parallel compile jobs (default: %(default)s)")
    return parser


def parse_build_options(
    stage: str, argv: Sequence[str], env: Mapping[str, str] | None = None
) -> BuildOptions:
    """Parse the build flags given to build session `stage`; anything else is an error.

    Only a build session's own arguments come here: the arguments of `run`,
    `deps` or a test session belong to the guest, pip or pytest, and those
    sessions build with the environment switches alone (`argv` empty).
    """
    parser = build_parser(stage, os.environ if env is None else env)
    namespace, rest = parser.parse_known_args(argv)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}: a build session takes build "
                     "options only; a script and its arguments go after `nox -s run --`, "
                     "packages after `nox -s deps --`, pytest's options after a test session's `--`")
    if namespace.jobs < 1:
        parser.error("--jobs must be at least 1")
    return BuildOptions(debug=namespace.debug, optimize=namespace.optimize,
                        sockets=namespace.sockets, jobs=namespace.jobs)
