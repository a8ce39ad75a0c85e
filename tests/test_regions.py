"""Regions come from the request; junk region names are refused and reads never create stores."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from mock_iotprov import MockIotProvisioning
from mock_iotprov.doors.server import IotProvisioningServer
from mock_iotprov.state import is_region_name
from tests.helpers import error_of, iot_client


@pytest.fixture
def server() -> Iterator[IotProvisioningServer]:
    with IotProvisioningServer(port=0) as running:
        yield running


def signed_request(
    server: IotProvisioningServer, method: str, path: str, region: str, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    authorization = f"AWS4-HMAC-SHA256 Credential=AKID/20240101/{region}/iot/aws4_request, SignedHeaders=host"
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers={"Authorization": authorization})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "region",
    ["us-east-1", "us-gov-west-1", "cn-northwest-1", "ap-southeast-5", "us-isob-east-1", "eusc-de-east-1"],
)
def test_aws_region_names_have_the_form(region: str) -> None:
    assert is_region_name(region)


@pytest.mark.parametrize(
    "region",
    ["", "x", "US-EAST-1", "us_east_1", "us-east", "east-1", "us-east-1-", "a" * 40 + "-x-1", "../etc-1"],
)
def test_other_names_do_not(region: str) -> None:
    assert not is_region_name(region)


def test_reads_in_many_junk_regions_create_no_store(server: IotProvisioningServer) -> None:
    for number in range(300):
        status, _, body = signed_request(
            server, "GET", "/things", f"zz-junk{'abcdefghij'[number % 10]}-{number % 100}"
        )
        assert (status, json.loads(body)["things"]) == (200, [])
    assert server.backend.stores() == []


@pytest.mark.parametrize("region", ["x" * 300, "US_EAST_1", "us-east-1;drop", "evil..1", "us-east-1\u00e9"])
def test_a_malformed_region_is_refused_and_creates_nothing(
    server: IotProvisioningServer, region: str
) -> None:
    for method, path, body in [("POST", "/things/t", b"{}"), ("GET", "/things", b"")]:
        status, headers, answer = signed_request(server, method, path, region, body)
        assert (status, headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
        assert len(json.loads(answer)["message"]) < 200
    assert server.backend.stores() == []


def test_a_write_creates_the_store_a_later_read_sees(server: IotProvisioningServer) -> None:
    assert signed_request(server, "POST", "/things/t", "eu-west-3", b"{}")[0] == 200
    status, _, body = signed_request(server, "GET", "/things", "eu-west-3")
    assert [t["thingName"] for t in json.loads(body)["things"]] == ["t"]
    assert [(s.account_id, s.region) for s in server.backend.stores()] == [("123456789012", "eu-west-3")]


def test_in_process_reads_create_no_store_and_errors_are_the_usual_ones() -> None:
    with MockIotProvisioning() as mock:
        client = iot_client("ap-south-1")
        assert client.list_things()["things"] == []
        assert client.list_policies()["policies"] == []
        with pytest.raises(Exception) as caught:
            client.describe_thing(thingName="missing")
        assert error_of(caught)[:2] == ("ResourceNotFoundException", 404)
        assert mock.backend.stores() == []
        code = client.get_registration_code()["registrationCode"]  # a read that creates the account's code
        assert client.get_registration_code()["registrationCode"] == code
        assert len(mock.backend.stores()) == 1
