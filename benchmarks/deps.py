"""Benchmark of `nox -s deps` with popular packages: what installs, what imports, how fast.

`nox -s bench-deps` (it needs the built-in host and dist/ built). It installs POPULAR into scratch folders the
way `nox -s deps -- <all of them>` does, twice: cold (an empty pure-wheel
cache; pip's own download cache is left as it is) and cached. When the whole
set does not install, each package is installed alone to find which fail.
Then one guest imports every module. Only numbers are printed; nothing here
passes or fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from scripts import deps, layout
from scripts.runtime import Guest, guest_command
from scripts.shell import StageError, say

# (requirement, module to import): popular packages that are pure Python or
# have a pure-Python form. pydantic is pinned below 2: every 2.x needs the
# compiled pydantic-core, so `nox -s deps -- pydantic` refuses and says so.
POPULAR = (
    ("requests", "requests"), ("flask", "flask"), ("jinja2", "jinja2"),
    ("markupsafe", "markupsafe"), ("pyyaml", "yaml"), ("click", "click"), ("rich", "rich"),
    ("httpx", "httpx"), ("pydantic<2", "pydantic"), ("attrs", "attrs"),
    ("python-dateutil", "dateutil.parser"), ("pytz", "pytz"), ("six", "six"),
    ("packaging", "packaging.version"), ("typing-extensions", "typing_extensions"),
    ("pygments", "pygments.lexers"), ("tabulate", "tabulate"), ("simplejson", "simplejson"),
    ("msgpack", "msgpack"), ("multidict", "multidict"), ("yarl", "yarl"),
    ("sqlalchemy", "sqlalchemy"), ("beautifulsoup4", "bs4"), ("markdown", "markdown"),
    ("jsonschema", "jsonschema"), ("marshmallow", "marshmallow"), ("tenacity", "tenacity"),
    ("cachetools", "cachetools"), ("toml", "toml"), ("wrapt", "wrapt"),
    ("more-itertools", "more_itertools"), ("sortedcontainers", "sortedcontainers"),
    ("structlog", "structlog"), ("arrow", "arrow"), ("anyio", "anyio"), ("tqdm", "tqdm"),
    ("pyparsing", "pyparsing"), ("aiohttp", "aiohttp"), ("docutils", "docutils.core"),
)
GUEST_TIMEOUT = 600  # seconds: importing everything once, without cached bytecode

IMPORT_ALL = """\
import importlib, json, sys, time
results = {}
for name in sys.argv[1:]:
    started = time.perf_counter()
    try:
        importlib.import_module(name)
    except BaseException as error:
        results[name] = [False, f"{type(error).__name__}: {error}"]
    else:
        results[name] = [True, round(time.perf_counter() - started, 2)]
print(json.dumps(results))
"""


def timed_install(requirements: Sequence[str], target: Path, log: Path) -> tuple[float, str]:
    """Seconds taken, and the error ("" on success); the session's output goes to `log`."""
    started = time.monotonic()
    with log.open("a") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            deps.install(requirements, target)
        except StageError as error:
            return time.monotonic() - started, str(error)
    return time.monotonic() - started, ""


def import_in_guest(target: Path, modules: Sequence[str], cwd: Path) -> dict[str, list[object]]:
    command = guest_command(Guest(deps=target, cwd=cwd), ["-c", IMPORT_ALL, *modules])
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                            timeout=GUEST_TIMEOUT, check=False)
    if result.returncode != 0:
        raise StageError(f"the import run failed ({result.returncode}):\n{result.stderr}")
    report: dict[str, list[object]] = json.loads(result.stdout.splitlines()[-1])
    return report


def main(argv: Sequence[str] = ()) -> int:
    for path in (layout.PYTHON_WASM, layout.STDLIB_ZIP):
        if not path.is_file():
            raise StageError(f"{path} is missing: run `nox -s build` first")
    requirements = [requirement for requirement, _ in POPULAR]
    log = layout.LOGS / "bench-deps.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    with tempfile.TemporaryDirectory(prefix="bench-deps-") as temporary:
        scratch = Path(temporary)
        os.environ["XDG_CACHE_HOME"] = str(scratch / "cache")  # an empty pure-wheel cache
        say(f"bench-deps: {len(POPULAR)} packages; the deps session's output is in {log}")
        cold, cold_error = timed_install(requirements, scratch / "cold", log)
        cached, cached_error = timed_install(requirements, scratch / "cached", log)
        failed = {}
        if cached_error:
            for requirement in requirements:
                _, error = timed_install([requirement], scratch / "one", log)
                if error:
                    failed[requirement] = error
        installed = [(requirement, module) for requirement, module in POPULAR
                     if requirement not in failed]
        target = scratch / "cached" if not cached_error else scratch / "one"
        imports = import_in_guest(target, [module for _, module in installed], scratch)
    imported = [module for module, (ok, _) in imports.items() if ok]
    say(f"installed:  {len(installed)} of {len(POPULAR)}")
    for requirement, error in failed.items():
        say(f"  not installed: {requirement}:\n    " + error.replace("\n", "\n    "))
    say(f"imported in the guest: {len(imported)} of {len(POPULAR)}")
    for module, (ok, detail) in imports.items():
        if not ok:
            say(f"  import {module} failed: {detail}")
    slowest = sorted(((detail, module) for module, (ok, detail) in imports.items() if ok),
                     reverse=True)[:5]
    say("slowest imports (s): " + ", ".join(f"{module} {seconds}" for seconds, module in slowest))
    say(f"nox -s deps -- <all {len(POPULAR)}>: cold {cold:.1f} s (empty pure-wheel cache, "
        f"pip's download cache as it was){' FAILED' if cold_error else ''}, "
        f"cached {cached:.1f} s{' FAILED' if cached_error else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
