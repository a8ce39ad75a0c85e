"""Faults and throttling over the local endpoint: the admin surface, boto3 and the AWS CLI retrying."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mock_iotprov.doors.server import IotProvisioningServer
from mock_iotprov.faults import MAX_FAULTS
from mock_iotprov.throttling import Throttle
from tests.helpers import SIMPLE_TEMPLATE, error_of
from tests.retry_helpers import fast_retries
from tests.test_server_cli import Cli

FAULTS = "/_mock_iotprov/faults"


@pytest.fixture
def server() -> Iterator[IotProvisioningServer]:
    with IotProvisioningServer(port=0) as running:
        yield running


def admin(server: IotProvisioningServer, method: str, body: Any = None, raw: bytes | None = None) -> Any:
    """(status, JSON document) of one request to the faults resource."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        headers = {"Content-Type": "application/json"} if method in ("POST", "PUT") else {}
        connection.request(
            method, FAULTS, body=payload if method in ("POST", "PUT") else None, headers=headers
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null"), response.getheader("Allow")
    finally:
        connection.close()


def client(server: IotProvisioningServer, mode: str = "standard", max_attempts: int | None = None) -> Any:
    retries: dict[str, Any] = {"mode": mode}
    if max_attempts is not None:
        retries["total_max_attempts"] = max_attempts
    return boto3.client(
        "iot",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries=retries),
    )


def register(iot: Any, name: str = "thing-1") -> Any:
    return iot.register_thing(templateBody=SIMPLE_TEMPLATE, parameters={"ThingName": name})


def test_post_arms_get_lists_with_counts_delete_clears(server: IotProvisioningServer) -> None:
    status, created, _ = admin(server, "POST", {"operation": "RegisterThing", "times": 2})
    assert status == 201
    assert created == {
        "id": created["id"],
        "operation": "RegisterThing",
        "code": "ThrottlingException",
        "times": 2,
        "probability": 1.0,
        "latency_s": 0.0,
        "seed": None,
        "fired": 0,
        "exhausted": False,
    }
    status, _, _ = admin(
        server, "POST", {"operation": "*", "code": None, "times": None, "latency_s": 0.001, "seed": 3}
    )
    assert status == 201
    iot = client(server, max_attempts=1)
    with pytest.raises(ClientError) as excinfo:
        register(iot)
    assert error_of(excinfo) == ("ThrottlingException", 400, "Rate exceeded")  # the first fault decides
    assert iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]  # delayed by "*" only

    status, listed, _ = admin(server, "GET")
    assert status == 200
    assert [(f["operation"], f["fired"], f["exhausted"]) for f in listed["faults"]] == [
        ("RegisterThing", 1, False),
        ("*", 1, False),
    ]

    assert admin(server, "DELETE")[:2] == (200, {"status": "ok", "cleared": 2})
    assert admin(server, "GET")[:2] == (200, {"faults": []})
    assert register(iot)["resourceArns"]["thing"].endswith(":thing/thing-1")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "must be a JSON object"),
        (b"[1]", "must be a JSON object"),
        (b"", "must be a JSON object"),
        (b'{"code": "ThrottlingException"}', "'operation' is required"),
        (b'{"operation": "CreateThing", "retries": 1}', "Unknown fields ['retries']"),
        (b'{"operation": "CreateThing", "code": "DeleteConflictException"}', "allowed codes:"),
        (b'{"operation": "NoSuchOperation"}', "not an operation"),
        (b'{"operation": "CreateThing", "times": 0}', "times must be at least 1"),
        (b'{"operation": "CreateThing", "times": "2"}', "times must be"),
        (b'{"operation": "CreateThing", "probability": 2}', "probability must be between 0 and 1"),
        (b'{"operation": "CreateThing", "latency_s": 1e400}', "latency_s must be between"),
        (b'{"operation": 7}', "operation must be"),
        (b'{"operation": "CreateThing", "seed": 1' + b"0" * 5000 + b"}", "must be a JSON object"),
        (b"[" * 200_000, "must be a JSON object"),
        (b"\xff\xfe", "must be a JSON object"),
    ],
)
def test_invalid_faults_are_a_400_saying_why(server: IotProvisioningServer, raw: bytes, message: str) -> None:
    status, document, _ = admin(server, "POST", raw=raw)
    assert status == 400
    assert message in document["message"]
    assert admin(server, "GET")[1] == {"faults": []}


