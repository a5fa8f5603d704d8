"""A small Flask app: serve two requests on 127.0.0.1 at a free port, then exit.

GET /greet?name=... renders templates/greet.html (autoescaped by Jinja2 and
MarkupSafe); POST /echo renders the submitted form fields. The first line
printed is the port, so whoever started this knows where to connect.
"""

import sys

from flask import Flask, render_template, request
from werkzeug.serving import make_server

REQUESTS = 2
WAIT_SECONDS = 30

app = Flask(__name__)


@app.get("/greet")
def greet() -> str:
    return render_template("greet.html", name=request.args.get("name", "nobody"),
                           items=["jinja2", "markupsafe", "werkzeug"])


@app.post("/echo")
def echo() -> str:
    return render_template("echo.html", form=request.form)


def give_up() -> None:
    sys.exit(f"no request within {WAIT_SECONDS} s")


server = make_server("127.0.0.1", 0, app)
server.timeout = WAIT_SECONDS
server.handle_timeout = give_up  # type: ignore[method-assign]
print(server.server_address[1], flush=True)
for _ in range(REQUESTS):
    server.handle_request()
server.server_close()
