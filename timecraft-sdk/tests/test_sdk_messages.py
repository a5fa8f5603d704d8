from __future__ import annotations

import pytest

from timecraft import HTTPRequest, HTTPResponse, ModuleSpec, TaskRequest, TaskResponse, TaskState
from timecraft.messages import decode_bytes


def test_a_task_request_uses_the_proto3_json_mapping() -> None:
    task = TaskRequest(
        ModuleSpec("/app/python.wasm", ["worker.py"], {"MODE": "a=b"}),
        HTTPRequest(8080, "POST", "/jobs", {"X-Id": "7"}, b"\x00\xffdata"))
    assert task.to_json() == {
        "module": {"path": "/app/python.wasm", "args": ["worker.py"], "env": ["MODE=a=b"]},
        "httpRequest": {"method": "POST", "path": "/jobs", "port": 8080,
                        "headers": [{"name": "X-Id", "value": "7"}], "body": "AP9kYXRh"},
    }


def test_default_values_are_left_out() -> None:
    assert HTTPResponse(200).to_json() == {"statusCode": 200}
    assert ModuleSpec("m.wasm").to_json() == {"path": "m.wasm"}


def test_a_module_spec_round_trips_with_its_proxy() -> None:
    spec = ModuleSpec("a.wasm", ["x"], {"A": "1"}, "run", ModuleSpec("proxy.wasm"))
    encoded = spec.to_json()
    assert encoded["outboundProxy"] == {"path": "proxy.wasm"} and encoded["function"] == "run"
    assert ModuleSpec.from_json(encoded) == spec


def test_http_messages_round_trip() -> None:
    request = HTTPRequest(3000, "PUT", "/x", {"A": "b"}, b"body")
    assert HTTPRequest.from_json(request.to_json()) == request
    response = HTTPResponse(404, {"Content-Type": "text/plain"}, b"missing")
    assert HTTPResponse.from_json(response.to_json()) == response


def test_int64_fields_are_read_from_strings_or_numbers() -> None:
    assert HTTPRequest.from_json({"port": "8080"}).port == 8080
    assert HTTPResponse.from_json({"statusCode": 201}).status_code == 201


def test_repeated_headers_are_joined() -> None:
    response = HTTPResponse.from_json({"headers": [{"name": "Vary", "value": "a"},
                                                   {"name": "Vary", "value": "b"}]})
    assert response.headers == {"Vary": "a, b"}


@pytest.mark.parametrize("text", ["aGk=", "aGk", "aGk_-w", ""])
def test_bytes_accept_any_base64_alphabet_and_padding(text: str) -> None:
    assert decode_bytes(text) == {"aGk=": b"hi", "aGk": b"hi", "aGk_-w": b"hi?\xfb",
                                  "": b""}[text]


def test_a_task_response_decodes_every_field() -> None:
    response = TaskResponse.from_json({
        "taskId": "t1", "state": "TASK_STATE_SUCCESS", "processId": "p1",
        "httpResponse": {"statusCode": 200, "body": "b2s="}})
    assert response == TaskResponse("t1", TaskState.SUCCESS, "p1", "", HTTPResponse(200, {},
                                                                                    b"ok"))
    assert response.state.is_final


def test_a_task_response_without_optional_fields() -> None:
    response = TaskResponse.from_json({"taskId": "t2", "state": 1})
    assert response.state is TaskState.QUEUED and not response.state.is_final
    assert response.process_id is None and response.http_response is None
    assert TaskResponse.from_json({}).state is TaskState.UNSPECIFIED
