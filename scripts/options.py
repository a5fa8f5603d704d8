"""Build options: the environment switches (what Nox sessions use), or flags for a stage run by hand."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

OPT_LEVELS = ("s", "z", "1", "2", "3")
WASM_OPT_LEVELS = ("1", "2", "3", "4", "s", "z")
DEFAULT_OPT_LEVEL = "s"
DEFAULT_WASM_OPT_LEVEL = "3"
# WebAssembly core 2.0 proposals, all that timecraft (wazero 1.5) runs; threads,
# tail calls, exception handling, GC and memory64 are not among them.
WASM_FEATURES = ("bulk-memory", "simd128", "sign-ext", "nontrapping-fptoint", "multivalue",
                 "reference-types")


def _level(levels: Sequence[str]) -> Callable[[str], str]:
    """An argparse type: one of `levels` (choices= would not check an environment default)."""
    def level(text: str) -> str:
        if text not in levels:
            raise argparse.ArgumentTypeError(f"expected one of {', '.join(levels)}, got {text!r}")
        return text
    return level


def _features(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in WASM_FEATURES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unsupported WebAssembly feature(s) {', '.join(unknown)}: timecraft runs core 2.0 "
            f"only; choose from {', '.join(WASM_FEATURES)}")
    return names


@dataclass(frozen=True)
class BuildOptions:
    debug: bool = False
    optimize: bool = True
    sockets: bool = True
    jobs: int = 2
    # Release builds only: clang's -O level for CPython and wasm-opt's level,
    # the speed/size trade measured by `nox -s bench-guest` (README).
    opt_level: str = DEFAULT_OPT_LEVEL
    wasm_opt_level: str = DEFAULT_WASM_OPT_LEVEL
    features: tuple[str, ...] = ()  # extra -m<feature> flags for CPython (release builds)

    @property
    def variant(self) -> str:
        """Name of the build folder; variants live side by side so switching is cheap."""
        level = "" if self.debug or self.opt_level == DEFAULT_OPT_LEVEL else f"-O{self.opt_level}"
        if not self.debug:
            level += "".join(f"-{feature}" for feature in self.features)
        return ("debug" if self.debug else "release") + level + ("" if self.sockets else "-nosockets")

    def describe(self) -> dict[str, object]:
        return {"debug": self.debug, "optimize": self.optimize, "sockets": self.sockets}


def _switch(env: Mapping[str, str], name: str) -> bool:
    # The seed treated any non-empty value as "on" (NO_OPT=true, DEBUG=1, ...).
    return bool(env.get(name, ""))


def _jobs(text: str) -> int:
    """A job count; 0 means one per CPU."""
    try:
        jobs = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of jobs, got {text!r}") from None
    if jobs < 0:
        raise argparse.ArgumentTypeError(f"the number of jobs must be positive, got {jobs}")
    return jobs or os.cpu_count() or 2


def build_parser(stage: str, env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m scripts {stage}", description=f"Build stage {stage!r}.")
    parser.add_argument("--debug", action="store_true", default=_switch(env, "DEBUG"),
                        help="CPython --with-pydebug and socket call tracing (env DEBUG=1)")
    parser.add_argument("--no-opt", dest="optimize", action="store_false",
                        default=not _switch(env, "NO_OPT"),
                        help="skip wasm-opt; dist/python.wasm is the linked module (env NO_OPT=1)")
    parser.add_argument("--no-sockets", dest="sockets", action="store_false",
                        default=not _switch(env, "NO_WASMEDGE"),
                        help="build without wasmedge_sock, for runtimes without the socket "
                        "extension (env NO_WASMEDGE=1)")
    parser.add_argument("--opt-level", type=_level(OPT_LEVELS),
                        default=env.get("OPT_LEVEL") or DEFAULT_OPT_LEVEL,
                        help="clang's -O level for a release CPython (env OPT_LEVEL=N; "
                        "default: %(default)s)")
    parser.add_argument("--wasm-opt-level", type=_level(WASM_OPT_LEVELS),
                        default=env.get("WASM_OPT_LEVEL") or DEFAULT_WASM_OPT_LEVEL,
                        help="wasm-opt's -O level (env WASM_OPT_LEVEL=N; default: %(default)s)")
    parser.add_argument("--features", type=_features, default=env.get("WASM_FEATURES", ""),
                        help="comma-separated WebAssembly core 2.0 features for a release "
                        f"CPython, from {', '.join(WASM_FEATURES)} (env WASM_FEATURES=...)")
    parser.add_argument("-j", "--jobs", type=_jobs, default=env.get("JOBS") or "0",
                        help="parallel compile jobs (env JOBS=N; default: %(default)s, the CPUs)")
    return parser


def parse_build_options(
    stage: str, argv: Sequence[str], env: Mapping[str, str] | None = None
) -> BuildOptions:
    """The options of build stage `stage`: the environment switches, then `argv`'s flags.

    Nox sessions pass no `argv` (every session of a run gets the same
    arguments after `--`, and those of `run`, `deps` or a test session belong
    to the guest, pip or pytest); flags are for a stage run by hand.
    """
    parser = build_parser(stage, os.environ if env is None else env)
    namespace, rest = parser.parse_known_args(argv)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}: a build stage takes build "
                     "options only (under Nox: the environment switches DEBUG=1, NO_OPT=1, "
                     "NO_WASMEDGE=1, JOBS=N)")
    return BuildOptions(debug=namespace.debug, optimize=namespace.optimize,
                        sockets=namespace.sockets, jobs=namespace.jobs,
                        opt_level=namespace.opt_level, wasm_opt_level=namespace.wasm_opt_level,
                        features=namespace.features)
