"""The endpoint answers its own names only, and no page of another site (DNS rebinding, cross-site POSTs).

boto3 and raw HTTP on loopback; a refused request is a 403 in the service's error form and changes nothing.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from mock_iotprov import cli
from mock_iotprov.doors.request_origin import RequestOriginPolicy, host_name_of
from mock_iotprov.doors.server import IotProvisioningServer
from mock_iotprov.state import Backend, MockOptions


@pytest.fixture
def server() -> Iterator[IotProvisioningServer]:
    with IotProvisioningServer(port=0) as running:
        yield running


def client_for(url: str) -> Any:
    return boto3.client(
        "iot", endpoint_url=url, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )


def raw(
    server: IotProvisioningServer, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """One request with exactly ``headers`` (http.client's own Host header is suppressed)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def thing_names(server: IotProvisioningServer) -> list[str]:
    return [t["thingName"] for t in client_for(server.url).list_things()["things"]]


EVIL_HOST = {"Host": "evil.example:5000"}


def assert_refused(response: tuple[int, dict[str, str], bytes]) -> None:
    status, headers, body = response
    assert (status, headers["x-amzn-errortype"]) == (403, "AccessDeniedException")
    assert b"PRIVATE KEY" not in body and b"CERTIFICATE-----" not in body
    assert json.loads(body)["message"]


def test_a_rebound_host_cannot_reset_read_the_ca_or_take_keys(server: IotProvisioningServer) -> None:
    client_for(server.url).create_thing(thingName="kept")
    assert_refused(raw(server, "POST", "/_mock_iotprov/reset", EVIL_HOST))
    assert_refused(raw(server, "GET", "/_mock_iotprov/ca.pem", EVIL_HOST))
    assert_refused(raw(server, "POST", "/keys-and-certificate?setAsActive=true", EVIL_HOST, b"{}"))
    assert_refused(raw(server, "POST", "/things/planted", EVIL_HOST, b"{}"))
    assert thing_names(server) == ["kept"]
    assert client_for(server.url).list_certificates()["certificates"] == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "127.0.0.1", "Origin": "http://evil.example"},
        {"Host": "127.0.0.1", "Origin": "null"},
        {"Host": "127.0.0.1", "Sec-Fetch-Site": "cross-site"},
        {"Host": "127.0.0.1.evil.example"},
        {"Host": "localhost.evil.example:80"},
    ],
    ids=["foreign-origin", "null-origin", "cross-site", "suffix-trick", "localhost-prefix"],
)
def test_cross_site_requests_are_refused(server: IotProvisioningServer, headers: dict[str, str]) -> None:
    client_for(server.url).create_thing(thingName="kept")
    assert_refused(raw(server, "POST", "/_mock_iotprov/reset", headers))
    assert thing_names(server) == ["kept"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Host": "127.0.0.1"},
        {"Host": "localhost:5000"},
        {"Host": "LOCALHOST."},
        {"Host": "[::1]:5000"},
        {"Host": "127.0.0.1", "Origin": "http://localhost:3000", "Sec-Fetch-Site": "same-site"},
    ],
    ids=["no-host", "loopback", "localhost", "localhost-dot", "ipv6-loopback", "local-page"],
)
def test_requests_to_the_endpoints_own_names_are_answered(
    server: IotProvisioningServer, headers: dict[str, str]
) -> None:
    status, _, body = raw(server, "GET", "/_mock_iotprov/health", headers)
    assert (status, json.loads(body)) == (200, {"status": "ok"})


def test_boto3_through_localhost_and_127_0_0_1_works(server: IotProvisioningServer) -> None:
    client_for(f"http://127.0.0.1:{server.port}").create_thing(thingName="one")
    client_for(f"http://localhost:{server.port}").create_thing(thingName="two")
    assert sorted(thing_names(server)) == ["one", "two"]


def test_boto3_through_ipv6_loopback_works() -> None:
    with IotProvisioningServer(host="::1", port=0) as server:
        client = client_for(server.url)
        assert server.url.startswith("http://[::1]:")
        client.create_thing(thingName="v6")
        assert thing_names(server) == ["v6"]


def test_names_listed_in_the_environment_are_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_IOTPROV_ALLOWED_HOSTS", "mock-iot, other.internal")
    with IotProvisioningServer(port=0) as server:
        assert raw(server, "GET", "/_mock_iotprov/health", {"Host": "mock-iot:5000"})[0] == 200
        assert_refused(raw(server, "GET", "/_mock_iotprov/health", EVIL_HOST))


def test_the_policy_for_a_bound_name_and_a_wildcard_bind() -> None:
    named = RequestOriginPolicy("devbox.lan", extra_hosts=[])
    assert named.allows_host("devbox.lan") and named.allows_host("127.0.0.1")
    assert not named.allows_host("evil.example") and not named.allows_host("10.1.2.3")
    wildcard = RequestOriginPolicy("0.0.0.0", extra_hosts=[])
    assert wildcard.allows_host("10.1.2.3")  # an IP literal cannot be a rebound name
    assert not wildcard.allows_host("evil.example")
    assert RequestOriginPolicy("::", extra_hosts=[]).allows_host(host_name_of("[fe80::1]:5000"))
    bound = RequestOriginPolicy("192.0.2.7", extra_hosts=[])
    assert bound.allows_host("192.0.2.7") and not bound.allows_host("192.0.2.8")


class _NoSocketServer:
    """Stands in for the endpoint so that ``serve`` can be run for a non-loopback host without binding it."""

    def __init__(self, host: str, port: int, **_: Any) -> None:
        self.url, self.account_id = f"http://{host}:{port}", "123456789012"
        self.backend, self.options = Backend(), MockOptions()

    def open_state(self) -> None: ...

    def start(self) -> None: ...

    def serve_forever(self) -> None: ...

    def stop(self) -> None: ...

    def request_stop(self) -> None: ...


@pytest.mark.parametrize(
    ("host", "warned"),
    [("0.0.0.0", True), ("192.0.2.7", True), ("127.0.0.1", False), ("localhost", False), ("::1", False)],
)
def test_serve_warns_when_bound_beyond_loopback(
    host: str, warned: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "IotProvisioningServer", _NoSocketServer)
    assert cli.serve(host, 5000, "123456789012", mqtt_port=None) == 0  # no broker: nothing is bound
    err = capsys.readouterr().err
    assert ("unauthenticated" in err) is warned
