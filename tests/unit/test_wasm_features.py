from __future__ import annotations

from pathlib import Path

import pytest

from scripts import wasm_features
from scripts.shell import StageError


def leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def name(text: str) -> bytes:
    return leb(len(text)) + text.encode()


def section(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + leb(len(body)) + body


def module(tmp_path: Path, features: list[tuple[str, str]] | None) -> Path:
    """A module with a type section, a custom `name`-like section, and the features
    wasm-ld records as (prefix, name) entries."""
    body = wasm_features.MAGIC + section(1, b"\x01\x60\x00\x00") + section(0, name("producers") + b"\x00")
    if features is not None:
        entries = b"".join(prefix.encode() + name(feature) for prefix, feature in features)
        body += section(0, name("target_features") + leb(len(features)) + entries)
    path = tmp_path / "module.wasm"
    path.write_bytes(body)
    return path


def test_the_features_clang_19_turns_on_are_core_2_0(tmp_path: Path) -> None:
    path = module(tmp_path, [("+", "multivalue"), ("+", "mutable-globals"),
                             ("+", "reference-types"), ("+", "sign-ext")])
    assert wasm_features.used_features(path) == {"multivalue", "mutable-globals", "reference-types",
                                                 "sign-ext"}
    wasm_features.check_core_2_0(path)


def test_a_feature_beyond_core_2_0_is_refused_with_the_flag_that_turns_it_off(tmp_path: Path) -> None:
    path = module(tmp_path, [("+", "sign-ext"), ("+", "tail-call"), ("+", "exception-handling"),
                             ("-", "atomics")])
    with pytest.raises(StageError) as error:
        wasm_features.check_core_2_0(path)
    message = str(error.value)
    assert "exception-handling, tail-call" in message
    assert "-mno-exception-handling -mno-tail-call" in message
    # A feature marked disallowed ("-") is not used.
    assert "atomics" not in message


def test_a_module_without_the_section_cannot_be_checked(tmp_path: Path) -> None:
    path = module(tmp_path, None)
    assert wasm_features.used_features(path) is None
    with pytest.raises(StageError, match="no target_features section"):
        wasm_features.check_core_2_0(path)


def test_a_truncated_section_is_reported_not_crashed_on(tmp_path: Path) -> None:
    path = module(tmp_path, [("+", "sign-ext")])
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(StageError, match="truncated"):
        wasm_features.used_features(path)
    path.write_bytes(b"not wasm")
    with pytest.raises(StageError, match="not a WebAssembly module"):
        wasm_features.used_features(path)
