"""Session `regrtest`: CPython's own test suite (Lib/test) run inside python.wasm.

Each test module runs in its own guest process (`python -m test -v MODULE`),
so a module that traps or hangs costs only its own result. The outcome of
each module (ok, skip, fail, crash) is compared with tests/regrtest.toml,
which lists the modules of the default run and every expected skip, failure
and crash with its reason, plus the single tests left out (regrtest -i) with
theirs. The run fails when a module does worse than the list expects.

The tests come from the CPython source the build used: build/cpython-src's
Lib/test is copied to build/regrtest/Lib/test and the patches in
python/test-patches are applied to the copy. The guest gets that folder as
its package folder (where deps/ usually goes), so `import test` finds it
after nothing of the stdlib: the stdlib still comes from python311.zip,
exactly as users get it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from host.cli import RUNTIMES
from scripts import cpython, layout, sources
from scripts.runtime import Guest, guest_command
from scripts.shell import StageError, fresh_dir, replace_dir, run, say
from scripts.stamps import Stamp, fingerprint

ROOT = layout.BUILD / "regrtest"
TESTS_LIB = ROOT / "Lib"  # holds only the `test` package
# Per runtime, so that runs on two runtimes can go on at the same time.
LOGS = ROOT / "logs"
SCRATCH = ROOT / "tmp"

OUTCOMES = ("ok", "skip", "fail", "crash")
# Better outcomes first: a module doing worse than expected fails the run.
RANK = {outcome: rank for rank, outcome in enumerate(OUTCOMES)}
DEFAULT_TIMEOUT = 900.0


@dataclass(frozen=True)
class Expectation:
    outcome: str = "ok"
    reason: str = ""
    # regrtest -i patterns (test ids, or fnmatch patterns) -> why they are left out
    ignore: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TestList:
    default: tuple[str, ...]
    modules: Mapping[str, Expectation]
    # runtime name -> module -> expectation replacing the general one
    by_runtime: Mapping[str, Mapping[str, Expectation]]

    def expectation(self, module: str, runtime: str) -> Expectation:
        specific = self.by_runtime.get(runtime, {})
        return specific.get(module) or self.modules.get(module) or Expectation()


def _expectation(where: str, raw: Mapping[str, object], inherited: Expectation | None = None
                 ) -> Expectation:
    unknown = set(raw) - {"expect", "reason", "ignore", "runtime"}
    if unknown:
        raise StageError(f"{where}: unknown keys {sorted(unknown)} (expect, reason, ignore, runtime)")
    outcome = raw.get("expect", "ok")
    if outcome not in OUTCOMES:
        raise StageError(f"{where}: expect = {outcome!r}; use one of {', '.join(OUTCOMES)}")
    reason = raw.get("reason", "")
    if not isinstance(reason, str) or (outcome != "ok" and not reason.strip()):
        raise StageError(f"{where}: expect = {outcome!r} needs a reason")
    ignore = raw.get("ignore", inherited.ignore if inherited else {})
    if not isinstance(ignore, dict) or not all(
            isinstance(why, str) and why.strip() for why in ignore.values()):
        raise StageError(f"{where}: every ignored test needs a reason (\"test.id\" = \"why\")")
    return Expectation(str(outcome), reason, dict(ignore))


def load_list(path: Path = layout.REGRTEST_LIST) -> TestList:
    """The expected outcomes, checked: every skip, failure, crash and left-out test has a reason."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise StageError(f"cannot read the regrtest list {path}: {error}") from error
    default = data.pop("default", None)
    if not isinstance(default, list) or not all(isinstance(name, str) for name in default):
        raise StageError(f"{path}: `default` must list the modules of the default run")
    modules: dict[str, Expectation] = {}
    by_runtime: dict[str, dict[str, Expectation]] = {}
    for name, raw in data.items():
        if not name.startswith("test_") or not isinstance(raw, dict):
            raise StageError(f"{path}: [{name}] is not a test module table")
        modules[name] = _expectation(f"{path}: [{name}]", raw)
        for runtime, specific in raw.get("runtime", {}).items():
            if runtime not in (*RUNTIMES, "timecraft"):
                raise StageError(f"{path}: [{name}.runtime.{runtime}]: no such runtime "
                                 f"({', '.join((*RUNTIMES, 'timecraft'))})")
            by_runtime.setdefault(runtime, {})[name] = _expectation(
                f"{path}: [{name}.runtime.{runtime}]", specific, modules[name])
    return TestList(tuple(default), modules, by_runtime)


