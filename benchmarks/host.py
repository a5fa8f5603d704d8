"""`nox -s bench-host`: the built-in WASI host's numbers: start, imports, small writes, downloads.

Each guest workload runs under the built-in host (runtime `builtin`) and, where
it needs no sockets, under the `wasmtime` package's own WASI for comparison.
Only numbers are printed, next to the project's targets; nothing here passes
or fails on them.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import ssl
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from scripts import layout
from scripts.shell import StageError, say
from tests.guest.guest_harness import GuestRunner

WARM_START_TARGET_MS = 150.0
IMPORT_RATIO_TARGET = 1.5  # import-heavy start, built-in host over wasmtime's WASI
SMALL_WRITES = 20_000
DOWNLOAD_RUNS = 3
COMPARED_RUNTIMES = ("builtin", "wasmtime")
GUEST_TIMEOUT = 300  # seconds; a stuck host fails the measurement, never hangs the bench
SERVER_ADDRESS = "127.0.0.2"  # reached through the host's dialer, as under timecraft

# Modules a real program pulls in at start: many small reads from the zip.
IMPORT_HEAVY = """\
import argparse, asyncio, collections, concurrent.futures, csv, dataclasses, datetime
import decimal, email.message, email.parser, fractions, http.client, inspect, json
import logging, pathlib, pickle, re, statistics, string, tarfile, textwrap, tomllib
import typing, unittest, urllib.parse, urllib.request, uuid, xml.etree.ElementTree, zipfile
"""

# Each write is its own fd_write call: os.write bypasses Python's buffering.
SMALL_WRITE_LOOP = f"""\
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
started = time.perf_counter()
for _ in range({SMALL_WRITES}):
    os.write(fd, b"0123456789abcdef\\n")
print(time.perf_counter() - started)
os.close(fd)
"""

# Timed inside the guest, so the interpreter's start does not count.
DOWNLOAD = """\
import http.client, json, sys, time
host, port, scheme = sys.argv[1], int(sys.argv[2]), sys.argv[3]
connection_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
started = time.perf_counter()
connection = connection_class(host, port, timeout=60)
connection.request("GET", "/payload")
response = connection.getresponse()
received = 0
while chunk := response.read(65536):
    received += len(chunk)
print(json.dumps({"bytes": received, "seconds": time.perf_counter() - started}))
"""


class MeasurementError(Exception):
    """A workload could not be measured; the message says why, in one line."""


class Timing(NamedTuple):
    median: float  # seconds, wall clock of the whole guest run
    fastest: float
    outputs: list[str]  # each run's stdout


class Row(NamedTuple):
    name: str
    builtin: str
    wasmtime: str
    ratio: str
    target: str


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nox -s bench-host --",
        description="Time python.wasm under the built-in host and under wasmtime's own WASI: "
        "warm start, an import-heavy start, small writes, and loopback HTTP and HTTPS "
        "download throughput. Prints numbers and the targets; asserts nothing.",
    )
    parser.add_argument("--runs", type=int, default=10,
                        help="runs per start/import/write workload and runtime; the median "
                        "is shown (default: %(default)s)")
    parser.add_argument("--download-mb", type=int, default=20,
                        help="size of the payload each download fetches (default: %(default)s)")
    return parser


# -- running guests ---------------------------------------------------------------------


@contextmanager
def environment_without(*names: str) -> Iterator[None]:
    """Run with `names` removed from this process's environment, which the guest harness reads."""
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


