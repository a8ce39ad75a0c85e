"""The pytest plugin offers the device side: the ``iot_provisioning_mqtt`` fixture runs a broker."""

from __future__ import annotations

import pytest

from tests.device_support import FLEET_TEMPLATE
from tests.helpers import ROLE_ARN


def test_mqtt_fixture_through_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import socket
        import ssl

        import boto3

        def test_broker_runs(iot_provisioning_mqtt, tmp_path):
            mock = iot_provisioning_mqtt
            assert mock.active and mock.mqtt_host == "127.0.0.1" and mock.mqtt_port > 0
            client = boto3.client("iot", region_name="us-east-1")
            assert client.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"] == "127.0.0.1"
            bundle = tmp_path / "ca.pem"
            bundle.write_text(mock.ca_bundle_pem)
            context = ssl.create_default_context(cafile=str(bundle))
            with socket.create_connection((mock.mqtt_host, mock.mqtt_port), timeout=10) as raw:
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    assert tls.getpeercert()["subjectAltName"]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_readme_device_flow_through_the_fixture(pytester: pytest.Pytester) -> None:
    """README "Device side (MQTT)": the fixture, a claim, the SDK's V1 identity client, then the reconnect
    with the new certificate (allowed by the policy the template attaches)."""
    pytester.makepyfile(
        """
        import json
        from concurrent.futures import Future

        import boto3
        from awscrt import mqtt
        from awsiot import iotidentity, mqtt_connection_builder

        TEMPLATE = TEMPLATE_TEXT
        ROLE_ARN = ROLE_ARN_TEXT

        def connect(mock, cert, key, client_id):
            connection = mqtt_connection_builder.mtls_from_bytes(
                endpoint=mock.mqtt_host, port=mock.mqtt_port, ca_bytes=mock.ca_bundle_pem.encode(),
                cert_bytes=cert.encode(), pri_key_bytes=key.encode(), client_id=client_id)
            connection.connect().result(30)
            return connection

        def call(subscribe, publish, subscription, request):
            answer = Future()
            subscribe(subscription, mqtt.QoS.AT_LEAST_ONCE, answer.set_result)[0].result(30)
            publish(request, mqtt.QoS.AT_LEAST_ONCE).result(30)
            return answer.result(30)

        def test_device_provisions_itself(iot_provisioning_mqtt):
            mock, iot = iot_provisioning_mqtt, boto3.client("iot", region_name="us-east-1")
            iot.create_provisioning_template(templateName="fleet", templateBody=TEMPLATE, enabled=True,
                                             provisioningRoleArn=ROLE_ARN)
            claim = iot.create_provisioning_claim(templateName="fleet")
            connection = connect(mock, claim["certificatePem"], claim["keyPair"]["PrivateKey"], "device-1")
            identity = iotidentity.IotIdentityClient(connection)
            keys = call(identity.subscribe_to_create_keys_and_certificate_accepted,
                        identity.publish_create_keys_and_certificate,
                        iotidentity.CreateKeysAndCertificateSubscriptionRequest(),
                        iotidentity.CreateKeysAndCertificateRequest())
            registered = call(identity.subscribe_to_register_thing_accepted, identity.publish_register_thing,
                              iotidentity.RegisterThingSubscriptionRequest(template_name="fleet"),
                              iotidentity.RegisterThingRequest(
                                  template_name="fleet", parameters={"SerialNumber": "1"},
                                  certificate_ownership_token=keys.certificate_ownership_token))
            connection.disconnect().result(30)
            assert registered.thing_name == "device-1"
            device = connect(mock, keys.certificate_pem, keys.private_key, registered.thing_name)
            device.publish("telemetry/device-1", json.dumps({"t": 1}), mqtt.QoS.AT_LEAST_ONCE)[0].result(30)
            device.disconnect().result(30)
        """.replace("TEMPLATE_TEXT", repr(FLEET_TEMPLATE)).replace("ROLE_ARN_TEXT", repr(ROLE_ARN))
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
