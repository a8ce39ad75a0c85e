"""The AWS IoT Device SDK's own fleet-provisioning samples, unmodified, against the mock's broker.

The samples hard-code port 8883 and trust the system CA store, so each run gets a broker on a random
loopback address ``127.x.y.z:8883`` (another address when that one is taken) and ``SSL_CERT_FILE``
pointing at a bundle with the mock CA. The samples live in ``../shared/sdk-samples`` next to the project
(CI clones the project beside ``shared/``); a missing folder fails the tests, it never skips them.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_iotprov import MockIotProvisioning, mock_iot_provisioning
from tests.device_support import create_template
from tests.helpers import iot_client, make_csr, subject_name

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FOLDERS = (ROOT.parent / "shared" / "sdk-samples", Path("/work/shared/sdk-samples"))
SAMPLE_TIMEOUT = 120
SAMPLE_PORT = 8883


def samples_folder() -> Path:
    for folder in SAMPLE_FOLDERS:
        if (folder / "fleet_provisioning_basic.py").is_file():
            return folder
    pytest.fail(
        "The AWS IoT Device SDK samples are missing: expected them in "
        + " or ".join(str(f) for f in SAMPLE_FOLDERS)
        + " (see shared/sdk-samples/README.md)."
    )


def _broker_on_a_random_loopback_address() -> MockIotProvisioning:
    last_error: OSError | None = None
    for _ in range(30):
        host = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        mock = mock_iot_provisioning(mqtt=True, mqtt_host=host, mqtt_port=SAMPLE_PORT)
        try:
            return mock.start()
        except OSError as exc:  # the address is taken by a parallel run: try another one
            last_error = exc
    raise AssertionError(f"no free loopback address for port {SAMPLE_PORT}: {last_error}")


@pytest.fixture
def broker() -> Iterator[MockIotProvisioning]:
    mock = _broker_on_a_random_loopback_address()
    try:
        yield mock
    finally:
        mock.stop()


@pytest.fixture
def device_files(broker: MockIotProvisioning, tmp_path: Path) -> dict[str, Any]:
    """The claim's files, a CSR, the CA bundle for SSL_CERT_FILE, and the fleet template."""
    iot = iot_client()
    create_template(iot)
    claim = iot.create_provisioning_claim(templateName="fleet")
    files = {"cert": tmp_path / "claim.pem", "key": tmp_path / "claim.key", "bundle": tmp_path / "ca.pem"}
    files["cert"].write_text(claim["certificatePem"])
    files["key"].write_text(claim["keyPair"]["PrivateKey"])
    files["bundle"].write_text(broker.ca_bundle_pem)
    csr, _ = make_csr(subject_name("sample-device"))
    files["csr"] = tmp_path / "device.csr"
    files["csr"].write_text(csr)
    return {"iot": iot, "files": files}


def run_sample(broker: MockIotProvisioning, device: dict[str, Any], script: str, *arguments: str) -> str:
    files = device["files"]
    env = dict(os.environ, SSL_CERT_FILE=str(files["bundle"]))
    env.pop("SSL_CERT_DIR", None)
    command = [
        sys.executable,
        str(samples_folder() / script),
        "--endpoint",
        broker.mqtt_host,
        "--cert",
        str(files["cert"]),
        "--key",
        str(files["key"]),
        "--template_name",
        "fleet",
        *arguments,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=SAMPLE_TIMEOUT, env=env, cwd=ROOT)
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _provisioned(device: dict[str, Any], serial: str) -> None:
    iot = device["iot"]
    thing = f"device-{serial}"
    assert iot.describe_thing(thingName=thing)["attributes"] == {"serial": serial}
    [principal] = iot.list_thing_principals(thingName=thing)["principals"]
    certificate_id = principal.rsplit("/", 1)[1]
    assert (
        iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]["status"] == "ACTIVE"
    )


def test_fleet_provisioning_basic_sample(broker: MockIotProvisioning, device_files: dict[str, Any]) -> None:
    out = run_sample(
        broker,
        device_files,
        "fleet_provisioning_basic.py",
        "--template_parameters",
        json.dumps({"SerialNumber": "basic"}),
    )
    assert "RegisterThing response" in out and "device-basic" in out
    _provisioned(device_files, "basic")


def test_fleet_provisioning_csr_sample(broker: MockIotProvisioning, device_files: dict[str, Any]) -> None:
    files = device_files["files"]
    out = run_sample(
        broker,
        device_files,
        "fleet_provisioning_csr.py",
        "--csr_file",
        str(files["csr"]),
        "--template_parameters",
        json.dumps({"SerialNumber": "csr"}),
    )
    assert "device-csr" in out
    _provisioned(device_files, "csr")


@pytest.mark.parametrize(("mqtt_version", "use_csr"), [("3", False), ("5", True)])
def test_sdk_service_test(
    broker: MockIotProvisioning, device_files: dict[str, Any], mqtt_version: str, use_csr: bool
) -> None:
    serial = f"service-{mqtt_version}"
    arguments = [
        "--mqtt_version",
        mqtt_version,
        "--client_id",
        f"servicetest-{mqtt_version}",
        "--template_parameters",
        json.dumps({"SerialNumber": serial}),
    ]
    if use_csr:
        arguments += ["--csr", str(device_files["files"]["csr"])]
    out = run_sample(broker, device_files, "servicetest_fleet_provisioning.py", *arguments)
    assert "Exiting Test: success" in out, out
    _provisioned(device_files, serial)
