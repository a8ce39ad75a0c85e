"""The public lifecycle: decorator, class decorator, context manager, start/stop, reset, handle."""

from __future__ import annotations

import asyncio
import unittest
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from cryptography import x509

from mock_iotprov import MockIotProvisioning, mock_iot_provisioning
from tests.helpers import ROLE_ARN, SIMPLE_TEMPLATE, iot_client


def _create(client: Any, name: str = "t1") -> dict[str, Any]:
    result: dict[str, Any] = client.create_provisioning_template(
        templateName=name, templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN
    )
    return result


def _names(client: Any) -> list[str]:
    return [t["templateName"] for t in client.list_provisioning_templates()["templates"]]


@mock_iot_provisioning
def test_bare_decorator_answers_locally() -> None:
    client = iot_client()
    _create(client)
    assert _names(client) == ["t1"]


@mock_iot_provisioning(account_id="111122223333")
def test_decorator_with_options_uses_the_account() -> None:
    arn = _create(iot_client("eu-west-1"))["templateArn"]
    assert arn == "arn:aws:iot:eu-west-1:111122223333:provisioningtemplate/t1"


def test_each_call_of_a_decorated_function_starts_fresh() -> None:
    seen: list[list[str]] = []

    @mock_iot_provisioning
    def run() -> None:
        client = iot_client()
        seen.append(_names(client))
        _create(client)

    run()
    run()
    assert seen == [[], []]


@mock_iot_provisioning
async def _async_body() -> list[str]:
    client = iot_client()
    _create(client, "async-template")
    await asyncio.sleep(0)
    return _names(client)


def test_async_function_decorator() -> None:
    assert asyncio.run(_async_body()) == ["async-template"]


def test_context_manager_and_handle() -> None:
    with mock_iot_provisioning() as mock:
        assert isinstance(mock, MockIotProvisioning)
        assert mock.account_id == "123456789012"
        assert mock.active
        _create(iot_client())
    assert not mock.active


def test_start_stop_and_reset() -> None:
    mock = mock_iot_provisioning()
    mock.start()
    try:
        client = iot_client()
        _create(client)
        assert _names(client) == ["t1"]
        mock.reset()
        assert _names(client) == []
    finally:
        mock.stop()
    with pytest.raises(RuntimeError):
        mock.stop()


def test_nested_start_keeps_state_until_last_stop() -> None:
    mock = mock_iot_provisioning()
    with mock:
        _create(iot_client())
        with mock:
            assert _names(iot_client()) == ["t1"]
        assert mock.active
        assert _names(iot_client()) == ["t1"]
    assert not mock.active


def test_restart_begins_with_empty_state() -> None:
    mock = mock_iot_provisioning()
    with mock:
        _create(iot_client())
    with mock:
        assert _names(iot_client()) == []


def test_inner_mock_answers_while_active() -> None:
    with mock_iot_provisioning(account_id="111111111111"):
        with mock_iot_provisioning(account_id="222222222222"):
            assert ":222222222222:" in _create(iot_client())["templateArn"]
        assert ":111111111111:" in _create(iot_client(), "t2")["templateArn"]


def test_ca_bundle_pem_is_root_first() -> None:
    with mock_iot_provisioning() as mock:
        certificates = x509.load_pem_x509_certificates(mock.ca_bundle_pem.encode())
    root = certificates[0]
    assert root.issuer == root.subject
    for issuing in certificates[1:]:
        assert issuing.issuer == root.subject
        issuing.verify_directly_issued_by(root)


def test_fixture_yields_the_active_handle(iot_provisioning: MockIotProvisioning) -> None:
    assert iot_provisioning.active
    _create(iot_client())
    assert _names(iot_client()) == ["t1"]


@mock_iot_provisioning
class TestPlainClassDecorator:
    def test_first(self) -> None:
        client = iot_client()
        assert _names(client) == []
        _create(client, "first")

    def test_second(self) -> None:
        client = iot_client()
        assert _names(client) == []
        _create(client, "second")


@mock_iot_provisioning
class TestUnittestClassDecorator(unittest.TestCase):
    created_in_set_up: list[str]

    def setUp(self) -> None:
        self.client = iot_client()
        _create(self.client, "from-setup")

    def tearDown(self) -> None:
        # tearDown runs inside the same mock as its test: the template made in setUp is still there.
        assert "from-setup" in _names(self.client)

    def test_setup_state_is_visible(self) -> None:
        self.assertEqual(_names(self.client), ["from-setup"])
        _create(self.client, "from-test-one")

    def test_each_test_is_fresh(self) -> None:
        self.assertEqual(_names(self.client), ["from-setup"])
        self.assertTrue(self.iot_provisioning.active)  # type: ignore[attr-defined]


def test_outside_any_mock_nothing_is_answered() -> None:
    client = boto3.client(
        "iot",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"max_attempts": 0}),
    )
    with mock_iot_provisioning():
        pass
    with pytest.raises(Exception) as excinfo:
        client.list_provisioning_templates()
    assert not isinstance(excinfo.value, ClientError)
    assert isinstance(excinfo.value, EndpointConnectionError)  # it went for the network (and was stopped)
