"""``python -m mock_iotprov serve`` with the device side: MQTT next to HTTP on the same state, ``--lambda``
hooks, ``--ca-file``, and the printed addresses."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from awsiot import V2ServiceException, iotidentity

from tests.device_sdk import TIMEOUT, Credentials, identity_v2, mqtt5_session
from tests.device_support import create_template

ROOT = Path(__file__).resolve().parent.parent
HOOK_ARN = "arn:aws:lambda:us-east-1:123456789012:function:serials"


@contextmanager
def serving(*arguments: str) -> Iterator[tuple[str, str, int]]:
    """A ``serve`` child process; yields (its one stdout line, the HTTP URL, the MQTT port)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_iotprov", "serve", "--port", "0", "--mqtt-port", "0", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
        text=True,
    )
    watchdog = threading.Timer(120.0, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if " and mqtts://" not in line:
            process.kill()
            pytest.fail(f"no listening line: {line!r}; stderr: {process.communicate()[1]}")
        words = line.split()
        yield line, words[3], int(words[5].rsplit(":", 1)[1])
        process.terminate()
        _, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()


class _Served:
    """Enough of a mock handle for the SDK helpers: where the broker is and what to trust."""

    def __init__(self, port: int, bundle: str) -> None:
        self.mqtt_host, self.mqtt_port, self.ca_bundle_pem = "127.0.0.1", port, bundle


def test_serve_runs_mqtt_with_hooks_and_writes_the_ca_file(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    with serving(
        "--lambda", f"{HOOK_ARN}=tests.device_lambdas:allow_known_serials", "--ca-file", str(ca_file)
    ) as (
        line,
        url,
        mqtt_port,
    ):
        assert line.startswith("mock_iotprov listening on http://127.0.0.1:")
        assert f"and mqtts://127.0.0.1:{mqtt_port} (account 123456789012)" in line
        with urllib.request.urlopen(f"{url}/_mock_iotprov/ca.pem", timeout=TIMEOUT) as response:
            assert response.read().decode() == ca_file.read_text()
        iot = boto3.client(
            "iot", region_name="us-east-1", endpoint_url=url, aws_access_key_id="x", aws_secret_access_key="y"
        )
        assert iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"] == "127.0.0.1"
        create_template(iot, preProvisioningHook={"targetArn": HOOK_ARN})
        claim = iot.create_provisioning_claim(templateName="fleet")
        served: Any = _Served(mqtt_port, ca_file.read_text())
        credentials = Credentials(claim["certificatePem"], claim["keyPair"]["PrivateKey"])
        with mqtt5_session(served, credentials, "served-device") as session:
            identity = identity_v2(session.client)
            keys = identity.create_keys_and_certificate(iotidentity.CreateKeysAndCertificateRequest()).result(
                TIMEOUT
            )
            request = iotidentity.RegisterThingRequest(
                template_name="fleet",
                certificate_ownership_token=keys.certificate_ownership_token,
                parameters={"SerialNumber": "SN-7"},
            )
            assert identity.register_thing(request).result(TIMEOUT).thing_name == "device-7"
            request.parameters = {"SerialNumber": "XX-8"}
            with pytest.raises(V2ServiceException) as refused:
                identity.register_thing(request).result(TIMEOUT)
            assert refused.value.modeled_error.error_code == "AccessDenied"
        assert iot.describe_thing(thingName="device-7")["thingName"] == "device-7"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--lambda", "not-an-option"], "ARN=module:function"),
        (["--lambda", f"{HOOK_ARN}=no_such_module_here:f"], "cannot import"),
        (["--lambda", f"{HOOK_ARN}=tests.device_lambdas:missing"], "has no function"),
        (
            ["--lambda", "arn:aws:sns:us-east-1:123456789012:x=tests.device_lambdas:allow_known_serials"],
            "Lambda function ARN",
        ),
    ],
)
def test_serve_refuses_bad_lambda_options(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from mock_iotprov import cli

    assert cli.main(["serve", "--port", "0", "--mqtt-port", "0", *arguments]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err


def test_serve_reports_a_busy_mqtt_port(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from mock_iotprov import cli

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert cli.main(["serve", "--port", "0", "--mqtt-port", str(busy.getsockname()[1])]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "(MQTT)" in captured.err