class Bench:
    """Runs guests, through the guest tests' harness, in a scratch folder granted to them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def script(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.write_text(text)
        return path

    def run(self, runtime: str, args: Sequence[str], ca_file: Path | None = None) -> tuple[float, str]:
        """(wall-clock seconds, stdout) of one guest run."""
        started = time.perf_counter()
        try:
            result = GuestRunner(runtime).run(args, cwd=self.workdir, grants=[self.workdir],
                                              ca_file=ca_file, timeout=GUEST_TIMEOUT)
        except subprocess.TimeoutExpired as error:
            raise MeasurementError(f"{runtime}: no exit within {GUEST_TIMEOUT} s") from error
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise MeasurementError(f"{runtime}: exit status {result.returncode}: {last}")
        return elapsed, result.stdout

    def compare(self, args: Sequence[str], runs: int) -> dict[str, Timing]:
        """Warm runs of `args` under each runtime, interleaved run by run.

        A first, unmeasured run of each fills the compiled-module cache and the
        OS's file cache, so what is measured is a warm start. Interleaving
        spreads any load from elsewhere on the machine over both runtimes.
        """
        for runtime in COMPARED_RUNTIMES:
            self.run(runtime, args)
        times: dict[str, list[float]] = {runtime: [] for runtime in COMPARED_RUNTIMES}
        outputs: dict[str, list[str]] = {runtime: [] for runtime in COMPARED_RUNTIMES}
        for _ in range(runs):
            for runtime in COMPARED_RUNTIMES:
                elapsed, stdout = self.run(runtime, args)
                times[runtime].append(elapsed)
                outputs[runtime].append(stdout)
        return {runtime: Timing(statistics.median(times[runtime]), min(times[runtime]),
                                outputs[runtime])
                for runtime in COMPARED_RUNTIMES}


# -- host-side server for the downloads -----------------------------------------------------


def _payload_handler(payload: bytes) -> type[http.server.BaseHTTPRequestHandler]:
    class PayloadHandler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            view = memoryview(payload)
            for offset in range(0, len(payload), 1 << 20):
                self.wfile.write(view[offset:offset + (1 << 20)])

        def log_message(self, format: str, *args: object) -> None:
            pass

    return PayloadHandler


@contextmanager
def payload_server(payload: bytes, tls: ssl.SSLContext | None) -> Iterator[int]:
    """An HTTP(S) server on 127.0.0.2 serving `payload`; yields its port.

    Not 127.0.0.1: that is the guest's own loopback, as under timecraft.
    """
    server = http.server.ThreadingHTTPServer((SERVER_ADDRESS, 0), _payload_handler(payload))
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(GUEST_TIMEOUT)


# -- workloads ------------------------------------------------------------------------------


def _ms(timing: Timing) -> str:
    return f"{timing.median * 1000:.0f} ms (min {timing.fastest * 1000:.0f})"


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x"


def warm_start(bench: Bench, runs: int) -> list[Row]:
    rows = [_warm_start_row("warm start: -c pass", bench, runs)]
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        # Then the host's own Python modules are compiled again at every
        # start; also show the start a user with bytecode caching gets.
        with environment_without("PYTHONDONTWRITEBYTECODE"):
            rows.append(_warm_start_row("  host bytecode cached", bench, runs))
    return rows


def _warm_start_row(name: str, bench: Bench, runs: int) -> Row:
    timings = bench.compare(["-c", "pass"], runs)
    builtin, wasmtime = timings["builtin"], timings["wasmtime"]
    met = "met" if builtin.median * 1000 <= WARM_START_TARGET_MS else "missed"
    return Row(name, _ms(builtin), _ms(wasmtime), _ratio(builtin.median, wasmtime.median),
               f"builtin <= {WARM_START_TARGET_MS:.0f} ms ({met})")


def import_heavy(bench: Bench, runs: int) -> list[Row]:
    script = bench.script("import_heavy.py", IMPORT_HEAVY)
    timings = bench.compare([script.name], runs)
    builtin, wasmtime = timings["builtin"], timings["wasmtime"]
    met = "met" if builtin.median <= IMPORT_RATIO_TARGET * wasmtime.median else "missed"
    return [Row("import-heavy start", _ms(builtin), _ms(wasmtime),
                _ratio(builtin.median, wasmtime.median),
                f"<= {IMPORT_RATIO_TARGET}x wasmtime ({met})")]


def small_writes(bench: Bench, runs: int) -> list[Row]:
    script = bench.script("small_writes.py", SMALL_WRITE_LOOP)
    timings = bench.compare([script.name, str(bench.workdir / "small_writes.out")], runs)
    builtin, wasmtime = timings["builtin"], timings["wasmtime"]
    # The loop's own time, which each guest printed: the cost of one fd_write.
    loop = {runtime: statistics.median(float(out) for out in timing.outputs)
            for runtime, timing in timings.items()}
    per_call = {runtime: f"{seconds / SMALL_WRITES * 1e6:.1f} us"
                for runtime, seconds in loop.items()}
    return [
        Row(f"{SMALL_WRITES:,} small writes: whole run", _ms(builtin), _ms(wasmtime),
            _ratio(builtin.median, wasmtime.median), ""),
        Row("  per os.write (timed in the guest)", per_call["builtin"], per_call["wasmtime"],
            _ratio(loop["builtin"], loop["wasmtime"]), ""),
    ]


def _download(bench: Bench, port: int, scheme: str, size: int,
              ca_file: Path | None = None) -> str:
    script = bench.script("download.py", DOWNLOAD)
    # With TLS the certificate is checked against this address (its IP SAN).
    args = [script.name, SERVER_ADDRESS, str(port), scheme]
    rates = []
    for _ in range(DOWNLOAD_RUNS):
        _, stdout = bench.run("builtin", args, ca_file)
        report = json.loads(stdout)
        if report["bytes"] != size:
            raise MeasurementError(f"downloaded {report['bytes']} bytes of {size}")
        rates.append(report["bytes"] / report["seconds"] / 1e6)
    return f"{statistics.median(rates):.1f} MB/s"


def http_download(bench: Bench, payload: bytes) -> list[Row]:
    with payload_server(payload, None) as port:
        rate = _download(bench, port, "http", len(payload))
    return [Row(f"HTTP download, {len(payload) >> 20} MB", rate, "no sockets", "", "")]


def https_download(bench: Bench, payload: bytes) -> list[Row]:
    try:
        import trustme
    except ImportError as error:
        raise MeasurementError("needs the trustme package (requirements/test.txt) for a "
                               "test CA") from error
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(SERVER_ADDRESS).configure_cert(context)
    ca_file = bench.workdir / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    with payload_server(payload, context) as port:
        rate = _download(bench, port, "https", len(payload), ca_file)
    return [Row(f"HTTPS (hTLS) download, {len(payload) >> 20} MB", rate, "no sockets", "", "")]


# -- report ---------------------------------------------------------------------------------


def format_table(rows: Sequence[Row]) -> str:
    header = Row("benchmark", "builtin", "wasmtime", "ratio", "target")
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    lines = []
    for index, row in enumerate((header, *rows)):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    options = build_parser().parse_args(argv)
    if options.runs < 1 or options.download_mb < 1:
        raise StageError("--runs and --download-mb must be at least 1")
    for path in (layout.PYTHON_WASM, layout.STDLIB_ZIP):
        if not path.is_file():
            raise StageError(f"{path} is missing: run `nox -s build` first")
    payload = os.urandom(options.download_mb << 20)
    rows: list[Row] = []
    failures = 0
    # The comparison is between this host's runtimes; a TIMECRAFT set for the
    # tests must not swap them for timecraft here.
    with tempfile.TemporaryDirectory(prefix="bench-host-") as scratch, \
            environment_without("TIMECRAFT"):
        bench = Bench(Path(scratch).resolve())
        workloads = [
            ("warm start", lambda: warm_start(bench, options.runs)),
            ("import-heavy start", lambda: import_heavy(bench, options.runs)),
            ("small writes", lambda: small_writes(bench, options.runs)),
            ("HTTP download", lambda: http_download(bench, payload)),
            ("HTTPS download", lambda: https_download(bench, payload)),
        ]
        for name, measure in workloads:
            say(f"bench: {name} ...")
            try:
                rows.extend(measure())
            except MeasurementError as error:
                failures += 1
                rows.append(Row(name, "failed", "", "", str(error)))
    say("")
    say(format_table(rows))
    say(f"\ntimes: median (and fastest) of {options.runs} warm runs, runtimes interleaved; "
        "ratio = builtin / wasmtime median")
    say(f"downloads: median of {DOWNLOAD_RUNS} runs, timed in the guest, built-in host only")
    return 1 if failures else 0
