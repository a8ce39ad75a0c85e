"""The local HTTP endpoint: boto3 through it, admin resources, bad HTTP, concurrency, and the CLI."""

from __future__ import annotations

import http.client
import json
import logging
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mock_iotprov import cli, mock_iot_provisioning
from mock_iotprov.doors.server import MAX_BODY_BYTES, IotProvisioningServer
from mock_iotprov.pki import get_pki

TEMPLATE_BODY = json.dumps(
    {
        "Parameters": {"ThingName": {"Type": "String"}, "AWS::IoT::Certificate::Id": {"Type": "String"}},
        "Resources": {
            "certificate": {
                "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "Active"},
                "Type": "AWS::IoT::Certificate",
            },
            "thing": {"Properties": {"ThingName": {"Ref": "ThingName"}}, "Type": "AWS::IoT::Thing"},
        },
    }
)
ROLE_ARN = "arn:aws:iam::123456789012:role/Provision_role"
SOCKET_TIMEOUT = 10.0
SIGV4_WEST_2 = (
    "AWS4-HMAC-SHA256 Credential=x/20240101/us-west-2/iot/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0123456789abcdef"
)


@pytest.fixture
def server() -> Iterator[IotProvisioningServer]:
    with IotProvisioningServer(port=0) as running:
        yield running


def iot_client(server: IotProvisioningServer | str, region: str = "us-west-2") -> Any:
    return boto3.client(
        "iot",
        endpoint_url=server if isinstance(server, str) else server.url,
        region_name=region,
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )


def template_json(name: str) -> bytes:
    document = {"templateName": name, "templateBody": TEMPLATE_BODY, "provisioningRoleArn": ROLE_ARN}
    return json.dumps(document).encode()


def connect(server: IotProvisioningServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT)


def read_response(sock: socket.socket, method: str = "GET") -> http.client.HTTPResponse:
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    return response


def exchange(server: IotProvisioningServer, raw: bytes) -> tuple[http.client.HTTPResponse, bytes]:
    """Send raw bytes on a new connection; the response and its body."""
    with connect(server) as sock:
        sock.sendall(raw)
        response = read_response(sock)
        return response, response.read()


def assert_closed_by_server(sock: socket.socket) -> None:
    try:
        assert sock.recv(1) == b""
    except ConnectionResetError:
        pass


