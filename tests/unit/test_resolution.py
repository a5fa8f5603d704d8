"""Reading pip's installation reports: chains, pure wheels, older major versions."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version
from pip_reports import FLASK_REPORT, item

from scripts.resolution import Downgrade, Resolution, downgrades, is_pure_tagged, major


def test_the_chain_is_the_shortest_path_from_a_requested_package() -> None:
    resolution = Resolution.from_report(FLASK_REPORT)
    assert resolution.chain(canonicalize_name("MarkupSafe")) == ["flask", "jinja2", "markupsafe"]
    assert resolution.chain(canonicalize_name("pyyaml")) == ["pyyaml"]
    assert resolution.chain(canonicalize_name("click")) == ["flask", "click"]


def test_edges_follow_names_markers_and_extras() -> None:
    packages = Resolution.from_report(FLASK_REPORT).packages
    assert packages[canonicalize_name("flask")].requires == {"werkzeug", "jinja2", "click"}
    assert packages[canonicalize_name("click")].requires == frozenset()  # colorama: Windows only
    assert packages[canonicalize_name("flask")].requested
    assert not packages[canonicalize_name("jinja2")].requested
    assert packages[canonicalize_name("markupsafe")].version == Version("3.0.4")


def test_an_extra_someone_asked_for_is_an_edge() -> None:
    report = {"install": [
        item("app", "1.0", "app-1.0-py3-none-any.whl", requested=True, requires=("jinja2[i18n]",)),
        *FLASK_REPORT["install"][2:3],
        item("Babel", "2.17.0", "babel-2.17.0-py3-none-any.whl"),
    ]}
    resolution = Resolution.from_report(report)
    assert resolution.chain(canonicalize_name("babel")) == ["app", "jinja2", "babel"]
    assert resolution.needs(canonicalize_name("app")) == {"app", "jinja2", "babel"}


def test_what_pip_chose_is_pure_a_local_project_or_neither() -> None:
    report = {"install": [*FLASK_REPORT["install"], item("sdk", "1.0", "dir", requested=True)]}
    packages = Resolution.from_report(report).packages
    assert packages[canonicalize_name("flask")].is_pure_wheel
    assert not packages[canonicalize_name("markupsafe")].is_pure_wheel
    assert not packages[canonicalize_name("pyyaml")].is_pure_wheel
    assert not packages[canonicalize_name("pyyaml")].is_local
    assert packages[canonicalize_name("sdk")].is_local
    assert not packages[canonicalize_name("sdk")].is_pure_wheel


@pytest.mark.parametrize(("name", "pure"), [
    ("six-1.17.0-py2.py3-none-any.whl", True),
    ("a-1.0-py311-none-any.whl", True),
    ("a-1.0-py3-none-manylinux_2_17_x86_64.whl", False),
    ("a-1.0-cp311-none-any.whl", False),
    ("a-1.0-cp311-abi3-manylinux_2_17_x86_64.whl", False),
    ("a-1.0-py2-none-any.whl", False),
    ("a-1.0.tar.gz", False),
    ("not a wheel.whl", False),
])
def test_pure_tags(name: str, pure: bool) -> None:
    assert is_pure_tagged(name) is pure


@pytest.mark.parametrize(("version", "expected"), [
    ("2.14.4", (2,)), ("1", (1,)), ("0.28.1", (0, 28)), ("0", (0, 0)), ("2025.1rc1", (2025,))])
def test_major(version: str, expected: tuple[int, ...]) -> None:
    assert major(Version(version)) == expected


def report_of(**versions: str) -> Resolution:
    return Resolution.from_report({"install": [
        item(name, version, f"{name}-{version}-py3-none-any.whl", requested=True)
        for name, version in versions.items()]})


def test_older_versions_in_the_guest_are_downgrades() -> None:
    ordinary = report_of(pydantic="2.14.4", httpx="0.28.1", attrs="26.1.0", jsonschema="4.26.0")
    guest = report_of(pydantic="1.10.26", httpx="0.27.2", attrs="26.1.0", jsonschema="4.17.3")
    found = downgrades(ordinary, guest)
    assert found == [
        Downgrade(canonicalize_name("httpx"), Version("0.27.2"), Version("0.28.1"), True),
        Downgrade(canonicalize_name("jsonschema"), Version("4.17.3"), Version("4.26.0"), True),
        Downgrade(canonicalize_name("pydantic"), Version("1.10.26"), Version("2.14.4"), True)]
    assert [downgrade.is_major for downgrade in found] == [True, False, True]
    assert [downgrade.pin for downgrade in found if downgrade.is_major] == ["httpx<0.28",
                                                                            "pydantic<2"]
    fastapi = Downgrade(canonicalize_name("fastapi"), Version("0.125.0"), Version("0.165.0"), True)
    assert fastapi.pin == "fastapi<0.126"  # not <0.165: 0.164 may need the same native code
    assert downgrades(ordinary, ordinary) == []


@pytest.mark.parametrize(("requires_python", "supported"), [
    ("", True), (">=3.9", True), (">=3.11.5", False), ("<3.11", False), ("not a specifier", True)])
def test_requires_python_against_the_guest(requires_python: str, supported: bool) -> None:
    package = Resolution.from_report({"install": [
        item("a", "1.0", "a-1.0-py3-none-any.whl", requires_python=requires_python)]}
        ).packages[canonicalize_name("a")]
    assert package.supports(Version("3.11.2")) is supported
