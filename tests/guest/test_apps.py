"""Real applications in python.wasm: a Flask app with Jinja2 templates, and PyYAML.

Their packages come from `nox -s deps` with the hash-pinned
requirements/guest-apps.txt: MarkupSafe and PyYAML publish no pure-Python
wheel, so this also exercises building them from their pinned sources.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from guest_harness import PROGRAMS, GuestRunner, first_line, talking_to

from scripts import deps, layout

APP_REQUIREMENTS = layout.REPO / "requirements" / "guest-apps.txt"
# Apart from the user's deps/ and from the other guest tests' packages.
APP_DEPS = layout.BUILD / "guest-test-apps"
IO_TIMEOUT = 10
GUEST_TIMEOUT = 90  # Flask's imports take a while in an interpreter without bytecode caching


@pytest.fixture(scope="session")
def app_deps() -> Path:
    """The pinned application packages, installed once. A failed install fails the tests."""
    deps.install(["--require-hashes", "-r", str(APP_REQUIREMENTS)], deps=APP_DEPS)
    return APP_DEPS


def test_the_packages_are_pure_python(app_deps: Path) -> None:
    compiled = [path for path in app_deps.rglob("*") if path.suffix in (".so", ".pyd", ".dylib")]
    assert compiled == []
    for name in ("flask", "jinja2", "markupsafe", "werkzeug", "yaml"):
        assert (app_deps / name / "__init__.py").is_file()


def test_a_flask_app_answers_get_and_post(guest: GuestRunner, app_deps: Path) -> None:
    if not guest.has_sockets:
        pytest.skip(f"the {guest.runtime} runtime has no sockets")
    process = guest.start([str(PROGRAMS / "flask_app.py")], grants=[PROGRAMS], deps=app_deps)
    with talking_to(process, "talking to the guest's Flask app"):
        port = int(first_line(process, GUEST_TIMEOUT))
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/greet?name=%3Cwasm%3E",
                                    timeout=IO_TIMEOUT) as response:
            got = (response.status, response.headers.get_content_type(),
                   response.read().decode())
        form = urllib.parse.urlencode([("name", "guest"), ("colour", "blue & green")])
        with urllib.request.urlopen(f"{base}/echo", data=form.encode(),
                                    timeout=IO_TIMEOUT) as response:
            posted = (response.status, response.read().decode())
        _, stderr = process.communicate(timeout=GUEST_TIMEOUT)
    assert process.returncode == 0, stderr
    assert got == (200, "text/html", ("<h1>Hello &lt;wasm&gt;!</h1>\n"
                   "<ul><li>jinja2</li><li>markupsafe</li><li>werkzeug</li></ul>"))
    assert posted == (200, "colour=blue &amp; green;name=guest;")


def test_yaml_round_trips(guest: GuestRunner, app_deps: Path) -> None:
    out = guest.python(
        "import json, yaml\n"
        "data = {'name': 'timecraft', 'items': [1, 2.5, None, True, 'yes'],\n"
        "        'nested': {'когда': 'сейчас', 'text': 'line1\\nline2'}}\n"
        "dumped = yaml.safe_dump(data, sort_keys=True, allow_unicode=True)\n"
        "loaded = yaml.safe_load(dumped)\n"
        "dates = yaml.safe_load('when: 2024-01-02\\nflag: yes\\n')\n"
        "print(json.dumps([dumped, loaded == data, dates['when'].isoformat(), dates['flag'],\n"
        "                  yaml.__with_libyaml__, yaml.__file__]))",
        deps=app_deps, timeout=GUEST_TIMEOUT)
    dumped, same, when, flag, with_libyaml, module = json.loads(out)
    assert dumped == ("items:\n- 1\n- 2.5\n- null\n- true\n- 'yes'\nname: timecraft\nnested:\n"
                      "  text: 'line1\n\n    line2'\n  когда: сейчас\n")
    assert (same, when, flag, with_libyaml) == (True, "2024-01-02", True, False)
    assert module == f"{app_deps}/yaml/__init__.py"
