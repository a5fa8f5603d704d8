"""Last step of `nox -s build`: dist/manifest.json and a short summary of what was built."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from scripts import layout, sources, toolchain
from scripts.options import BuildOptions, parse_build_options
from scripts.shell import StageError, say
from scripts.stamps import file_sha256, files_under

# Our own inputs, recorded by content so two builds can be compared.
OWN_INPUTS = (layout.LIBC_PATCHES, layout.SOCKETS_SRC, layout.CLIBS, layout.CPYTHON_PATCHES,
              layout.CONFIG_SITE, layout.OVERLAY_LIB, layout.SOURCES_LOCK)


def own_input_hashes() -> dict[str, str]:
    return {path.relative_to(layout.REPO).as_posix(): file_sha256(path)
            for root in OWN_INPUTS for path in files_under(root)}


def used_sources() -> dict[str, dict[str, str]]:
    result = {}
    for name, source in sources.load_lock().items():
        cached = [o for o in source.origins if sources.cached_path(o).is_file()]
        origin = cached[0] if cached else source.origins[0]
        hash_kind = "tree_sha256" if origin.git else "sha256"
        result[name] = {"version": source.version, "file": origin.file,
                        hash_kind: origin.expected_hash, "origin": origin.label}
    return result


def describe_output(path: Path) -> dict[str, object]:
    return {"path": path.relative_to(layout.REPO).as_posix(), "size": path.stat().st_size,
            "sha256": file_sha256(path)}


def manifest(options: BuildOptions, tools: toolchain.Toolchain) -> dict[str, object]:
    return {
        "sources": used_sources(),
        "inputs": own_input_hashes(),
        "outputs": {path.name: describe_output(path)
                    for path in (layout.PYTHON_WASM, layout.STDLIB_ZIP)},
        "toolchain": {"versions": tools.versions, "cc": tools.cc, "ar": tools.ar,
                      "wasm_ld": tools.wasm_ld, "wasm_opt": tools.wasm_opt},
        "options": options.describe(),
    }


def main(argv: Sequence[str], strict: bool) -> int:
    options = parse_build_options("build", argv, strict=strict)
    for path in (layout.PYTHON_WASM, layout.STDLIB_ZIP):
        if not path.is_file():
            raise StageError(f"{path} is missing: the optimize and stdlib stages did not finish")
    data = manifest(options, toolchain.load())
    temp = layout.MANIFEST.with_name(layout.MANIFEST.name + ".tmp")
    temp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(temp, layout.MANIFEST)
    outputs = data["outputs"]
    assert isinstance(outputs, dict)
    say("")
    say(f"Built ({options.variant}{', not optimized' if not options.optimize else ''}):")
    for name, info in outputs.items():
        say(f"  dist/{name:15} {info['size'] / 1e6:6.1f} MB")
    say("  dist/manifest.json  versions, options and sha256 of every input and output")
    say("Run it:  nox -s run -- -c 'import sys; print(sys.version)'   (or a script, or nothing for the REPL)")
    return 0
