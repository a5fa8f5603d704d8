"""`python -m host run ...`: the subset of `timecraft run` the project uses."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, NamedTuple, Sequence

SOCKET_EXTENSIONS = ("none", "auto", "path_open", "wasmedgev1", "wasmedgev2")
RUNTIMES = ("builtin", "wasmtime")


# NamedTuples rather than dataclasses: importing dataclasses costs several
# milliseconds of every start.
class Grant(NamedTuple):
    """A host directory made visible to the guest under `guest_path`."""

    host_path: Path
    guest_path: str


class RunRequest(NamedTuple):
    module: Path
    args: Sequence[str]
    env: Mapping[str, str] = MappingProxyType({})
    grants: Sequence[Grant] = ()
    sockets: str = "none"
    # Extra CA bundle trusted by hTLS, on top of the system trust store.
    ca_file: str | None = None
    # Set only for modules a guest spawned through the API (see host/api.py):
    # their id, their own loopback address, and the pipe that ends them with it.
    process_id: str | None = None
    ip_address: str | None = None
    lifeline_fd: int | None = None


def parse_env(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def parse_grant(text: str) -> Grant:
    host, sep, guest = text.partition(":")
    host_path = Path(host).resolve()
    if not host_path.is_dir():
        raise argparse.ArgumentTypeError(f"{host!r} is not a directory on this machine")
    # Like timecraft, a directory appears at its own absolute path by default,
    # so the same absolute PYTHONHOME works under both runtimes.
    return Grant(host_path, guest if sep else str(host_path))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m host",
        description="Run a WASI module the way `timecraft run` does, without timecraft. "
        "Unlike timecraft, nothing of the host (environment, files) is visible "
        "unless granted with -e and --dir.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a WASI module")
    run.add_argument("-e", "--env", action="append", type=parse_env, default=[],
                     metavar="NAME=VALUE", help="pass an environment variable (repeatable)")
    run.add_argument("--dir", action="append", type=parse_grant, default=[],
                     metavar="HOST[:GUEST]", help="grant a host directory (repeatable)")
    run.add_argument("-S", "--sockets", choices=SOCKET_EXTENSIONS, default="none",
                     help="socket extension offered to the guest")
    run.add_argument("--restrict", action="store_true",
                     help="accepted for timecraft compatibility; this host is always restricted")
    run.add_argument("--ca-file", metavar="PATH",
                     help="extra CA bundle for host TLS (hTLS) besides the system trust "
                     "store; also read from $TIMECRAFT_PYTHON_CA_FILE")
    run.add_argument("--runtime", choices=RUNTIMES,
                     default=os.environ.get("TIMECRAFT_PYTHON_RUNTIME", RUNTIMES[0]),
                     help="WASI implementation (default: %(default)s)")
    # Internal: how host/api.py starts spawned processes and task workers.
    run.add_argument("--process-id", help=argparse.SUPPRESS)
    run.add_argument("--ip-address", help=argparse.SUPPRESS)
    run.add_argument("--lifeline-fd", type=int, help=argparse.SUPPRESS)
    run.add_argument("module", type=Path, help="the .wasm module")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the guest")
    return parser


def main(argv: list[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    if not options.module.is_file():
        print(f"host: module {options.module} not found", file=sys.stderr)
        return 2
    request = RunRequest(
        module=options.module,
        args=list(options.args),
        env=dict(options.env),
        grants=options.dir,
        sockets=options.sockets,
        ca_file=options.ca_file,
        process_id=options.process_id,
        ip_address=options.ip_address,
        lifeline_fd=options.lifeline_fd,
    )
    if options.runtime == "wasmtime":
        from host import wasmtime_wasi

        return wasmtime_wasi.run(request)
    from host import builtin_runtime

    return builtin_runtime.run(request)
