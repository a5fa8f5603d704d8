from __future__ import annotations

from pathlib import Path

from scripts.stamps import Stamp, fingerprint


def test_fingerprint_follows_file_content_and_names(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_text("one")
    first = fingerprint(tree, "flag")
    assert fingerprint(tree, "flag") == first
    (tree / "a.txt").write_text("two")
    assert fingerprint(tree, "flag") != first
    (tree / "a.txt").write_text("one")
    assert fingerprint(tree, "flag") == first
    (tree / "b.txt").write_text("")
    assert fingerprint(tree, "flag") != first


def test_fingerprint_distinguishes_text_inputs_and_missing_paths(tmp_path: Path) -> None:
    assert fingerprint("a", "b") != fingerprint("ab")
    missing = tmp_path / "nothing"
    empty = tmp_path / "empty"
    empty.write_text("")
    assert fingerprint(missing) != fingerprint(empty)


def test_stamp_matches_only_its_key_while_outputs_are_untouched(tmp_path: Path) -> None:
    output = tmp_path / "out.bin"
    output.write_text("built")
    stamp = Stamp(tmp_path / "stamps" / "stage", outputs=[output])
    assert not stamp.matches("k1")
    stamp.record("k1")
    assert stamp.matches("k1")
    assert not stamp.matches("k2")
    output.write_text("edited by hand")
    assert not stamp.matches("k1")
    output.unlink()
    assert not stamp.matches("k1")


def test_a_corrupt_stamp_file_never_matches(tmp_path: Path) -> None:
    stamp = Stamp(tmp_path / "stamp")
    stamp.path.write_text("{not json")
    assert not stamp.matches("k")
