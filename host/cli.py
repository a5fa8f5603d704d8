"""`python -m host run ...`: the subset of `timecraft run` the project uses."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from host.requests import Grant, Limits, RunRequest

SOCKET_EXTENSIONS = ("none", "auto", "path_open", "wasmedgev1", "wasmedgev2")
RUNTIMES = ("builtin", "wasmtime")
_SIZE_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
_DEFAULT_LIMITS = Limits()
# The option for each field of Limits, in its order.
_LIMIT_OPTIONS = ("--max-memory", "--max-fds", "--max-sockets")


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


def parse_size(text: str) -> int:
    """A byte count: digits with an optional K, M or G (binary multiples), like 512M."""
    digits, suffix = text.rstrip("KMGkmg"), text[len(text.rstrip("KMGkmg")):].upper()
    if not digits.isdigit() or suffix not in _SIZE_SUFFIXES or int(digits) == 0:
        raise argparse.ArgumentTypeError(f"expected a size such as 512M or 2G, got {text!r}")
    return int(digits) * _SIZE_SUFFIXES[suffix]


def parse_count(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


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
    run.add_argument("-S", "--sockets", choices=SOCKET_EXTENSIONS, default="auto",
                     help="socket extension offered to the guest (default: the one the "
                     "module imports, as timecraft decides; timecraft ignores this option)")
    run.add_argument("--restrict", action="store_true",
                     help="accepted for timecraft compatibility; this host is always restricted")
    run.add_argument("--ca-file", metavar="PATH",
                     help="extra CA bundle for host TLS (hTLS) besides the system trust "
                     "store; also read from $TIMECRAFT_PYTHON_CA_FILE")
    run.add_argument("--runtime", choices=RUNTIMES,
                     default=os.environ.get("TIMECRAFT_PYTHON_RUNTIME", RUNTIMES[0]),
                     help="WASI implementation (default: %(default)s)")
    limits = run.add_argument_group(
        "limits", "what the guest may consume (builtin runtime; --max-memory applies to both)")
    limits.add_argument("--max-memory", type=parse_size, default=_DEFAULT_LIMITS.memory,
                        metavar="SIZE", help="guest linear memory, e.g. 512M or 2G; growing "
                        "past it fails in the guest (default: 1G)")
    limits.add_argument("--max-fds", type=parse_count, default=_DEFAULT_LIMITS.descriptors,
                        metavar="N", help="open guest descriptors, stdio and --dir included; "
                        "past it opens fail with EMFILE (default: %(default)s)")
    limits.add_argument("--max-sockets", type=parse_count, default=_DEFAULT_LIMITS.sockets,
                        metavar="N", help="open guest sockets; past it sock_open and "
                        "sock_accept fail with ENFILE (default: %(default)s)")
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
        limits=Limits(options.max_memory, options.max_fds, options.max_sockets),
        process_id=options.process_id,
        ip_address=options.ip_address,
        lifeline_fd=options.lifeline_fd,
    )
    if options.runtime == "wasmtime":
        from host import wasmtime_wasi

        return wasmtime_wasi.run(request)
    from host import builtin_runtime

    return builtin_runtime.run(request)


def run_arguments(request: RunRequest, *, runtime: str | None = None,
                  internal: bool = False) -> list[str]:
    """The `run ...` arguments that `build_parser` parses back into `request`.

    The one place a host command line is built, for spawned children (with
    `internal`, the options only the API uses) and for scripts/runtime.py,
    whose command line also serves timecraft: a grant at its own path is
    written as a bare `--dir HOST`, the only form timecraft takes.
    """
    command = ["run"]
    if runtime is not None:
        command += ["--runtime", runtime]
    for name, value in request.env.items():
        command += ["-e", f"{name}={value}"]
    for grant in request.grants:
        host_path = str(grant.host_path)
        command += ["--dir", host_path if grant.guest_path == host_path
                    else f"{host_path}:{grant.guest_path}"]
    command += ["--sockets", request.sockets]
    if request.ca_file:
        command += ["--ca-file", request.ca_file]
    # Only limits that differ from the defaults, so the usual command line is
    # still one timecraft takes.
    for limit_option, limit, default in zip(_LIMIT_OPTIONS, request.limits, _DEFAULT_LIMITS,
                                            strict=True):
        if limit != default:
            command += [limit_option, str(limit)]
    if internal:
        internal_options: tuple[tuple[str, object], ...] = (
            ("--process-id", request.process_id), ("--ip-address", request.ip_address),
            ("--lifeline-fd", request.lifeline_fd))
        for option, setting in internal_options:
            if setting is not None:
                command += [option, str(setting)]
    return [*command, "--", str(request.module), *request.args]


def console_main() -> None:
    """Entry point of the `timecraft-python-host` console script."""
    sys.exit(main())
