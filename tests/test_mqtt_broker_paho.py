"""The broker with a real MQTT client library (paho-mqtt), over MQTT 3.1.1 and MQTT 5."""

from __future__ import annotations

import os
import queue
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from mqtt_support import (
    WAIT,
    ClientCert,
    FakeHooks,
    device_cert,
    running_broker,
    self_signed_cert,
    wait_until,
)
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties

from mock_iotprov.mqtt.broker import MqttBroker
from mock_iotprov.pki.authority import get_pki

PROTOCOLS = {"3.1.1": mqtt.MQTTv311, "5": mqtt.MQTTv5}


class PahoClient:
    def __init__(self, client: mqtt.Client) -> None:
        self.client = client
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        client.on_message = lambda _c, _u, message: self.messages.put(message)
        client.on_connect = lambda _c, _u, _f, reason, _p: self.events.put(("connect", reason))
        client.on_subscribe = lambda _c, _u, mid, reasons, _p: self.events.put(("subscribe", reasons))
        client.on_unsubscribe = lambda _c, _u, mid, reasons, _p: self.events.put(("unsubscribe", reasons))
        client.on_publish = lambda _c, _u, mid, reason, _p: self.events.put(("publish", reason))
        client.on_disconnect = lambda _c, _u, _f, reason, _p: self.events.put(("disconnect", reason))

    def event(self, kind: str) -> Any:
        while True:
            name, value = self.events.get(timeout=WAIT)
            if name == kind:
                return value

    def message(self) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=WAIT)

    def subscribe(self, topic_filter: str, qos: int = 1) -> Any:
        self.client.subscribe(topic_filter, qos)
        return self.event("subscribe")

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False, **props: Any) -> None:
        properties = None
        if props:
            properties = PahoProperties(PacketTypes.PUBLISH)
            for name, value in props.items():
                setattr(properties, name, value)
        self.client.publish(topic, payload, qos, retain, properties).wait_for_publish(WAIT)


@contextmanager
def paho(
    broker: MqttBroker, client_id: str, protocol: str, cert: ClientCert | None = None
) -> Iterator[PahoClient]:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=PROTOCOLS[protocol])
    cert = cert or device_cert()
    with tempfile.TemporaryDirectory() as folder, cert.files() as (cert_path, key_path):
        ca_path = os.path.join(folder, "ca.pem")
        with open(ca_path, "w") as handle:
            handle.write(get_pki().ca_bundle_pem())
        client.tls_set(ca_certs=ca_path, certfile=cert_path, keyfile=key_path)
    wrapped = PahoClient(client)
    client.connect("127.0.0.1", broker.port, keepalive=60)
    client.loop_start()
    try:
        yield wrapped
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.fixture
def hooks() -> FakeHooks:
    return FakeHooks()


@pytest.fixture
def broker(hooks: FakeHooks) -> Iterator[MqttBroker]:
    with running_broker(hooks) as running:
        yield running


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_publish_subscribe_qos_0_and_1_both_ways(broker: MqttBroker, protocol: str) -> None:
    with paho(broker, "alice", protocol) as alice, paho(broker, "bob", protocol) as bob:
        assert alice.event("connect") == 0 and bob.event("connect") == 0
        assert [int(code.value) for code in alice.subscribe("to/alice/#", 1)] == [1]
        assert [int(code.value) for code in bob.subscribe("to/bob", 0)] == [0]
        bob.publish("to/alice/x", b"qos1", qos=1)
        alice.publish("to/bob", b"qos0 sub", qos=1)
        got = alice.message()
        assert (got.topic, got.payload, got.qos) == ("to/alice/x", b"qos1", 1)
        got = bob.message()
        assert (got.topic, got.payload, got.qos) == (
            "to/bob",
            b"qos0 sub",
            0,
        )  # downgraded to the subscription
        bob.publish("to/alice/y", b"qos0", qos=0)
        assert alice.message().qos == 0
        alice.client.unsubscribe("to/alice/#")
        alice.event("unsubscribe")
        bob.publish("to/alice/x", b"after unsubscribe", qos=1)
        alice.publish("to/bob", b"marker", qos=1)
        assert bob.message().payload == b"marker"
        assert alice.messages.empty()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_retained_and_wildcards_with_the_dollar_rule(broker: MqttBroker, protocol: str) -> None:
    with paho(broker, "publisher", protocol) as publisher:
        publisher.event("connect")
        publisher.publish("home/kitchen/temp", b"21", retain=True)
        publisher.publish("$aws/things/t/shadow/update", b"{}", retain=False)
        with paho(broker, "reader", protocol) as reader:
            reader.event("connect")
            reader.subscribe("home/+/temp")
            retained = reader.message()
            assert (retained.topic, retained.payload, retained.retain) == ("home/kitchen/temp", b"21", True)
            reader.subscribe("#")
            publisher.publish("$aws/things/t/shadow/update", b"{}")
            publisher.publish("home/hall/temp", b"19")
            again = reader.message()  # the new '#' subscription gets the retained message too
            assert (again.topic, again.retain) == ("home/kitchen/temp", True)
            live = reader.message()
            assert (live.topic, live.retain) == ("home/hall/temp", False)  # '#' did not match the $aws topic


def test_v5_properties_reach_a_v5_subscriber_from_a_311_and_a_v5_publisher(broker: MqttBroker) -> None:
    with (
        paho(broker, "sub5", "5") as sub5,
        paho(broker, "pub5", "5") as pub5,
        paho(broker, "pub3", "3.1.1") as pub3,
    ):
        for client in (sub5, pub5, pub3):
            client.event("connect")
        sub5.subscribe("req/#")
        pub5.publish("req/1", b"a", ResponseTopic="resp/1", CorrelationData=b"c1", UserProperty=[("k", "v")])
        got = sub5.message()
        assert got.properties.ResponseTopic == "resp/1" and got.properties.CorrelationData == b"c1"
        assert got.properties.UserProperty == [("k", "v")]
        pub3.publish("req/2", b"b")
        assert sub5.message().payload == b"b"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_connect_refused_as_not_authorized(hooks: FakeHooks, protocol: str) -> None:
    hooks.allowed = set()
    with running_broker(hooks) as broker, paho(broker, "nobody", protocol, self_signed_cert()) as client:
        assert str(client.event("connect")) == "Not authorized"  # paho's name for 3.1.1 code 5 and v5 0x87


def test_takeover_disconnects_the_first_v5_client_with_session_taken_over(
    broker: MqttBroker, hooks: FakeHooks
) -> None:
    with paho(broker, "twin", "5") as first:
        first.event("connect")
        first.client.reconnect_delay_set(60, 120)
        with paho(broker, "twin", "5") as second:
            second.event("connect")
            assert int(first.event("disconnect").value) == 0x8E
            wait_until(lambda: ("twin", "DUPLICATE_CLIENTID") in hooks.disconnects)
