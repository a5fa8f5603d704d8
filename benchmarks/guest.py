"""`nox -s bench-guest`: guest compute speed, python.wasm against this machine's CPython 3.11.

The workloads are pyperformance's own benchmark files (its package data), the
ones that need neither third-party packages, native extensions nor data files.
benchmarks/pyperf_driver.py runs each in process in both interpreters, so the
interpreters' start is not timed. Native and guest runs alternate workload by
workload, round after round, so load from elsewhere on the machine falls on
both; the fastest of the rounds counts, and the spread of the rounds' own
geomeans is shown beside it. Prints numbers only; asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from scripts import layout
from scripts.shell import StageError, say
from tests.guest.guest_harness import GuestRunner

DRIVER = Path(__file__).with_name("pyperf_driver.py")
RUN_TIMEOUT = 600  # seconds per workload run; a stuck run fails the measurement
# pyperformance benchmark -> timed loops, chosen so that each takes 0.1-0.5 s
# natively here: long enough for timer noise not to matter, short enough for
# three rounds of the suite under the guest to stay within minutes.
WORKLOADS: dict[str, int] = {
    "chaos": 1,
    "comprehensions": 3000,
    "coroutines": 3,
    "decimal_factorial": 1,
    "deltablue": 10,
    "float": 1,
    "generators": 1,
    "go": 1,
    "hexiom": 10,
    "json_dumps": 3,
    "json_loads": 300,
    "nbody": 1,
    "nqueens": 1,
    "pidigits": 1,
    "raytrace": 1,
    "regex_effbot": 1,
    "regex_v8": 2,
    "richards": 1,
    "spectral_norm": 1,
    "unpack_sequence": 1000,
}


class MeasurementError(Exception):
    """A workload could not be measured; the message says why, in one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nox -s bench-guest --",
        description="Time pyperformance workloads natively and in python.wasm under the "
        "built-in host, interleaved; print per-workload times, ratios and their geometric "
        "mean. Asserts nothing.",
    )
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs of each workload per interpreter; the fastest counts "
                        "(default: %(default)s)")
    parser.add_argument("--wasm", type=Path, action="append", metavar="FILE",
                        help="a python.wasm to time instead of dist/'s, with dist/'s stdlib; "
                        "repeat it to compare builds in one interleaved run")
    parser.add_argument("--starts", type=int, default=10,
                        help="warm starts (`-c pass`) of each python.wasm; the median is "
                        "shown (default: %(default)s)")
    parser.add_argument("--only", nargs="+", choices=sorted(WORKLOADS), metavar="WORKLOAD",
                        help="run just these workloads")
    return parser


def suite_root() -> Path:
    """pyperformance's benchmark folders, from the installed package's data."""
    root = Path(str(importlib.resources.files("pyperformance"))) / "data-files" / "benchmarks"
    if not root.is_dir():
        raise StageError(f"pyperformance's benchmarks are not at {root}: is the pinned "
                         "pyperformance (requirements/bench.txt) installed?")
    return root


def stage_workloads(names: Sequence[str], workdir: Path) -> None:
    """Copy the driver and the benchmark files into the folder granted to the guest."""
    root = suite_root()
    shutil.copy(DRIVER, workdir / DRIVER.name)
    for name in names:
        source = root / f"bm_{name}" / "run_benchmark.py"
        target = workdir / f"bm_{name}.py"
        shutil.copy(source, target)


def parse_seconds(name: str, who: str, stdout: str) -> float:
    for line in stdout.splitlines():
        record = json.loads(line)
        if record.get("name") == name:
            return float(record["seconds"])
    raise MeasurementError(f"{name}: {who} printed no time for it")


