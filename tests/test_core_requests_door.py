"""Plain ``requests`` calls to the IoT endpoint are answered by the same backend."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from mock_iotprov import mock_iot_provisioning
from tests.helpers import ROLE_ARN, SIMPLE_TEMPLATE, iot_client

BASE = "https://iot.us-east-1.amazonaws.com"


def test_requests_and_boto3_share_the_backend() -> None:
    with mock_iot_provisioning():
        created = requests.post(
            f"{BASE}/provisioning-templates",
            json={"templateName": "raw", "templateBody": SIMPLE_TEMPLATE, "provisioningRoleArn": ROLE_ARN},
            timeout=5,
        )
        assert created.status_code == 200
        assert created.json()["templateArn"].endswith(":provisioningtemplate/raw")
        assert iot_client().describe_provisioning_template(templateName="raw")["enabled"] is False
        listed = requests.get(f"{BASE}/provisioning-templates", params={"maxResults": "1"}, timeout=5)
        assert [t["templateName"] for t in listed.json()["templates"]] == ["raw"]


def test_requests_errors_are_aws_errors() -> None:
    with mock_iot_provisioning():
        missing = requests.get(f"{BASE}/provisioning-templates/nope", timeout=5)
        assert missing.status_code == 404
        assert missing.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
        broken = requests.post(f"{BASE}/provisioning-templates", data=b"{not json", timeout=5)
        assert broken.status_code == 400
        assert broken.headers["x-amzn-ErrorType"] == "InvalidRequestException"
        unknown = requests.get(f"{BASE}/no-such-path", timeout=5)
        assert unknown.status_code == 404
        not_implemented = requests.get(f"{BASE}/jobs", timeout=5)
        assert not_implemented.status_code == 501
        assert "ListJobs" in json.loads(not_implemented.text)["message"]


def test_users_own_responses_mock_keeps_working() -> None:
    with responses.RequestsMock() as user_mock:
        user_mock.add(responses.GET, "https://example.com/data", json={"mine": True})
        with mock_iot_provisioning():
            assert requests.get("https://example.com/data", timeout=5).json() == {"mine": True}
            assert requests.get(f"{BASE}/provisioning-templates", timeout=5).json() == {"templates": []}
        assert requests.get("https://example.com/data", timeout=5).json() == {"mine": True}


def test_unrelated_urls_are_not_answered() -> None:
    with mock_iot_provisioning():
        with pytest.raises(requests.ConnectionError):
            requests.get("https://example.com/", timeout=5)


def test_door_is_removed_after_stop() -> None:
    with mock_iot_provisioning():
        pass
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{BASE}/provisioning-templates", timeout=5)
