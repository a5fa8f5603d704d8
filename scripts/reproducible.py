"""Reproducible artifacts: the same commit builds the same bytes in any directory.

Two things would otherwise differ between two checkouts: the checkout's own
path, which compilers write into `__FILE__` strings and debug info and which
CPython's build configuration records, and the build date in `sys.version`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from scripts import layout
from scripts.shell import StageError, output, say
from scripts.stamps import files_under

EPOCH_VARIABLE = "SOURCE_DATE_EPOCH"
# What the checkout's path becomes inside artifacts: paths relative to the
# checkout, which debuggers started there still resolve.
CHECKOUT_PATH = "."


def prefix_map_flags() -> list[str]:
    """C compiler flags that write paths under the checkout relative to it.

    -ffile-prefix-map covers both __FILE__ (the macro prefix map) and debug
    information (the debug prefix map).
    """
    return [f"-ffile-prefix-map={layout.REPO}={CHECKOUT_PATH}"]


def without_checkout_path(text: str) -> str:
    """`text` with the checkout's path replaced as the compiler flags replace it."""
    return text.replace(str(layout.REPO), CHECKOUT_PATH)


def dated_inputs() -> tuple[Path, ...]:
    """What the build date follows: our build inputs and the stages that build them."""
    return (*layout.OWN_INPUTS, layout.REPO / "scripts")


def source_date_epoch(env: Mapping[str, str] | None = None) -> int:
    """The build date, in seconds since 1970: $SOURCE_DATE_EPOCH, else the date of
    the last commit that changed the build's inputs or stages.

    A commit that changes only documentation or tests keeps the date, so the
    next build does not link python.wasm again. Outside a git checkout (a
    source tarball, a copy) it falls back to the newest modification time of
    those inputs, and says so.
    """
    env = os.environ if env is None else env
    value = env.get(EPOCH_VARIABLE, "")
    if value:
        if not value.isdigit():
            raise StageError(f"{EPOCH_VARIABLE}={value!r} is not a whole number of seconds "
                             f"since 1970: set it to one (such as `git log -1 --format=%ct`), "
                             "or unset it to use the commit's date")
        return int(value)
    log: list[str | Path] = ["git", "-C", layout.REPO, "log", "-1", "--format=%ct"]
    try:
        paths = [str(path.relative_to(layout.REPO)) for path in dated_inputs()]
        # In a history where no commit touches them, the newest commit dates the build.
        return int(output([*log, "--", *paths]) or output(log))
    except (StageError, ValueError) as error:
        newest = max((path.stat().st_mtime for root in dated_inputs()
                      for path in files_under(root)), default=0.0)
        say(f"build date: no commit date ({str(error).splitlines()[0]}); using the newest "
            f"modification time of the build's inputs; set {EPOCH_VARIABLE} to choose it")
        return int(newest)
