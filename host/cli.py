"""`python -m host run ...`: the subset of `timecraft run` the project uses."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path

from host.requests import ApiLimits, Grant, GuestLimits, RunRequest

SOCKET_EXTENSIONS = ("none", "auto", "path_open", "wasmedgev1", "wasmedgev2")
RUNTIMES = ("builtin", "wasmtime")
_SIZE_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_env(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


READ_ONLY_SUFFIX = ":ro"


def parse_grant(text: str) -> Grant:
    """`HOST[:GUEST][:ro]`."""
    read_only = text.endswith(READ_ONLY_SUFFIX)
    if read_only:
        text = text[:-len(READ_ONLY_SUFFIX)]
    host, sep, guest = text.partition(":")
    host_path = Path(host).resolve()
    if not host_path.is_dir():
        raise argparse.ArgumentTypeError(f"{host!r} is not a directory on this machine")
    # Like timecraft, a directory appears at its own absolute path by default,
    # so the same absolute PYTHONHOME works under both runtimes.
    return Grant(host_path, guest if sep else str(host_path), read_only)


def parse_grant_fd(text: str) -> Grant:
    """`FD:GUEST[:ro]`: a directory the parent host had open, inherited as is."""
    read_only = text.endswith(READ_ONLY_SUFFIX)
    if read_only:
        text = text[:-len(READ_ONLY_SUFFIX)]
    number, _, guest = text.partition(":")
    try:
        fd = int(number)
        is_directory = stat.S_ISDIR(os.fstat(fd).st_mode)
    except (ValueError, OSError):
        is_directory = False
    if not is_directory or not guest:
        raise argparse.ArgumentTypeError(f"{text!r} is not an open directory and a guest path")
    return Grant(Path(f"/proc/self/fd/{fd}"), guest, read_only, fd)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def parse_size(text: str) -> int:
    """A byte count: digits with an optional K, M or G (binary multiples), like 512M."""
    digits = text.rstrip("KMGkmg")
    suffix = text[len(digits):].upper()
    if not digits.isdigit() or suffix not in _SIZE_SUFFIXES or int(digits) == 0:
        raise argparse.ArgumentTypeError(f"expected a size such as 512M or 2G, got {text!r}")
    return int(digits) * _SIZE_SUFFIXES[suffix]


# What the guest may consume: (option, GuestLimits field, parser, metavar, help).
GUEST_LIMIT_OPTIONS = (
    ("--max-memory", "memory", parse_size, "SIZE", "bytes of guest linear memory (512M, 2G "
     "or a number); growing past it fails in the guest; both runtimes"),
    ("--max-fds", "descriptors", positive_int, "N", "guest descriptors open at once, stdio "
     "and --dir grants included; past it opens fail with EMFILE"),
    ("--max-sockets", "sockets", positive_int, "N", "guest sockets open at once; past it "
     "sock_open and sock_accept fail with ENFILE"),
)
# The API limits' options: (option, ApiLimits field, help).
API_LIMIT_OPTIONS = (
    ("--max-processes", "processes", "processes the guest and everything it starts may "
     "have running through the API at once"),
    ("--max-api-work", "work", "API connections served, and tasks run, at once"),
    ("--max-api-body", "body", "bytes of an API request body, and of a task's response body"),
    ("--max-api-tasks", "tasks", "tasks kept (submitted and not discarded) at once"),
)


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
                     metavar="HOST[:GUEST][:ro]",
                     help="grant a host directory, seen at GUEST (default: HOST), "
                     "read-only with :ro (repeatable)")
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
    for option, name, parse, metavar, text in GUEST_LIMIT_OPTIONS:
        run.add_argument(option, type=parse, default=getattr(GuestLimits(), name),
                         dest=f"limit_{name}", metavar=metavar,
                         help=f"{text} (default: %(default)s)")
    for option, name, text in API_LIMIT_OPTIONS:
        run.add_argument(option, type=positive_int, default=getattr(ApiLimits(), name),
                         dest=f"limit_{name}", metavar="N",
                         help=f"{text} (default: %(default)s)")
    # Internal: how host/api/ starts spawned processes and task workers.
    run.add_argument("--process-id", help=argparse.SUPPRESS)
    run.add_argument("--ip-address", help=argparse.SUPPRESS)
    run.add_argument("--lifeline-fd", type=int, help=argparse.SUPPRESS)
    run.add_argument("--process-slots-fd", type=int, help=argparse.SUPPRESS)
    run.add_argument("--dir-fd", action="append", type=parse_grant_fd, dest="dir",
                     help=argparse.SUPPRESS)
    run.add_argument("--module-fd", type=int, help=argparse.SUPPRESS)
    run.add_argument("module", type=Path, help="the .wasm module")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the guest")
    return parser


def request_from(options: argparse.Namespace) -> RunRequest:
    """The RunRequest that parsed `run` options stand for."""
    return RunRequest(
        module=options.module,
        args=list(options.args),
        env=dict(options.env),
        grants=options.dir,
        sockets=options.sockets,
        ca_file=options.ca_file,
        process_id=options.process_id,
        ip_address=options.ip_address,
        lifeline_fd=options.lifeline_fd,
        limits=GuestLimits(**{name: getattr(options, f"limit_{name}")
                              for _, name, *_ in GUEST_LIMIT_OPTIONS}),
        api_limits=ApiLimits(**{name: getattr(options, f"limit_{name}")
                                for _, name, _ in API_LIMIT_OPTIONS}),
        process_slots_fd=options.process_slots_fd,
        module_fd=options.module_fd,
    )


def main(argv: list[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    if options.module_fd is None and not options.module.is_file():
        print(f"host: module {options.module} not found", file=sys.stderr)
        return 2
    request = request_from(options)
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
        mode = READ_ONLY_SUFFIX if grant.read_only else ""
        host_path = str(grant.host_path)
        if internal and grant.host_fd is not None:
            command += ["--dir-fd", f"{grant.host_fd}:{grant.guest_path}{mode}"]
        elif grant.guest_path == host_path:
            command += ["--dir", host_path + mode]
        else:
            command += ["--dir", f"{host_path}:{grant.guest_path}{mode}"]
    command += ["--sockets", request.sockets]
    if request.ca_file:
        command += ["--ca-file", request.ca_file]
    # GuestLimits only when not the default: timecraft has no such options.
    for option, name, *_ in GUEST_LIMIT_OPTIONS:
        value = getattr(request.limits, name)
        if value != getattr(GuestLimits(), name):
            command += [option, str(value)]
    for option, name, _ in API_LIMIT_OPTIONS:
        value = getattr(request.api_limits, name)
        if value != getattr(ApiLimits(), name):
            command += [option, str(value)]
    if internal:
        internal_options: tuple[tuple[str, object], ...] = (
            ("--process-id", request.process_id), ("--ip-address", request.ip_address),
            ("--lifeline-fd", request.lifeline_fd),
            ("--process-slots-fd", request.process_slots_fd),
            ("--module-fd", request.module_fd))
        for option, setting in internal_options:
            if setting is not None:
                command += [option, str(setting)]
    return [*command, "--", str(request.module), *request.args]


def console_main() -> None:
    """Entry point of the `timecraft-python-host` console script."""
    sys.exit(main())
