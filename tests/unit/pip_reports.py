"""Installation reports as pip writes them (`pip install --report`), for the unit tests."""

from __future__ import annotations

from typing import Any

FILES = "https://files.example.test/packages"


def item(name: str, version: str, artifact: str, requires: tuple[str, ...] = (),
         requested: bool = False, **metadata: Any) -> dict[str, Any]:
    """One entry of a pip installation report, as pip writes it."""
    download = ({"url": "file:///work/project", "dir_info": {}} if artifact == "dir"
                else {"url": f"{FILES}/{artifact}", "archive_info": {"hashes": {"sha256": "0"}}})
    return {"metadata": {"name": name, "version": version, "requires_dist": list(requires),
                         **metadata},
            "requested": requested, "is_direct": artifact == "dir", "download_info": download}


FLASK_REPORT = {"version": "1", "install": [
    item("Flask", "3.1.3", "flask-3.1.3-py3-none-any.whl", requested=True,
         requires=("Werkzeug>=3.1", "Jinja2>=3.1.2", "click>=8.1.3",
                   "asgiref>=3.2; extra == 'async'", "python-dotenv; extra == 'dotenv'")),
    item("Werkzeug", "3.1.9", "werkzeug-3.1.9-py3-none-any.whl", requires=("MarkupSafe>=2.1.1",
         "watchdog>=2.3; extra == 'watchdog'")),
    item("Jinja2", "3.1.6", "jinja2-3.1.6-py3-none-any.whl",
         requires=("MarkupSafe>=2.0", "Babel>=2.7; extra == 'i18n'"),
         provides_extra=["i18n"]),
    item("MarkupSafe", "3.0.4",
         "markupsafe-3.0.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"),
    item("click", "8.5.1", "click-8.5.1-py3-none-any.whl",
         requires=('colorama; platform_system == "Windows"',)),
    item("PyYAML", "6.0.4", "pyyaml-6.0.4.tar.gz", requested=True),
]}
