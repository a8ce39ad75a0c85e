"""Interception semantics: which requests the mock answers, and how it fails closed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from mock_iotprov import mock_iot_provisioning
from tests.helpers import ROLE_ARN, SIMPLE_TEMPLATE, error_of, iot_client


def _create(client: Any, name: str) -> None:
    client.create_provisioning_template(
        templateName=name, templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN
    )


def _run_python(code: str, env: dict[str, str]) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", _NETWORK_GUARD + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


_NETWORK_GUARD = """
import socket, ipaddress
_connect = socket.socket.connect
def guarded(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"network access attempted: {address}")
    return _connect(self, address)
socket.socket.connect = guarded
"""


def _clean_env(tmp_path: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_CONFIG_FILE"] = str(tmp_path / "no-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "no-credentials")
    return env


def test_client_created_before_mock_started() -> None:
    client = iot_client()
    with mock_iot_provisioning():
        _create(client, "early")
        assert client.describe_provisioning_template(templateName="early")["templateName"] == "early"


def test_client_created_before_import(tmp_path: Any) -> None:
    output = _run_python(
        """
        import boto3
        client = boto3.client(
            "iot", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
        )
        import mock_iotprov
        with mock_iotprov.mock_iot_provisioning():
            client.create_provisioning_template(templateName="t", templateBody="{}",
                provisioningRoleArn="arn:aws:iam::123456789012:role/Provision_role")
            print(client.list_provisioning_templates()["templates"][0]["templateName"])
        """,
        _clean_env(tmp_path),
    )
    assert output.strip() == "t"


def test_no_credentials_anywhere(tmp_path: Any) -> None:
    output = _run_python(
        """
        import os, boto3, mock_iotprov
        assert "AWS_ACCESS_KEY_ID" not in os.environ
        with mock_iotprov.mock_iot_provisioning():
            client = boto3.client("iot", region_name="us-east-1")
            print(len(client.list_provisioning_templates()["templates"]))
        assert "AWS_ACCESS_KEY_ID" not in os.environ
        """,
        _clean_env(tmp_path),
    )
    assert output.strip() == "0"


def test_real_credentials_are_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    signed: list[str] = []
    with mock_iot_provisioning():
        client = boto3.client("iot", region_name="us-east-1")
        client.meta.events.register("before-sign.iot", lambda **kw: signed.append("sign"))
        client.meta.events.register("request-created.iot", lambda **kw: signed.append("created"))
        client.meta.events.register("before-send.iot", lambda **kw: signed.append("send"))
        _create(client, "t")
        client.list_provisioning_templates()
        assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAREALKEY"
    assert signed == []


def test_unimplemented_operation_fails_closed() -> None:
    with mock_iot_provisioning():
        client = iot_client()
        with pytest.raises(client.exceptions.ClientError) as excinfo:
            client.list_jobs()
    code, status, message = error_of(excinfo)
    assert (code, status) == ("NotImplemented", 501)
    assert "ListJobs" in message and "not implemented" in message


def test_other_services_are_not_touched() -> None:
    with mock_iot_provisioning():
        sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
        with Stubber(sts) as stub:
            stub.add_response(
                "get_caller_identity",
                {
                    "Account": "999999999999",
                    "Arn": "arn:aws:iam::999999999999:user/tester",
                    "UserId": "AIDAEXAMPLE",
                },
            )
            assert sts.get_caller_identity()["Account"] == "999999999999"
        s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
        with pytest.raises(EndpointConnectionError):
            s3.list_buckets()


def test_region_comes_from_the_endpoint() -> None:
    with mock_iot_provisioning():
        west = iot_client("eu-west-1")
        _create(west, "only-in-eu-west-1")
        assert iot_client("us-east-1").list_provisioning_templates()["templates"] == []
        by_endpoint = boto3.client(
            "iot", region_name="us-east-1", endpoint_url="https://iot.eu-west-1.amazonaws.com"
        )
        names = [t["templateName"] for t in by_endpoint.list_provisioning_templates()["templates"]]
        assert names == ["only-in-eu-west-1"]


def test_concurrent_threads_never_corrupt_state() -> None:
    errors: list[BaseException] = []
    per_thread = 20

    def work(index: int) -> None:
        try:
            client = iot_client()
            for n in range(per_thread):
                name = f"t{index}-{n}"
                _create(client, name)
                version = client.create_provisioning_template_version(
                    templateName=name, templateBody=SIMPLE_TEMPLATE
                )
                assert version["versionId"] == 2
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with mock_iot_provisioning():
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        client = iot_client()
        paginator = client.get_paginator("list_provisioning_templates")
        names = [t["templateName"] for page in paginator.paginate() for t in page["templates"]]
        assert sorted(names) == sorted(f"t{i}-{n}" for i in range(8) for n in range(per_thread))
        versions = client.list_provisioning_template_versions(templateName="t3-7")["versions"]
        assert [v["versionId"] for v in versions] == [1, 2]


def test_default_session_is_never_reset() -> None:
    boto3.setup_default_session(region_name="us-east-1")
    session = boto3.DEFAULT_SESSION
    with mock_iot_provisioning():
        boto3.client("iot").list_provisioning_templates()
    assert boto3.DEFAULT_SESSION is session