def request(
    server: IotProvisioningServer, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=SOCKET_TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


# -- boto3 through the endpoint ------------------------------------------------------------------------


def test_boto3_creates_and_describes_a_provisioning_template(server: IotProvisioningServer) -> None:
    iot = iot_client(server)
    created = iot.create_provisioning_template(
        templateName="fleet", templateBody=TEMPLATE_BODY, provisioningRoleArn=ROLE_ARN, enabled=True
    )
    assert created["templateArn"] == "arn:aws:iot:us-west-2:123456789012:provisioningtemplate/fleet"
    assert created["defaultVersionId"] == 1
    described = iot.describe_provisioning_template(templateName="fleet")
    assert described["templateBody"] == TEMPLATE_BODY
    assert described["enabled"] is True
    assert described["provisioningRoleArn"] == ROLE_ARN
    assert described["type"] == "FLEET_PROVISIONING"


def test_service_errors_reach_boto3_as_client_errors(server: IotProvisioningServer) -> None:
    with pytest.raises(ClientError) as caught:
        iot_client(server).describe_provisioning_template(templateName="missing")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_each_region_has_its_own_state(server: IotProvisioningServer) -> None:
    west, east = iot_client(server, "us-west-2"), iot_client(server, "eu-central-1")
    west.create_provisioning_template(
        templateName="same", templateBody=TEMPLATE_BODY, provisioningRoleArn=ROLE_ARN
    )
    east.create_provisioning_template(
        templateName="same", templateBody=TEMPLATE_BODY, provisioningRoleArn=ROLE_ARN
    )
    assert east.describe_provisioning_template(templateName="same")["templateArn"].startswith(
        "arn:aws:iot:eu-central-1:"
    )
    west.delete_provisioning_template(templateName="same")
    assert [t["templateName"] for t in east.list_provisioning_templates()["templates"]] == ["same"]
    assert west.list_provisioning_templates()["templates"] == []
    assert iot_client(server, "ap-south-1").list_provisioning_templates()["templates"] == []


def test_account_id_of_the_server_is_used() -> None:
    with IotProvisioningServer(port=0, account_id="111122223333") as server:
        created = iot_client(server).create_provisioning_template(
            templateName="t", templateBody=TEMPLATE_BODY, provisioningRoleArn=ROLE_ARN
        )
    assert created["templateArn"] == "arn:aws:iot:us-west-2:111122223333:provisioningtemplate/t"


def test_unsigned_requests_are_answered_in_us_east_1(server: IotProvisioningServer) -> None:
    status, _, body = request(server, "POST", "/provisioning-templates", template_json("unsigned"))
    assert status == 200
    assert json.loads(body)["templateArn"].startswith("arn:aws:iot:us-east-1:")
    assert iot_client(server, "us-east-1").describe_provisioning_template(templateName="unsigned")


def test_region_comes_from_any_sigv4_credential_scope(server: IotProvisioningServer) -> None:
    status, _, body = request(
        server, "POST", "/provisioning-templates", template_json("signed"), Authorization=SIGV4_WEST_2
    )
    assert status == 200
    assert json.loads(body)["templateArn"].startswith("arn:aws:iot:us-west-2:")


def test_unimplemented_operation_is_a_501_not_implemented(server: IotProvisioningServer) -> None:
    status, headers, body = request(server, "GET", "/dimensions")  # ListDimensions (Device Defender)
    assert status == 501
    assert headers["x-amzn-errortype"] == "NotImplemented"
    assert "ListDimensions" in json.loads(body)["message"]


def test_state_is_shared_with_a_backend_passed_in() -> None:
    with IotProvisioningServer(port=0) as first:
        iot_client(first).create_provisioning_template(
            templateName="shared", templateBody=TEMPLATE_BODY, provisioningRoleArn=ROLE_ARN
        )
        with IotProvisioningServer(port=0, backend=first.backend) as second:
            assert iot_client(second).describe_provisioning_template(templateName="shared")


# -- admin resources -----------------------------------------------------------------------------------


def test_health(server: IotProvisioningServer) -> None:
    status, headers, body = request(server, "GET", "/_mock_iotprov/health")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert headers["content-type"] == "application/json"


def test_reset_empties_every_region(server: IotProvisioningServer) -> None:
    west, east = iot_client(server, "us-west-2"), iot_client(server, "us-east-1")
    for client in (west, east):
        client.create_provisioning_template(
            templateName="t", templateBody=TEMPLATE_BODY, provisioningRoleArn=ROLE_ARN
        )
    status, _, _ = request(server, "POST", "/_mock_iotprov/reset", b"")
    assert status == 200
    assert west.list_provisioning_templates()["templates"] == []
    assert east.list_provisioning_templates()["templates"] == []


def test_ca_bundle(server: IotProvisioningServer) -> None:
    status, headers, body = request(server, "GET", "/_mock_iotprov/ca.pem")
    assert status == 200
    assert headers["content-type"] == "application/x-pem-file"
    assert body.decode() == get_pki().ca_bundle_pem()
    assert body.count(b"-----BEGIN CERTIFICATE-----") >= 2


def test_admin_resources_check_method_and_name(server: IotProvisioningServer) -> None:
    status, headers, _ = request(server, "GET", "/_mock_iotprov/reset")
    assert (status, headers["allow"]) == (405, "POST")
    status, _, _ = request(server, "GET", "/_mock_iotprov/nothing")
    assert status == 404


# -- bad HTTP ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_line",
    [b"GARBAGE", b"GET /x y z HTTP/1.1", b"GET / HTTP/1.1 extra", b"GET / HTTP/x.y"],
)
def test_malformed_request_line_is_a_400(server: IotProvisioningServer, request_line: bytes) -> None:
    response, body = exchange(server, request_line + b"\r\nHost: 127.0.0.1\r\n\r\n")
    assert response.status == 400
    assert response.getheader("x-amzn-ErrorType") == "InvalidRequestException"
    assert json.loads(body)["message"]
    assert request(server, "GET", "/_mock_iotprov/health")[0] == 200


