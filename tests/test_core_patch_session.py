"""patch_session: mocking limited to one boto3/botocore session's clients."""

from __future__ import annotations

import os
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from botocore.utils import InstanceMetadataFetcher

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


@pytest.fixture
def no_configured_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> list[str]:
    """No AWS credentials anywhere; returns the list of instance-metadata / container fetches made."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name in ("config", "credentials"):
        (tmp_path / name).write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    fetched: list[str] = []

    def imds(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        fetched.append("instance-metadata")
        return {}

    monkeypatch.setattr(InstanceMetadataFetcher, "retrieve_iam_role_credentials", imds)
    return fetched


def test_patch_session_never_asks_the_instance_metadata_service(
    no_configured_credentials: list[str],
) -> None:
    session = boto3.Session(region_name="us-east-1")
    original_chain = session._session.get_component("credential_provider")
    handle = mock_iotprov.patch_session(session)
    try:
        client = session.client("iot")
        client.create_thing(thingName="offline")
        assert [t["thingName"] for t in client.list_things()["things"]] == ["offline"]
    finally:
        handle.stop()
    assert no_configured_credentials == []
    assert session._session.get_component("credential_provider") is original_chain
    assert session._session._credentials is None  # the placeholders are forgotten


def test_patch_session_keeps_locally_configured_credentials(
    no_configured_credentials: list[str], tmp_path: Any
) -> None:
    (tmp_path / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAFROMFILE\naws_secret_access_key = secret\n"
    )
    session = boto3.Session(region_name="us-east-1")
    handle = mock_iotprov.patch_session(session)
    try:
        credentials = session.get_credentials()
        assert credentials is not None and credentials.access_key == "AKIAFROMFILE"
        assert session.client("iot").list_things()["things"] == []
    finally:
        handle.stop()
    assert no_configured_credentials == []
