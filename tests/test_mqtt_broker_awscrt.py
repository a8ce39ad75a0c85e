"""Smoke tests through the AWS IoT Device SDK (awscrt): MQTT 3.1.1 and MQTT 5 clients connect with a
certificate from the mock's CA, subscribe, publish and receive; a refused certificate gets "not authorized"
at CONNECT at once (not a slow TLS failure)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from awscrt import mqtt, mqtt5
from awsiot import mqtt5_client_builder, mqtt_connection_builder
from mqtt_support import WAIT, FakeHooks, device_cert, running_broker, self_signed_cert

from mock_iotprov.mqtt.broker import MqttBroker
from mock_iotprov.pki.authority import get_pki


@pytest.fixture
def hooks() -> FakeHooks:
    return FakeHooks()


@pytest.fixture
def broker(hooks: FakeHooks) -> Iterator[MqttBroker]:
    with running_broker(hooks) as running:
        yield running


def test_mqtt_311_connection_round_trip(broker: MqttBroker, hooks: FakeHooks) -> None:
    cert = device_cert()
    received: Future[tuple[str, bytes]] = Future()
    connection = mqtt_connection_builder.mtls_from_bytes(
        endpoint="127.0.0.1",
        port=broker.port,
        cert_bytes=cert.certificate_pem.encode(),
        pri_key_bytes=cert.key_pem.encode(),
        ca_bytes=get_pki().ca_bundle_pem().encode(),
        client_id="crt-311",
        clean_session=True,
        keep_alive_secs=30,
    )
    connection.connect().result(WAIT)
    try:
        subscribe, _ = connection.subscribe(
            "crt/echo",
            mqtt.QoS.AT_LEAST_ONCE,
            lambda topic, payload, **_: received.set_result((topic, payload)),
        )
        assert subscribe.result(WAIT)["qos"] == mqtt.QoS.AT_LEAST_ONCE
        published, _ = connection.publish("crt/echo", b"hello", mqtt.QoS.AT_LEAST_ONCE)
        published.result(WAIT)
        assert received.result(WAIT) == ("crt/echo", b"hello")
        assert hooks.hellos[-1].certificate_der == cert.der
        assert broker.connected_clients() == ["crt-311"]
    finally:
        connection.disconnect().result(WAIT)


def _mqtt5_client(broker: MqttBroker, cert: Any, client_id: str, events: dict[str, Any]) -> mqtt5.Client:
    return mqtt5_client_builder.mtls_from_bytes(
        endpoint="127.0.0.1",
        port=broker.port,
        cert_bytes=cert.certificate_pem.encode(),
        pri_key_bytes=cert.key_pem.encode(),
        ca_bytes=get_pki().ca_bundle_pem().encode(),
        client_id=client_id,
        on_publish_received=lambda data: events["message"].set_result(data.publish_packet),
        on_lifecycle_connection_success=lambda data: events["connected"].set_result(data.connack_packet),
        on_lifecycle_connection_failure=lambda data: events["connected"].set_result(data.connack_packet),
        on_lifecycle_stopped=lambda data: events["stopped"].set(),
    )


def _events() -> dict[str, Any]:
    return {"message": Future(), "connected": Future(), "stopped": threading.Event()}


def test_mqtt5_client_round_trip(broker: MqttBroker) -> None:
    events = _events()
    client = _mqtt5_client(broker, device_cert(), "crt-5", events)
    client.start()
    try:
        connack = events["connected"].result(WAIT)
        assert connack.reason_code == mqtt5.ConnectReasonCode.SUCCESS
        assert connack.maximum_qos == mqtt5.QoS.AT_LEAST_ONCE
        suback = client.subscribe(
            mqtt5.SubscribePacket([mqtt5.Subscription("crt5/#", mqtt5.QoS.AT_LEAST_ONCE)])
        ).result(WAIT)
        assert suback.reason_codes == [mqtt5.SubackReasonCode.GRANTED_QOS_1]
        puback = client.publish(
            mqtt5.PublishPacket(
                topic="crt5/a",
                payload=b"v5",
                qos=mqtt5.QoS.AT_LEAST_ONCE,
                user_properties=[mqtt5.UserProperty("k", "v")],
            )
        ).result(WAIT)
        assert puback.puback.reason_code == mqtt5.PubackReasonCode.SUCCESS
        message = events["message"].result(WAIT)
        assert (message.topic, message.payload) == ("crt5/a", b"v5")
        assert [(prop.name, prop.value) for prop in message.user_properties] == [("k", "v")]
    finally:
        client.stop()
        assert events["stopped"].wait(WAIT)


def test_mqtt5_refused_certificate_gets_not_authorized(hooks: FakeHooks) -> None:
    hooks.allowed = set()
    with running_broker(hooks) as broker:
        events = _events()
        client = _mqtt5_client(broker, self_signed_cert(), "crt-refused", events)
        client.start()
        try:
            connack = events["connected"].result(WAIT)
            assert connack is not None and connack.reason_code == mqtt5.ConnectReasonCode.NOT_AUTHORIZED
        finally:
            client.stop()
            assert events["stopped"].wait(WAIT)
