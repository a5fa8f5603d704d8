"""Run one pyperformance benchmark file in this interpreter, without pyperf; print its times.

`python pyperf_driver.py BENCHMARK_FILE LOOPS` runs the same way natively and in
python.wasm: pyperf itself needs subprocesses and psutil, which the guest does
not have, so the few names a benchmark file uses (Runner, perf_counter) are
provided here and each benchmark is timed in process. One warm-up call, then
LOOPS timed loops; prints one JSON object: {"name": ..., "seconds": ...}.
Standard library only: this file runs inside the guest.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
import time
import types
from collections.abc import Callable
from typing import Any

TIMES: list[tuple[str, float]] = []


class Runner:
    """The part of pyperf.Runner that pyperformance's benchmark files call."""

    loops = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.metadata: dict[str, Any] = {}
        self.argparser = argparse.ArgumentParser()

    def parse_args(self, args: list[str] | None = None) -> argparse.Namespace:
        return self.argparser.parse_args([] if args is None else args)

    def bench_func(self, name: str, func: Callable[..., Any], *args: Any,
                   inner_loops: int | None = None) -> None:
        func(*args)  # warm-up: imports, caches, compiled regexes
        started = time.perf_counter()
        for _ in range(self.loops):
            func(*args)
        TIMES.append((name, time.perf_counter() - started))

    def bench_time_func(self, name: str, func: Callable[..., float], *args: Any,
                        inner_loops: int | None = None) -> None:
        func(1, *args)
        TIMES.append((name, func(self.loops, *args)))


def main(argv: list[str]) -> int:
    script, loops = argv[0], int(argv[1])
    Runner.loops = loops
    shim = types.ModuleType("pyperf")
    shim.Runner = Runner  # type: ignore[attr-defined]
    shim.perf_counter = time.perf_counter  # type: ignore[attr-defined]
    sys.modules["pyperf"] = shim
    sys.argv = [script]
    runpy.run_path(script, run_name="__main__")
    for name, seconds in TIMES:
        print(json.dumps({"name": name, "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
