"""Build CPython 3.11 for wasm32-wasi, run it and test it. `nox -l` lists the sessions."""

from __future__ import annotations

import nox

nox.needs_version = ">=2025.02.09"
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["build"]

PYTHON = "3.11"

# Nox hands the arguments after `--` to every session of a run, the stages it
# requires included, so no build stage reads them: build options are the
# environment switches (DEBUG=1, NO_OPT=1, NO_WASMEDGE=1, JOBS=N; README), and
# what follows `--` in run, deps and the test sessions is the guest's, pip's or
# pytest's. The stages' order is their `requires=`.
BUILD_SWITCHES = "DEBUG=1, NO_OPT=1, NO_WASMEDGE=1, JOBS=N"


def stage(session: nox.Session) -> None:
    if session.posargs:
        session.log(f"{session.name}: build stages take no arguments after `--` (those belong "
                    f"to the session you ran); build options are environment switches: "
                    f"{BUILD_SWITCHES}, e.g. `DEBUG=1 nox -s build`")
    session.run("python", "-m", "scripts", session.name)


def install(session: nox.Session, requirements: str) -> None:
    session.install("--require-hashes", "-r", f"requirements/{requirements}.txt")


def install_host(session: nox.Session, requirements: str) -> None:
    """The pinned requirements, then the host package from this checkout (editable, so
    edits to host/ take effect at once; its build backend is in the pinned file)."""
    install(session, requirements)
    session.install("--no-deps", "--no-build-isolation", "-e", ".")


@nox.session(python=PYTHON)
def toolchain(session: nox.Session) -> None:
    """Find clang/LLVM for wasm32, wasm-opt, zip, Python 3.11 (installing them on Debian if root)."""
    stage(session)


@nox.session(python=PYTHON)
def sources(session: nox.Session) -> None:
    """Download every pinned source (sources.toml) into the user cache, verified."""
    stage(session)


@nox.session(python=PYTHON, requires=["toolchain", "sources"])
def libc(session: nox.Session) -> None:
    """Build the patched wasi-libc sysroot."""
    stage(session)


@nox.session(python=PYTHON, requires=["libc"])
def sockets(session: nox.Session) -> None:
    """Build libwasmedge_sock.a, POSIX sockets over the WasmEdge socket ABI."""
    stage(session)


@nox.session(python=PYTHON, requires=["libc"])
def sqlite(session: nox.Session) -> None:
    """Build SQLite for wasm32-wasi (for the sqlite3 module)."""
    stage(session)


@nox.session(python=PYTHON, requires=["libc"])
def bzip2(session: nox.Session) -> None:
    """Build libbz2 for wasm32-wasi (for the bz2 module)."""
    stage(session)


@nox.session(python=PYTHON, requires=["libc"])
def xz(session: nox.Session) -> None:
    """Build liblzma from xz for wasm32-wasi (for the lzma module)."""
    stage(session)


@nox.session(python=PYTHON, requires=["sockets", "sqlite", "bzip2", "xz"])
def cpython(session: nox.Session) -> None:
    """Build zlib and link python.wasm (configure only when its inputs changed)."""
    stage(session)


@nox.session(python=PYTHON, requires=["cpython"])
def optimize(session: nox.Session) -> None:
    """Check python.wasm is WebAssembly core 2.0, wasm-opt it into dist/ (NO_OPT=1: no wasm-opt)."""
    stage(session)


@nox.session(python=PYTHON, requires=["cpython"])
def stdlib(session: nox.Session) -> None:
    """Build dist/python311.zip: the byte-compiled stdlib plus python/Lib overlay files."""
    stage(session)


@nox.session(python=PYTHON, requires=["optimize", "stdlib"])
def build(session: nox.Session) -> None:
    """Build everything: dist/python.wasm, dist/python311.zip and dist/manifest.json."""
    stage(session)


@nox.session(python=PYTHON, requires=["build"])
def run(session: nox.Session) -> None:
    """Run python.wasm: `nox -s run -- script.py args`, `-- -c CODE`, or nothing for the REPL."""
    install_host(session, "host")
    session.run("python", "-m", "scripts", "run", "--cwd", session.invoked_from, "--",
                *session.posargs)