def test_other_methods_are_a_405_and_the_table_is_bounded(server: IotProvisioningServer) -> None:
    status, _, allow = admin(server, "PUT", {"operation": "CreateThing"})
    assert (status, allow) == (405, "GET, POST, DELETE")
    for _ in range(MAX_FAULTS):
        assert admin(server, "POST", {"operation": "CreateThing", "times": None})[0] == 201
    status, document, _ = admin(server, "POST", {"operation": "CreateThing"})
    assert status == 400 and f"at most {MAX_FAULTS}" in document["message"]


@pytest.mark.parametrize("mode", ["legacy", "standard", "adaptive"])
def test_boto3_with_endpoint_url_retries_injected_throttles(
    server: IotProvisioningServer, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays = fast_retries(monkeypatch)
    fault = server.inject_fault("RegisterThing", times=2)
    iot = client(server, mode)

    response = register(iot)

    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert fault.fired == 2 and len(delays) == 2
    assert [t["thingName"] for t in iot.list_things()["things"]] == ["thing-1"]


def test_boto3_with_one_attempt_gets_the_error_and_no_state_changes(server: IotProvisioningServer) -> None:
    assert (
        admin(server, "POST", {"operation": "CreateThing", "code": "ServiceUnavailableException"})[0] == 201
    )
    iot = client(server, max_attempts=1)
    with pytest.raises(ClientError) as excinfo:
        iot.create_thing(thingName="t")
    assert error_of(excinfo)[:2] == ("ServiceUnavailableException", 503)
    assert iot.list_things()["things"] == []


def test_latency_delays_the_http_answer(server: IotProvisioningServer) -> None:
    waited: list[float] = []
    server.faults.sleep = waited.append
    assert admin(server, "POST", {"operation": "CreateThing", "code": None, "latency_s": 2.5})[0] == 201
    client(server, max_attempts=1).create_thing(thingName="slow")
    assert waited == [2.5]


def test_a_throttled_server_answers_beyond_the_documented_rate() -> None:
    clock_now = [0.0]
    with IotProvisioningServer(port=0, throttle=Throttle(lambda: clock_now[0])) as throttled:
        iot = client(throttled, max_attempts=1)
        for index in range(10):
            register(iot, f"t{index}")
        with pytest.raises(ClientError) as excinfo:
            register(iot, "t10")
        assert error_of(excinfo)[:2] == ("ThrottlingException", 400)
        clock_now[0] += 0.1
        register(iot, "t10")
        assert len(iot.list_things()["things"]) == 11


@pytest.mark.parametrize(("mode", "attempts"), [("legacy", "3"), ("standard", "3")])
def test_the_aws_cli_retries_injected_throttles(
    server: IotProvisioningServer, tmp_path: Path, mode: str, attempts: str
) -> None:
    aws = Cli(server.url, tmp_path)
    aws.env.update(AWS_RETRY_MODE=mode, AWS_MAX_ATTEMPTS=attempts)
    fault = server.inject_fault("CreateThing", times=2)

    created = aws.json("create-thing", "--thing-name", "from-cli")

    assert created["thingName"] == "from-cli"
    assert fault.fired == 2
    assert [t["thingName"] for t in aws.json("list-things")["things"]] == ["from-cli"]


def test_the_aws_cli_with_one_attempt_reports_the_throttling(
    server: IotProvisioningServer, tmp_path: Path
) -> None:
    aws = Cli(server.url, tmp_path)
    aws.env.update(AWS_RETRY_MODE="standard", AWS_MAX_ATTEMPTS="1")
    server.inject_fault("CreateThing", times=2)

    done = aws.run("create-thing", "--thing-name", "from-cli")

    assert done.returncode != 0
    assert "ThrottlingException" in done.stderr and "Rate exceeded" in done.stderr
    assert aws.json("list-things")["things"] == []


def test_serve_throttle_applies_the_rates() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_iotprov", "serve", "--port", "0", "--no-mqtt", "--throttle"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    watchdog = threading.Timer(60.0, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert line.startswith("mock_iotprov listening on http://127.0.0.1:"), process.communicate()[1]
        iot = boto3.client(
            "iot",
            region_name="us-east-1",
            endpoint_url=line.split()[3],
            aws_access_key_id="x",
            aws_secret_access_key="y",
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        outcomes = []
        for _ in range(60):
            try:
                iot.describe_endpoint(endpointType="iot:Data-ATS")
                outcomes.append("ok")
            except ClientError as error:
                outcomes.append(error.response["Error"]["Code"])
    finally:
        watchdog.cancel()
        process.terminate()
        process.communicate(timeout=30)
    assert outcomes[:10] == ["ok"] * 10  # a full bucket: the default rate of 10 per second
    assert "ThrottlingException" in outcomes  # 60 requests come faster than 10 per second
