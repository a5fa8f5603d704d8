"""Build CPython 3.11 for wasm32-wasi, run it and test it. `nox -l` lists the sessions."""

from __future__ import annotations

import nox

nox.needs_version = ">=2025.02.09"
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["build"]

PYTHON = "3.11"

# Nox hands the arguments after `--` to every session of a run, its
# prerequisites included. So no session `requires=` a build stage: a build
# session runs the stages it depends on itself (order in scripts/__main__.py)
# with the build options it was given, and a session that uses the build
# builds first with the environment switches alone (DEBUG=1, NO_OPT=1, ...):
# what follows `--` in run, deps and the test sessions is the guest's, pip's
# or pytest's, never a build option.


def scripts(session: nox.Session, *args: str) -> None:
    session.run("python", "-m", "scripts", *args)


def build_stage(session: nox.Session) -> None:
    scripts(session, session.name, *session.posargs)


def build_first(session: nox.Session) -> None:
    scripts(session, "build")


def install(session: nox.Session, requirements: str) -> None:
    session.install("--require-hashes", "-r", f"requirements/{requirements}.txt")


@nox.session(python=PYTHON)
def toolchain(session: nox.Session) -> None:
    """Find clang/LLVM for wasm32, wasm-opt, zip, Python 3.11 (installing them on Debian if root)."""
    build_stage(session)


@nox.session(python=PYTHON)
def sources(session: nox.Session) -> None:
    """Download the pinned CPython, wasi-libc and zlib sources into the user cache, verified."""
    build_stage(session)


@nox.session(python=PYTHON)
def libc(session: nox.Session) -> None:
    """Build the patched wasi-libc sysroot."""
    build_stage(session)


@nox.session(python=PYTHON)
def sockets(session: nox.Session) -> None:
    """Build libwasmedge_sock.a, POSIX sockets over the WasmEdge socket ABI."""
    build_stage(session)


@nox.session(python=PYTHON)
def cpython(session: nox.Session) -> None:
    """Build zlib and link python.wasm (configure only when its inputs changed)."""
    build_stage(session)


@nox.session(python=PYTHON)
def optimize(session: nox.Session) -> None:
    """wasm-opt python.wasm into dist/ (--no-opt or NO_OPT=1 skips optimizing)."""
    build_stage(session)


@nox.session(python=PYTHON)
def stdlib(session: nox.Session) -> None:
    """Build dist/python311.zip: the byte-compiled stdlib plus python/Lib overlay files."""
    build_stage(session)


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build everything: dist/python.wasm, dist/python311.zip and dist/manifest.json."""
    build_stage(session)


@nox.session(python=PYTHON)
def run(session: nox.Session) -> None:
    """Run python.wasm: `nox -s run -- script.py args`, `-- -c CODE`, or nothing for the REPL."""
    install(session, "host")
    build_first(session)
    scripts(session, "run", "--cwd", session.invoked_from, "--", *session.posargs)


@nox.session(python=PYTHON)
def deps(session: nox.Session) -> None:
    """Install pure-Python packages for the guest into deps/ (`nox -s deps -- requests`)."""
    install(session, "deps")
    scripts(session, "deps", *session.posargs)


@nox.session(name="unit-tests", python=PYTHON)
def unit_tests(session: nox.Session) -> None:
    """Unit tests of scripts/ and host/ with coverage."""
    install(session, "test")
    session.run("python", "-m", "coverage", "run", "-m", "pytest", "tests/unit", "tests/host",
                *session.posargs)
    session.run("python", "-m", "coverage", "report")


@nox.session(name="guest-tests", python=PYTHON)
def guest_tests(session: nox.Session) -> None:
    """Tests that run inside python.wasm (under $TIMECRAFT, else the built-in host)."""
    install(session, "test")
    build_first(session)
    session.run("python", "-m", "pytest", "tests/guest", *session.posargs)


@nox.session(name="sdk-tests", python=PYTHON)
def sdk_tests(session: nox.Session) -> None:
    """The timecraft SDK's tests, on this CPython against the built-in host's API, with coverage."""
    install(session, "test")
    build_first(session)
    # setuptools, the SDK's build backend, is pinned in requirements/test.txt.
    session.install("--no-deps", "--no-build-isolation", "./timecraft-sdk")
    env = {"COVERAGE_FILE": ".coverage.sdk"}
    session.run("python", "-m", "coverage", "run", "--source", "timecraft", "-m", "pytest",
                "timecraft-sdk/tests", *session.posargs, env=env)
    session.run("python", "-m", "coverage", "report", "--fail-under", "90", env=env)


@nox.session(python=PYTHON, requires=["unit-tests", "guest-tests", "sdk-tests"])
def test(session: nox.Session) -> None:
    """Run every test session."""
    session.log("all test sessions passed")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Print build numbers (cold, no-op, edit-rebuild, sizes); check two cold builds are identical."""
    install(session, "nox")
    session.run("python", "-m", "benchmarks", "build", *session.posargs)


@nox.session(name="bench-host", python=PYTHON)
def bench_host(session: nox.Session) -> None:
    """Print guest run numbers: warm start, imports, small writes, HTTP/HTTPS throughput."""
    install(session, "test")
    build_first(session)
    session.run("python", "-m", "benchmarks", "host", *session.posargs)


@nox.session(python=PYTHON)
def lock(session: nox.Session) -> None:
    """Recompile requirements/*.in into hash-pinned requirements/*.txt with pip-tools."""
    install(session, "lock")
    session.run("python", "-m", "scripts.lock")
