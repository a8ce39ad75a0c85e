"""patch_session: mocking limited to one boto3/botocore session's clients."""

from __future__ import annotations

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

import mock_iotprov
from tests.helpers import ROLE_ARN, SIMPLE_TEMPLATE

NO_RETRY = Config(retries={"max_attempts": 0})


def _session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")


def test_only_the_patched_sessions_clients_are_answered() -> None:
    patched = _session()
    other = _session()
    existing = patched.client("iot", config=NO_RETRY)
    handle = mock_iotprov.patch_session(patched)
    try:
        assert handle.active
        future = patched.client("iot", config=NO_RETRY)
        existing.create_provisioning_template(
            templateName="t", templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN
        )
        assert future.describe_provisioning_template(templateName="t")["templateName"] == "t"
        with pytest.raises(EndpointConnectionError):
            other.client("iot", config=NO_RETRY).list_provisioning_templates()
    finally:
        handle.stop()
    with pytest.raises(EndpointConnectionError):
        existing.list_provisioning_templates()


def test_botocore_session_and_options() -> None:
    session = botocore.session.get_session()
    session.set_credentials("x", "y")
    handle = mock_iotprov.patch_session(session, account_id="444455556666")
    try:
        client = session.create_client("iot", region_name="ap-south-1")
        arn = client.create_provisioning_template(
            templateName="t", templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN
        )["templateArn"]
        assert arn == "arn:aws:iot:ap-south-1:444455556666:provisioningtemplate/t"
    finally:
        handle.stop()


def test_patch_session_rejects_other_objects() -> None:
    with pytest.raises(TypeError):
        mock_iotprov.patch_session(object())
