"""Session `lock`: compile requirements/*.in into hash-pinned requirements/*.txt."""

from __future__ import annotations

import sys

from scripts import layout
from scripts.shell import StageError, run

REQUIREMENTS = layout.REPO / "requirements"


def main() -> int:
    for source in sorted(REQUIREMENTS.glob("*.in")):
        try:
            run([sys.executable, "-m", "piptools", "compile", "--quiet", "--generate-hashes",
                 "--allow-unsafe", "--strip-extras", "--no-emit-index-url",
                 "--no-emit-find-links", "--no-emit-trusted-host", "--upgrade",
                 "--output-file", source.with_suffix(".txt").name, source.name],
                cwd=REQUIREMENTS)
        except StageError as error:
            print(f"error: lock: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