def prepare_tests() -> Path:
    """build/regrtest/Lib/test: the build's Lib/test with python/test-patches applied."""
    source = cpython.CPYTHON_SRC / "Lib" / "test"
    if not source.is_dir():
        raise StageError(f"{source} is missing: run `nox -s build` first")
    key = fingerprint(sources.load_lock()["cpython"].key, layout.CPYTHON_PATCHES, layout.TEST_PATCHES)
    stamp = Stamp(layout.BUILD / "stamps" / "regrtest-tests", outputs=[TESTS_LIB])
    if stamp.matches(key):
        return TESTS_LIB
    # The patches name their files Lib/test/..., like CPython's own.
    staging = fresh_dir(ROOT / "staging")
    shutil.copytree(source, staging / "Lib" / "test", ignore=shutil.ignore_patterns("__pycache__"))
    for patch in sorted(layout.TEST_PATCHES.glob("*.patch")):
        run(["patch", "-p1", "--forward", "--batch", "-s", "-i", patch], cwd=staging)
    replace_dir(staging / "Lib", TESTS_LIB)
    shutil.rmtree(staging)
    stamp.record(key)
    return TESTS_LIB


def all_modules(tests: Path) -> list[str]:
    """Every test module of Lib/test, as regrtest itself finds them."""
    names = [path.stem for path in (tests / "test").glob("test_*.py")]
    names += [path.name for path in (tests / "test").glob("test_*") if (path / "__init__.py").is_file()]
    return sorted(names)


@dataclass(frozen=True)
class Result:
    module: str
    outcome: str
    seconds: float
    detail: str
    log: Path


_TESTS_RESULT = re.compile(r"^Tests result: (.+)$", re.MULTILINE)
_SKIPPED = re.compile(r"^\S+ skipped -- (.+)$", re.MULTILINE)
_FAILED_TEST = re.compile(r"^(?:FAIL|ERROR): \S+ \((\S+)\)", re.MULTILINE)
_RAN = re.compile(r"^Ran (\d+) tests? in .*\n\n(OK|FAILED)(?: \((.*)\))?", re.MULTILINE)


def classify(returncode: int | None, output: str, timeout: float) -> tuple[str, str]:
    """(outcome, detail) of one `python -m test -v MODULE` run from its exit status and output."""
    if returncode is None:
        return "crash", f"no result after {timeout:.0f} s"
    verdicts = _TESTS_RESULT.findall(output)
    if not verdicts:
        return "crash", f"exit status {returncode} without a test result"
    verdict = verdicts[-1]
    counts = _RAN.findall(output)
    summary = f"{counts[-1][0]} tests" + (f" ({counts[-1][2]})" if counts[-1][2] else "") if counts else ""
    if "NO TESTS RAN" in verdict or re.search(r"^\d+ tests? skipped:$", output, re.MULTILINE):
        skipped = _SKIPPED.search(output)
        return "skip", skipped.group(1) if skipped else verdict
    if returncode == 0 and verdict.startswith("SUCCESS"):
        return "ok", summary
    if "FAILURE" in verdict:
        failed = list(dict.fromkeys(_FAILED_TEST.findall(output)))
        shown = ", ".join(failed[:8]) + (f" and {len(failed) - 8} more" if len(failed) > 8 else "")
        return "fail", f"{summary}: {shown}" if shown else summary or verdict
    return "crash", f"exit status {returncode}, {verdict}"


def runtime_name(runtime: str | None, env: Mapping[str, str]) -> str:
    """The runtime the guests will run on: the one the list's runtime entries name."""
    if env.get("TIMECRAFT"):
        return "timecraft"
    # The built-in host's own default (host/cli.py).
    return runtime or env.get("TIMECRAFT_PYTHON_RUNTIME") or RUNTIMES[0]


