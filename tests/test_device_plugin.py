"""The pytest plugin offers the device side: the ``iot_provisioning_mqtt`` fixture runs a broker."""

from __future__ import annotations

import pytest


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
