"""Exercises the timecraft API from inside the guest; prints one JSON report.

`python sdk_client.py spawn|tasks PYTHON_WASM PORT`: workers are python.wasm
running the sdk_*worker.py programs next to this file.
"""

import json
import os
import sys
import time

import requests

from timecraft import (Client, HTTPRequest, ModuleSpec, TaskRequest,
                       TimecraftError)

SCENARIO, PYTHON_WASM, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = ModuleSpec(PYTHON_WASM, [os.path.join(HERE, "sdk_worker.py"), str(PORT)])
# Another module spec, hence another worker: its crash cannot hit the first's tasks.
CRASHING = ModuleSpec(PYTHON_WASM, WORKER.args, {"WORKER_ROLE": "crash"})
FAILING = ModuleSpec(PYTHON_WASM, [os.path.join(HERE, "sdk_failing_worker.py")])


def wait_for(url: str) -> requests.Response:
    deadline = time.monotonic() + 120
    while True:
        try:
            return requests.get(url, timeout=30)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def spawned_worker(client: Client) -> dict:
    process_id, address = client.spawn(WORKER)
    echo = wait_for(f"http://{address}:{PORT}/hello").json()
    client.kill(process_id)
    try:
        requests.get(f"http://{address}:{PORT}/", timeout=5)
        reachable_after_kill = True
    except requests.ConnectionError:
        reachable_after_kill = False
    try:
        client.kill(process_id)
        second_kill = "accepted"
    except TimecraftError as error:
        second_kill = f"{error.status} {error.code}"
    return {"address": address, "path": echo["path"],
            "reachable_after_kill": reachable_after_kill, "second_kill": second_kill,
            "distinct_id": process_id != client.process_id()}


def tasks(client: Client) -> dict:
    good, crash, failing = client.submit_tasks([
        TaskRequest(WORKER, HTTPRequest(PORT, "POST", "/task", {"X-Greeting": "hi"}, b"payload")),
        TaskRequest(CRASHING, HTTPRequest(PORT, "GET", "/exit")),
        TaskRequest(FAILING, HTTPRequest(PORT)),
    ])
    polled = {}
    deadline = time.monotonic() + 240
    while len(polled) < 3 and time.monotonic() < deadline:
        for response in client.poll_tasks(batch_size=3, timeout_ns=5_000_000_000):
            polled[response.task_id] = response
    looked_up = {response.task_id: response for response in client.lookup_tasks([good, crash,
                                                                                 failing])}
    result = looked_up[good]
    client.discard_tasks([good, crash, failing])
    try:
        client.lookup_tasks([good])
        after_discard = "found"
    except TimecraftError as error:
        after_discard = f"{error.status} {error.code}"
    return {
        "polled": sorted(polled) == sorted([good, crash, failing]),
        "states": {name: looked_up[task_id].state.name
                   for name, task_id in (("good", good), ("crash", crash), ("failing", failing))},
        "status": result.http_response.status_code,
        "worker_header": result.http_response.headers.get("X-Worker"),
        "echo": json.loads(result.http_response.body),
        "has_process": bool(result.process_id),
        "crash_error": looked_up[crash].error_message,
        "failing_error": looked_up[failing].error_message,
        "after_discard": after_discard,
        "final_states": all(response.state.is_final for response in polled.values()),
    }


with Client() as client:
    print(json.dumps({"spawn": spawned_worker, "tasks": tasks}[SCENARIO](client)))