def test_oversized_content_length_is_a_413_without_reading_the_body(server: IotProvisioningServer) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST /provisioning-templates HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
            + b'{"templateName": '
        )
        response = read_response(sock, "POST")
        assert response.status == 413
        assert response.getheader("x-amzn-ErrorType") == "RequestEntityTooLargeException"
        assert response.getheader("Connection") == "close"
        response.read()
        assert_closed_by_server(sock)


def test_oversized_expect_100_continue_is_refused_before_the_body(server: IotProvisioningServer) -> None:
    response, _ = exchange(
        server,
        b"POST /provisioning-templates HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
        + f"Content-Length: {10 * MAX_BODY_BYTES}\r\n\r\n".encode(),
    )
    assert response.status == 413


def test_expect_100_continue_is_answered_before_the_body(server: IotProvisioningServer) -> None:
    body = template_json("expecting")
    with connect(server) as sock:
        sock.sendall(
            b"POST /provisioning-templates HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            interim += sock.recv(1)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        response = read_response(sock, "POST")
        assert response.status == 200
        assert json.loads(response.read())["templateName"] == "expecting"


def test_body_of_exactly_the_limit_is_read(server: IotProvisioningServer) -> None:
    body = b" " * (MAX_BODY_BYTES - 2) + b"{}"
    status, headers, _ = request(server, "POST", "/provisioning-templates", body)
    assert status == 400  # read and parsed: the required members are missing
    assert headers["x-amzn-errortype"] == "InvalidRequestException"


def test_unknown_path_is_an_aws_style_404(server: IotProvisioningServer) -> None:
    response, body = exchange(
        server, b"GET /no/such/thing HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert response.status == 404
    assert response.getheader("x-amzn-ErrorType") == "UnknownOperationException"
    assert "/no/such/thing" in json.loads(body)["message"]


def test_broken_json_is_a_400(server: IotProvisioningServer) -> None:
    status, headers, body = request(server, "POST", "/provisioning-templates", b'{"templateName": "x",')
    assert status == 400
    assert headers["x-amzn-errortype"] == "InvalidRequestException"
    assert json.loads(body)["message"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (b"", 411),
        (b"Content-Length: ten\r\n", 400),
        (b"Content-Length: -1\r\n", 400),
        (b"Content-Length: 5\r\nContent-Length: 6\r\n", 400),
        (b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 400),
        (b"Transfer-Encoding: gzip\r\n", 501),
    ],
)
def test_missing_or_invalid_length_is_refused(
    server: IotProvisioningServer, headers: bytes, status: int
) -> None:
    with connect(server) as sock:
        sock.sendall(b"POST /provisioning-templates HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n{}")
        response = read_response(sock, "POST")
        assert response.status == status
        assert response.getheader("Connection") == "close"
        assert json.loads(response.read())["message"]
        assert_closed_by_server(sock)


def test_chunked_bodies_are_decoded(server: IotProvisioningServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=SOCKET_TIMEOUT)
    body = template_json("chunked")
    connection.request(
        "POST", "/provisioning-templates", body=iter([body[:10], body[10:]]), encode_chunked=True
    )
    response = connection.getresponse()
    assert response.status == 200, response.read()
    response.read()
    connection.close()
    assert iot_client(server, "us-east-1").describe_provisioning_template(templateName="chunked")


def test_chunked_body_over_the_limit_is_a_413(server: IotProvisioningServer) -> None:
    chunk = b"x" * (MAX_BODY_BYTES // 2 + 1)
    raw = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    response, _ = exchange(
        server,
        b"POST /provisioning-templates HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        + raw
        + raw,
    )
    assert response.status == 413


def test_malformed_chunk_size_is_a_400(server: IotProvisioningServer) -> None:
    response, _ = exchange(
        server,
        b"POST /provisioning-templates HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
    )
    assert response.status == 400


def test_half_a_body_then_disconnect_does_not_disturb_other_clients(server: IotProvisioningServer) -> None:
    working = http.client.HTTPConnection("127.0.0.1", server.port, timeout=SOCKET_TIMEOUT)
    working.request("GET", "/_mock_iotprov/health")
    assert working.getresponse().read() == b'{"status":"ok"}'
    stalled = connect(server)  # sends half a body and stays silent while the other client works
    stalled.sendall(
        b'POST /provisioning-templates HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"temp'
    )
    for index in range(5):
        working.request("POST", "/provisioning-templates", body=template_json(f"t{index}"))
        assert working.getresponse().read()
        with connect(server) as leaving:  # and others leave mid-body
            leaving.sendall(b"PUT /x HTTP/1.1\r\nContent-Length: 50\r\n\r\nabc")
    stalled.close()
    working.request("GET", "/provisioning-templates")
    listed = json.loads(working.getresponse().read())
    assert sorted(t["templateName"] for t in listed["templates"]) == [f"t{i}" for i in range(5)]
    working.close()


def test_keep_alive_reuses_one_connection_and_honours_connection_close(server: IotProvisioningServer) -> None:
    with connect(server) as sock:
        for _ in range(3):
            sock.sendall(b"GET /_mock_iotprov/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            response = read_response(sock)
            assert response.getheader("Connection") is None
            assert response.read() == b'{"status":"ok"}'
        sock.sendall(b"GET /_mock_iotprov/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        response = read_response(sock)
        assert response.getheader("Connection") == "close"
        assert response.read() == b'{"status":"ok"}'
        assert_closed_by_server(sock)


def test_http_1_0_closes_unless_it_asks_for_keep_alive(server: IotProvisioningServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /_mock_iotprov/health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        response = read_response(sock)
        assert response.getheader("Connection") == "keep-alive"
        assert response.read() == b'{"status":"ok"}'
        sock.sendall(b"GET /_mock_iotprov/health HTTP/1.0\r\n\r\n")
        response = read_response(sock)
        assert response.getheader("Connection") == "close"
        assert response.read() == b'{"status":"ok"}'
        assert_closed_by_server(sock)


def test_head_has_headers_but_no_body(server: IotProvisioningServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"HEAD /_mock_iotprov/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = read_response(sock, "HEAD")
        assert head.getheader("Content-Length") == "15"
        assert head.read() == b""
        sock.sendall(b"GET /_mock_iotprov/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_response(sock).read() == b'{"status":"ok"}'  # the HEAD response had no body bytes


def test_a_tls_handshake_is_closed_at_once(server: IotProvisioningServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 32)
        assert_closed_by_server(sock)


def test_an_exception_in_the_server_is_logged_and_answered_500(
    server: IotProvisioningServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def explode(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("mock_iotprov.doors.server.answer", explode)
    with caplog.at_level(logging.ERROR, logger="mock_iotprov.server"):
        status, headers, _ = request(server, "GET", "/provisioning-templates")
    assert (status, headers["x-amzn-errortype"]) == (500, "InternalFailureException")
    assert any("boom" in (record.exc_text or "") for record in caplog.records)
    assert "Traceback" not in capsys.readouterr().out
    monkeypatch.undo()
    assert request(server, "GET", "/provisioning-templates")[0] == 200


# -- concurrency ---------------------------------------------------------------------------------------


def test_sixteen_keep_alive_clients_at_once(server: IotProvisioningServer) -> None:
    clients, requests_each = 16, 30
    errors: queue.Queue[str] = queue.Queue()
    start = threading.Barrier(clients)

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=SOCKET_TIMEOUT)
        try:
            start.wait()
            connection.request("POST", "/provisioning-templates", body=template_json(f"c{number}"))
            first = connection.getresponse()
            if first.status != 200:
                errors.put(f"create {number}: {first.status} {first.read()!r}")
            first.read()
            sock = connection.sock
            for _ in range(requests_each):
                connection.request("GET", f"/provisioning-templates/c{number}", headers={"Authorization": ""})
                response = connection.getresponse()
                body = json.loads(response.read())
                if response.status != 200 or body["templateName"] != f"c{number}":
                    errors.put(f"describe {number}: {response.status} {body}")
                if connection.sock is not sock:
                    errors.put(f"client {number} was given a new connection")
        except Exception as exc:  # noqa: BLE001 - every failure is reported below
            errors.put(f"client {number}: {exc!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert list(errors.queue) == []
    names = {
        t["templateName"] for t in iot_client(server, "us-east-1").list_provisioning_templates()["templates"]
    }
    assert names == {f"c{n}" for n in range(clients)}


def test_sixteen_boto3_clients_at_once(server: IotProvisioningServer) -> None:
    iot_clients = [iot_client(server) for _ in range(16)]
    errors: queue.Queue[str] = queue.Queue()

    def work(number: int, iot: Any) -> None:
        try:
            name = f"b{number}"
            iot.create_provisioning_template(
                templateName=name, templateBody=TEMPLATE_BODY, provisioningRoleArn=ROLE_ARN
            )
            for version in range(2, 6):
                created = iot.create_provisioning_template_version(
                    templateName=name, templateBody=TEMPLATE_BODY
                )
                if created["versionId"] != version:
                    errors.put(f"{name}: version {created['versionId']} != {version}")
        except Exception as exc:  # noqa: BLE001 - every failure is reported below
            errors.put(f"{number}: {exc!r}")

    threads = [threading.Thread(target=work, args=(n, c)) for n, c in enumerate(iot_clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert list(errors.queue) == []


# -- lifecycle and the command line ----------------------------------------------------------------------


def test_stop_closes_the_port_and_open_connections() -> None:
    server = IotProvisioningServer(port=0).start()
    idle = connect(server)
    idle.sendall(b"GET /_mock_iotprov/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert read_response(idle).read() == b'{"status":"ok"}'
    server.stop()
    assert_closed_by_server(idle)
    idle.close()
    with pytest.raises(ConnectionRefusedError):
        connect(server)
    server.stop()  # idempotent


def test_serve_forever_returns_on_request_stop() -> None:
    server = IotProvisioningServer(port=0)
    runner = threading.Thread(target=server.serve_forever)
    runner.start()
    server.start()  # already started by serve_forever, or starts it first: either way the same server
    assert request(server, "GET", "/_mock_iotprov/health")[0] == 200
    server.request_stop()
    runner.join(SOCKET_TIMEOUT)
    assert not runner.is_alive()


def test_cli_reports_a_port_in_use(server: IotProvisioningServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--port", str(server.port)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "cannot listen" in captured.err


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_and_exits_0_on_signal(stop_signal: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_iotprov", "serve", "--port", "0", "--no-mqtt",
         "--account-id", "210987654321"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    watchdog = threading.Timer(60.0, process.kill)  # a hung child fails the test instead of hanging it
    watchdog.start()
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if not line.startswith("mock_iotprov listening on http://127.0.0.1:"):
            process.kill()
            pytest.fail(f"no listening line: {line!r}; stderr: {process.communicate()[1].decode()}")
        assert line.rstrip().endswith("(account 210987654321)")
        url = line.split()[3]
        created = iot_client(url).create_provisioning_template(
            templateName="cli", templateBody=TEMPLATE_BODY, provisioningRoleArn=ROLE_ARN
        )
        assert ":210987654321:" in created["templateArn"]
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=30)
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err.decode()
    assert out == b""
    assert b"Traceback" not in err


def test_in_process_mock_leaves_clients_of_a_local_endpoint_alone(server: IotProvisioningServer) -> None:
    with mock_iot_provisioning() as in_process:
        to_server = boto3.client(
            "iot",
            region_name="us-east-1",
            endpoint_url=server.url,
            aws_access_key_id="x",
            aws_secret_access_key="y",
        )
        to_server.create_provisioning_template(
            templateName="on-the-server",
            templateBody="{}",
            provisioningRoleArn="arn:aws:iam::123456789012:role/Provision_role",
        )
        in_process_client = boto3.client("iot", region_name="us-east-1")
        assert in_process_client.list_provisioning_templates()["templates"] == []
        assert in_process.active
    names = [t["templateName"] for t in to_server.list_provisioning_templates()["templates"]]
    assert names == ["on-the-server"]
