"""Devices provisioning themselves concurrently over MQTT through awscrt (the AWS IoT Device SDK).

Each device connects to the mock's broker with a shared claim certificate (MQTT 5, mutual TLS), calls
CreateKeysAndCertificate then RegisterThing through the SDK's ``IotIdentityClientV2``, and disconnects. The
figure is the time per device from starting its client to the RegisterThing answer, p50 and p99 over 200
devices started at once (10 with ``--smoke``); the baseline is the same flow for one device alone, measured
in the same run. The goal is zero failures: every device gets its thing.
"""

from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from common import Row, Settings

TEMPLATE = json.dumps(
    {
        "Parameters": {"SerialNumber": {"Type": "String"}, "AWS::IoT::Certificate::Id": {"Type": "String"}},
        "Resources": {
            "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "SerialNumber"}}},
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "ACTIVE"},
            },
        },
    }
)
ROLE_ARN = "arn:aws:iam::123456789012:role/Provision_role"
TIMEOUT = 120.0


def _provision(mock: Any, claim: dict[str, Any], serial: str) -> float:
    """One device's provisioning; its seconds from client start to the RegisterThing answer."""
    from awscrt import mqtt_request_response
    from awsiot import iotidentity, mqtt5_client_builder

    connected: Future[bool] = Future()
    stopped: Future[bool] = Future()

    def on_failure(event: Any) -> None:
        if not connected.done():
            connected.set_exception(RuntimeError(f"connection failed: {event.exception}"))

    client = mqtt5_client_builder.mtls_from_bytes(
        endpoint="localhost",
        port=mock.mqtt_port,
        cert_bytes=claim["certificatePem"].encode(),
        pri_key_bytes=claim["keyPair"]["PrivateKey"].encode(),
        ca_bytes=mock.ca_bundle_pem.encode(),
        client_id=f"bench-{serial}",
        on_lifecycle_connection_success=lambda event: connected.done() or connected.set_result(True),
        on_lifecycle_connection_failure=on_failure,
        on_lifecycle_stopped=lambda event: stopped.set_result(True),
    )
    started = time.perf_counter()
    client.start()
    try:
        connected.result(TIMEOUT)
        options = mqtt_request_response.ClientOptions(
            max_request_response_subscriptions=2,
            max_streaming_subscriptions=0,
            operation_timeout_in_seconds=60,
        )
        identity = iotidentity.IotIdentityClientV2(client, options)
        keys = identity.create_keys_and_certificate(iotidentity.CreateKeysAndCertificateRequest()).result(
            TIMEOUT
        )
        request = iotidentity.RegisterThingRequest(
            template_name="fleet",
            certificate_ownership_token=keys.certificate_ownership_token,
            parameters={"SerialNumber": serial},
        )
        registered = identity.register_thing(request).result(TIMEOUT)
        elapsed = time.perf_counter() - started
        if registered.thing_name != serial:
            raise RuntimeError(f"device {serial} registered as {registered.thing_name}")
        return elapsed
    finally:
        client.stop()
        stopped.result(TIMEOUT)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def run(settings: Settings) -> list[Row]:
    import boto3

    from mock_iotprov import mock_iot_provisioning

    devices = 10 if settings.smoke else 200
    with mock_iot_provisioning(mqtt=True) as mock:
        iot = boto3.client("iot", region_name="us-east-1")
        iot.create_provisioning_template(
            templateName="fleet", templateBody=TEMPLATE, provisioningRoleArn=ROLE_ARN, enabled=True
        )
        claim = iot.create_provisioning_claim(templateName="fleet")
        solo = statistics.median(_provision(mock, claim, f"solo-{i}") for i in range(3))
        with ThreadPoolExecutor(max_workers=devices) as pool:
            futures = [pool.submit(_provision, mock, claim, f"device-{i}") for i in range(devices)]
            times, failures = [], 0
            for future in futures:
                try:
                    times.append(future.result())
                except Exception:
                    failures += 1
        things = {t["thingName"] for t in iot.list_things()["things"]}
        failures = max(failures, devices - len({f"device-{i}" for i in range(devices)} & things))
    goal = f"0 failures: {failures} of {devices} failed"
    if not times:
        return [Row(f"{devices} devices provisioning concurrently over MQTT 5", float("nan"), "", 0.0, goal)]
    name = f"{devices} devices provisioning concurrently over MQTT 5 (awscrt), per device"
    return [
        Row(f"{name}, p50", _percentile(times, 0.5), "one device alone", solo, goal),
        Row(f"{name}, p99", _percentile(times, 0.99), "one device alone", solo, goal),
    ]
