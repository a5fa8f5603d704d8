"""`nox -s bench-guest` installs requirements/bench.txt only: its code must not need test packages."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

from scripts import layout
from scripts.requirement_files import logical_lines, requirement_name

REQUIREMENTS = layout.REPO / "requirements"


def pinned(path: Path) -> set[str]:
    return {name for line in logical_lines(path.read_text()) if (name := requirement_name(line))}


def test_bench_guest_imports_without_the_test_packages() -> None:
    # The guest harness once imported pytest, and bench-guest failed at its
    # first line; this runs the import with every test-only package hidden.
    test_only = pinned(REQUIREMENTS / "test.txt") - pinned(REQUIREMENTS / "bench.txt")
    hidden = sorted(module for module, dists in importlib.metadata.packages_distributions().items()
                    if {requirement_name(dist) for dist in dists} <= test_only)
    assert "pytest" in hidden
    program = ("import sys\n"
               f"for name in {hidden!r}:\n"
               "    sys.modules[name] = None  # importing it now raises ImportError\n"
               "import benchmarks.guest\n")
    result = subprocess.run([sys.executable, "-c", program], cwd=layout.REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