def run_module(module: str, expectation: Expectation, tests: Path, runtime: str,
               timeout: float) -> Result:
    """Run one test module on `runtime` (runtime_name's) in its own guest, in a fresh
    scratch folder that is its cwd and TMPDIR."""
    scratch_root = SCRATCH / runtime
    scratch = fresh_dir(scratch_root / module)
    log = LOGS / runtime / f"{module}.log"
    # regrtest would pick its temporary folder from sysconfig, which names
    # the build machine's source tree.
    args = ["-m", "test", "-v", "--tempdir", str(scratch)]
    for pattern in expectation.ignore:
        args += ["-i", pattern]
    # The scratch folders' parent is granted too: os.makedirs(scratch), as
    # regrtest calls it, looks at the parent, which the built-in host would
    # otherwise hide (timecraft shows the whole file system).
    command = guest_command(Guest(cwd=scratch, deps=tests, grants=(scratch_root,)), [*args, module],
                            extra_env={"TMPDIR": str(scratch)},
                            runtime=None if runtime == "timecraft" else runtime)
    started = time.monotonic()
    with log.open("w") as out:
        out.write("+ " + " ".join(command) + "\n")
        out.flush()
        try:
            returncode: int | None = subprocess.run(
                command, cwd=scratch, stdout=out, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            returncode = None
    seconds = time.monotonic() - started
    outcome, detail = classify(returncode, log.read_text(errors="replace"), timeout)
    shutil.rmtree(scratch, ignore_errors=True)
    return Result(module, outcome, seconds, detail, log)


def judge(result: Result, expectation: Expectation) -> str | None:
    """Why `result` fails the run, or None."""
    if RANK[result.outcome] > RANK[expectation.outcome]:
        expected = expectation.outcome + (f" ({expectation.reason})" if expectation.reason else "")
        return f"{result.module}: {result.outcome} but the list expects {expected}"
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nox -s regrtest --",
        description="Run CPython's test suite inside python.wasm, one guest per test module, "
        f"and compare with {layout.REGRTEST_LIST.relative_to(layout.REPO)}.")
    parser.add_argument("modules", nargs="*", help="test modules to run (default: the list's default set)")
    parser.add_argument("--all", action="store_true", help="run every module of Lib/test")
    parser.add_argument("--runtime", choices=RUNTIMES, default=None,
                        help=f"built-in host's WASI implementation (default: {RUNTIMES[0]}; "
                        "ignored under $TIMECRAFT)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                        help="guests running at once (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds one module may take before it counts as a crash "
                        "(default: %(default)s)")
    return parser


def report(results: Iterable[Result], failures: Sequence[str], notes: Sequence[str],
           wall: float) -> None:
    results = list(results)
    counts = {outcome: sum(result.outcome == outcome for result in results) for outcome in OUTCOMES}
    say("")
    say(" ".join(f"{outcome} {count}" for outcome, count in counts.items())
        + f"   ({len(results)} modules, wall time {wall:.0f} s)")
    for note in notes:
        say(f"note: {note}")
    for failure in failures:
        say(f"UNEXPECTED: {failure}")


def main(argv: Sequence[str]) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    if options.jobs < 1:
        parser.error("--jobs must be at least 1")
    for path in (layout.PYTHON_WASM, layout.STDLIB_ZIP):
        if not path.is_file():
            raise StageError(f"{path} is missing: run `nox -s build` first")
    listed = load_list()
    tests = prepare_tests()
    known = set(all_modules(tests))
    modules = options.modules or (sorted(known) if options.all else list(listed.default))
    unknown = [module for module in modules if module not in known]
    if unknown:
        raise StageError(f"no such test module in Lib/test: {', '.join(unknown)}")
    runtime = runtime_name(options.runtime, os.environ)
    (LOGS / runtime).mkdir(parents=True, exist_ok=True)
    say(f"regrtest: {len(modules)} modules on {runtime}, {options.jobs} at a time; "
        f"logs in {LOGS / runtime}")
    started = time.monotonic()
    results: list[Result] = []
    failures: list[str] = []
    notes: list[str] = []
    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        futures = [(module, listed.expectation(module, runtime),
                    pool.submit(run_module, module, listed.expectation(module, runtime), tests,
                                runtime, options.timeout)) for module in modules]
        for module, expectation, future in futures:
            try:
                result = future.result()
            except KeyboardInterrupt:
                # The running guests got the interrupt too; start no others.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            results.append(result)
            say(f"{result.outcome:5} {module:32} {result.seconds:6.1f} s  {result.detail}")
            problem = judge(result, expectation)
            if problem:
                failures.append(f"{problem}; log: {result.log}")
            elif result.outcome != expectation.outcome:
                notes.append(f"{module}: {result.outcome}, better than the listed "
                             f"{expectation.outcome}: update {layout.REGRTEST_LIST.name}")
    report(results, failures, notes, time.monotonic() - started)
    sys.stdout.flush()
    return 1 if failures else 0