@nox.session(python=PYTHON)
def deps(session: nox.Session) -> None:
    """Install pure-Python packages for the guest into deps/ (`nox -s deps -- requests`)."""
    install(session, "deps")
    session.run("python", "-m", "scripts", "deps", *session.posargs)


# The unit tests run the stages' tools (patch) on small inputs, so a
# fresh machine needs the toolchain stage to install them first.
@nox.session(name="unit-tests", python=PYTHON, requires=["toolchain"])
def unit_tests(session: nox.Session) -> None:
    """Unit tests of scripts/ and host/ with coverage."""
    install_host(session, "test")
    session.run("python", "-m", "coverage", "run", "-m", "pytest", "tests/unit", "tests/host",
                *session.posargs)
    session.run("python", "-m", "coverage", "report")


@nox.session(name="guest-tests", python=PYTHON, requires=["build"])
def guest_tests(session: nox.Session) -> None:
    """Tests that run inside python.wasm (under $TIMECRAFT, else the built-in host)."""
    install_host(session, "test")
    session.run("python", "-m", "pytest", "tests/guest", *session.posargs)


@nox.session(name="sdk-tests", python=PYTHON, requires=["build"])
def sdk_tests(session: nox.Session) -> None:
    """The timecraft SDK's tests, on this CPython against the built-in host's API, with coverage."""
    install_host(session, "test")
    # setuptools, the SDK's build backend, is pinned in requirements/test.txt.
    session.install("--no-deps", "--no-build-isolation", "./timecraft-sdk")
    env = {"COVERAGE_FILE": ".coverage.sdk"}
    session.run("python", "-m", "coverage", "run", "--source", "timecraft", "-m", "pytest",
                "timecraft-sdk/tests", *session.posargs, env=env)
    session.run("python", "-m", "coverage", "report", "--fail-under", "90", env=env)


@nox.session(python=PYTHON, requires=["build"])
def regrtest(session: nox.Session) -> None:
    """CPython's Lib/test in python.wasm, a guest per module, checked against tests/regrtest.toml."""
    install_host(session, "host")
    session.run("python", "-m", "scripts", "regrtest", *session.posargs)


@nox.session(python=PYTHON, requires=["unit-tests", "guest-tests", "sdk-tests"])
def test(session: nox.Session) -> None:
    """Run every test session (the guest tests include regrtest's default selection)."""
    session.log("all test sessions passed")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Print build numbers (cold, no-op, edit-rebuild, sizes); check two cold builds are identical."""
    install(session, "nox")
    session.run("python", "-m", "benchmarks", "build", *session.posargs)


@nox.session(name="bench-host", python=PYTHON, requires=["build"])
def bench_host(session: nox.Session) -> None:
    """Print guest run numbers: warm start, imports, small writes, HTTP/HTTPS throughput."""
    install_host(session, "test")
    session.run("python", "-m", "benchmarks", "host", *session.posargs)


@nox.session(name="bench-deps", python=PYTHON, requires=["build"])
def bench_deps(session: nox.Session) -> None:
    """Print how many popular pure-Python packages install and import in the guest, and how fast."""
    install(session, "deps")
    install_host(session, "host")
    session.run("python", "-m", "benchmarks", "deps", *session.posargs)


@nox.session(name="bench-guest", python=PYTHON, requires=["build"])
def bench_guest(session: nox.Session) -> None:
    """Print guest speed (pyperformance, native vs python.wasm, ratios) and warm start."""
    install_host(session, "bench")
    session.run("python", "-m", "benchmarks", "guest", *session.posargs)


LINTED = ("scripts", "host", "timecraft-sdk/src")
# Type-checked on its own: beside host/ it would stand for the stdlib's ssl.
SSL_OVERLAY = "python/Lib/ssl.py"


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff and mypy over scripts/, host/, the ssl overlay and the SDK (ruff also over benchmarks/)."""
    install(session, "lint")
    # benchmarks/ imports test-only packages (trustme, the guest harness): ruff only.
    session.run("ruff", "check", *LINTED, SSL_OVERLAY, "benchmarks", "noxfile.py")
    session.run("mypy", *LINTED)
    session.run("mypy", SSL_OVERLAY)


@nox.session(python=PYTHON)
def lock(session: nox.Session) -> None:
    """Recompile requirements/*.in into hash-pinned requirements/*.txt with pip-tools."""
    install(session, "lock")
    session.run("python", "-m", "scripts.lock")
