"""DescribeEndpoint, through real boto3 clients."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mock_iotprov import MockIotProvisioning, mock_iot_provisioning
from tests.helpers import error_of, iot_client

PATTERNS = {
    "iot:Data-ATS": r"([a-z][a-z0-9]{13})-ats\.iot\.{region}\.amazonaws\.com",
    "iot:Data": r"([a-z][a-z0-9]{13})\.iot\.{region}\.amazonaws\.com",
    "iot:CredentialProvider": r"([a-z][a-z0-9]{13})\.credentials\.iot\.{region}\.amazonaws\.com",
    "iot:Jobs": r"([a-z][a-z0-9]{13})\.jobs\.iot\.{region}\.amazonaws\.com",
}


def address(endpoint_type: str | None = None, region: str = "us-east-1") -> str:
    client = iot_client(region)
    result = (
        client.describe_endpoint()
        if endpoint_type is None
        else client.describe_endpoint(endpointType=endpoint_type)
    )
    value: str = result["endpointAddress"]
    return value


def prefix_of(endpoint_type: str, host: str, region: str = "us-east-1") -> str:
    found = re.fullmatch(PATTERNS[endpoint_type].replace("{region}", re.escape(region)), host)
    assert found is not None, host
    return found.group(1)


@pytest.mark.parametrize("endpoint_type", sorted(PATTERNS))
def test_each_endpoint_type_has_its_host_shape(
    iot_provisioning: MockIotProvisioning, endpoint_type: str
) -> None:
    prefix_of(endpoint_type, address(endpoint_type))
    prefix_of(endpoint_type, address(endpoint_type, "eu-central-1"), "eu-central-1")


def test_default_is_the_legacy_data_endpoint(iot_provisioning: MockIotProvisioning) -> None:
    assert address() == address("iot:Data")


def test_data_endpoints_share_a_prefix_others_have_their_own(iot_provisioning: MockIotProvisioning) -> None:
    prefixes = {endpoint_type: prefix_of(endpoint_type, address(endpoint_type)) for endpoint_type in PATTERNS}
    assert prefixes["iot:Data"] == prefixes["iot:Data-ATS"]
    assert len({prefixes["iot:Data"], prefixes["iot:CredentialProvider"], prefixes["iot:Jobs"]}) == 3


def test_prefix_is_the_same_in_every_region(iot_provisioning: MockIotProvisioning) -> None:
    assert prefix_of("iot:Data-ATS", address("iot:Data-ATS")) == prefix_of(
        "iot:Data-ATS", address("iot:Data-ATS", "ap-southeast-2"), "ap-southeast-2"
    )


def test_endpoint_is_stable_per_account_and_differs_between_accounts() -> None:
    with mock_iot_provisioning():
        first = [address(endpoint_type) for endpoint_type in sorted(PATTERNS)]
        assert [address(endpoint_type) for endpoint_type in sorted(PATTERNS)] == first
    with mock_iot_provisioning():
        assert [address(endpoint_type) for endpoint_type in sorted(PATTERNS)] == first
    with mock_iot_provisioning(account_id="111122223333"):
        other = [address(endpoint_type) for endpoint_type in sorted(PATTERNS)]
    assert all(a != b for a, b in zip(first, other))


@pytest.mark.parametrize("endpoint_type", ["iot:data-ats", "iot:Unknown", "", "Data-ATS"])
def test_unknown_endpoint_type_is_an_invalid_request(
    iot_provisioning: MockIotProvisioning, endpoint_type: str
) -> None:
    client: Any = iot_client()
    with pytest.raises(Exception) as excinfo:
        client.describe_endpoint(endpointType=endpoint_type)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