def run_native(name: str, loops: int, workdir: Path) -> float:
    args = [sys.executable, DRIVER.name, f"bm_{name}.py", str(loops)]
    result = subprocess.run(args, cwd=workdir, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise MeasurementError(f"{name}: native exit status {result.returncode}: {last}")
    return parse_seconds(name, "native", result.stdout)


def run_guest(name: str, loops: int, workdir: Path, wasm: Path) -> float:
    args = [DRIVER.name, f"bm_{name}.py", str(loops)]
    try:
        result = GuestRunner("builtin", wasm).run(args, cwd=workdir, grants=[workdir],
                                            timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise MeasurementError(f"{name}: guest: no exit within {RUN_TIMEOUT} s") from error
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise MeasurementError(f"{name}: guest exit status {result.returncode}: {last}")
    return parse_seconds(name, "guest", result.stdout)


# {workload: [native seconds, seconds of each python.wasm]}
Times = dict[str, list[float]]


def measure(names: Sequence[str], rounds: int, workdir: Path,
            wasms: Sequence[Path]) -> list[Times]:
    """The times of each round."""
    for wasm in wasms:
        run_guest(names[0], 1, workdir, wasm)  # unmeasured: fills the compiled-module cache
    measured = []
    for number in range(1, rounds + 1):
        started = time.perf_counter()
        times: Times = {}
        for name in names:
            times[name] = [run_native(name, WORKLOADS[name], workdir)]
            times[name] += [run_guest(name, WORKLOADS[name], workdir, wasm) for wasm in wasms]
        measured.append(times)
        say(f"bench-guest: round {number}/{rounds} took {time.perf_counter() - started:.0f} s")
    return measured


def fastest(rounds: Sequence[Times]) -> Times:
    """Each workload's fastest time per interpreter over the rounds."""
    return {name: [min(column) for column in zip(*(times[name] for times in rounds), strict=True)]
            for name in rounds[0]}


def geomean(times: Times, column: int) -> float:
    """The geometric mean over the workloads of a python.wasm's time over native time."""
    ratios = [row[column] / row[0] for row in times.values()]
    return math.exp(sum(math.log(ratio) for ratio in ratios) / len(ratios))


def warm_starts(runs: int, workdir: Path, wasms: Sequence[Path]) -> list[float]:
    """Median wall time of `python.wasm -c pass` for each of `wasms`, runs interleaved.

    The issue's other bound: a faster interpreter must not start slower. The
    measured workloads above already filled the compiled-module cache.
    """
    times: list[list[float]] = [[] for _ in wasms]
    for _ in range(runs):
        for column, wasm in enumerate(wasms):
            started = time.perf_counter()
            result = GuestRunner("builtin", wasm).run(["-c", "pass"], cwd=workdir,
                                                      grants=[workdir], timeout=RUN_TIMEOUT)
            if result.returncode != 0:
                raise MeasurementError(f"warm start of {wasm}: exit status {result.returncode}")
            times[column].append(time.perf_counter() - started)
    return [statistics.median(column) for column in times]


def report(rounds: Sequence[Times], wasms: Sequence[Path], starts: list[float]) -> None:
    """Native milliseconds, then each python.wasm's milliseconds and ratio to native.

    Below the geomean of the fastest times, the range of the rounds' own
    geomeans shows how far one run can be trusted.
    """
    best = fastest(rounds)
    width = max(len(name) for name in [*best, "of a round"])
    print(f"{'workload':<{width}}  {'native ms':>10}" + "".join(
        f"  {f'wasm{number} ms':>10}  {'ratio':>6}" for number in range(1, len(wasms) + 1)))
    for name, (native, *guests) in best.items():
        print(f"{name:<{width}}  {native * 1e3:>10.1f}" + "".join(
            f"  {guest * 1e3:>10.1f}  {guest / native:>6.2f}" for guest in guests))
    columns = range(1, len(wasms) + 1)
    print(f"{'geomean':<{width}}  {'':>10}" + "".join(
        f"  {'':>10}  {geomean(best, column):>6.2f}" for column in columns))
    spreads = [[geomean(times, column) for times in rounds] for column in columns]
    print(f"{'of a round':<{width}}  {'':>10}" + "".join(
        f"  {f'{min(spread):.2f} to {max(spread):.2f}':>18}" for spread in spreads))
    for number, (wasm, start) in enumerate(zip(wasms, starts, strict=True), 1):
        print(f"wasm{number}: {wasm} ({wasm.stat().st_size / 1e6:.2f} MB, "
              f"warm start {start * 1e3:.0f} ms)")
    print(f"native: CPython {sys.version.split()[0]}")


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.rounds < 1 or args.starts < 1:
        print("error: bench-guest: --rounds and --starts must be at least 1", file=sys.stderr)
        return 2
    wasms: list[Path] = [wasm.resolve() for wasm in args.wasm or [layout.PYTHON_WASM]]
    for wasm in wasms:
        if not wasm.is_file():
            raise StageError(f"{wasm} is missing: run `nox -s build` first, or name a python.wasm")
    names = args.only or sorted(WORKLOADS)
    with tempfile.TemporaryDirectory(prefix="bench-guest-") as scratch:
        workdir = Path(scratch)
        stage_workloads(names, workdir)
        try:
            rounds = measure(names, args.rounds, workdir, wasms)
            starts = warm_starts(args.starts, workdir, wasms)
        except MeasurementError as error:
            print(f"error: bench-guest: {error}", file=sys.stderr)
            return 1
    report(rounds, wasms, starts)
    return 0
