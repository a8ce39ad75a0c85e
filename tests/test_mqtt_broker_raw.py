"""The broker over real TLS on loopback, driven by a bare MQTT client: admission at CONNECT, protocol
errors, limits, takeover, keep-alive, reserved-topic isolation and many concurrent connections."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mqtt_support import (
    ClientCert,
    FakeHooks,
    RawClient,
    client_context,
    device_cert,
    running_broker,
    self_signed_cert,
    wait_until,
)

from mock_iotprov.mqtt import packets as p
from mock_iotprov.mqtt.broker import MqttBroker
from mock_iotprov.mqtt.hooks import OutboundMessage
from mock_iotprov.mqtt.limits import BrokerLimits
from mock_iotprov.mqtt.properties import Properties
from mock_iotprov.pki.authority import get_pki


@pytest.fixture
def hooks() -> FakeHooks:
    return FakeHooks()


@pytest.fixture
def broker(hooks: FakeHooks) -> Iterator[MqttBroker]:
    with running_broker(hooks) as running:
        yield running


@pytest.fixture
def cert() -> ClientCert:
    return device_cert()


def subscribe(
    client: RawClient, topic_filter: str, qos: int = 1, packet_id: int = 1, **options: Any
) -> p.SubAck:
    client.send(p.Subscribe(packet_id, (p.SubscriptionRequest(topic_filter, qos, **options),)))
    ack = client.receive()
    assert isinstance(ack, p.SubAck), ack
    return ack


def publish_ack(
    client: RawClient, topic: str, payload: bytes, packet_id: int = 9, **fields: Any
) -> p.Packet | None:
    client.send(p.Publish(topic, payload, 1, packet_id=packet_id, **fields))
    return client.receive()


# -- admission ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("level, refused_code", [(p.MQTT_311, 0x05), (p.MQTT_5, 0x87)])
def test_unknown_certificate_passes_tls_and_is_refused_at_connect(
    hooks: FakeHooks, level: int, refused_code: int
) -> None:
    known = device_cert()
    hooks.allowed = {known.der}
    with running_broker(hooks) as broker:
        stranger = self_signed_cert()
        client = RawClient(broker.port, stranger, level)
        ack = client.connect("stranger")
        assert ack.reason_code == refused_code
        assert client.closed_by_server() == []
        assert hooks.hellos[-1].certificate_der == stranger.der
        welcome = RawClient(broker.port, known, level)
        assert welcome.connect("known").reason_code == 0
        assert broker.connected_clients() == ["known"]


def test_hello_carries_connect_fields_alpn_and_server_name(
    broker: MqttBroker, hooks: FakeHooks, cert: ClientCert
) -> None:
    client = RawClient(broker.port, cert, p.MQTT_5, alpn=["x-amzn-mqtt-ca"])
    assert client.sock.selected_alpn_protocol() == "x-amzn-mqtt-ca"
    client.connect("dev", keep_alive=60, username="u?SDK=Python", clean_start=False)
    hello = hooks.hellos[-1]
    assert (hello.client_id, hello.protocol_level, hello.username, hello.clean_start) == (
        "dev",
        5,
        "u?SDK=Python",
        False,
    )
    assert hello.keep_alive == 60 and hello.alpn_protocol == "x-amzn-mqtt-ca"
    assert hello.certificate_der == cert.der
    assert hello.source_address.startswith("127.0.0.1:")


def test_client_without_certificate_is_refused_by_tls(broker: MqttBroker) -> None:
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as raw:
        with client_context(None).wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            with pytest.raises(ssl.SSLError, match="CERTIFICATE_REQUIRED"):
                tls.sendall(b"\x10\x00")
                tls.recv(10)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    "version, accepted", [(ssl.TLSVersion.TLSv1_1, False), (ssl.TLSVersion.TLSv1_2, True)]
)
def test_tls_1_2_is_the_minimum(
    broker: MqttBroker, cert: ClientCert, version: ssl.TLSVersion, accepted: bool
) -> None:
    context = client_context(cert)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer old versions, so the server decides
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = version
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as raw:
        if accepted:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                assert tls.version() == "TLSv1.2"
        else:
            with pytest.raises(ssl.SSLError, match="ALERT_PROTOCOL_VERSION"):
                context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_unsupported_protocol_version_and_bad_client_ids(broker: MqttBroker, cert: ClientCert) -> None:
    old = RawClient(broker.port, cert)
    old.send(b"\x10\x0f\x00\x06MQIsdp\x03\x02\x00\x3c\x00\x01c")
    assert old.closed_by_server() == [p.ConnAck(0x01)]
    too_long = RawClient(broker.port, cert, p.MQTT_5)
    assert too_long.connect("x" * 129).reason_code == 0x85
    empty_persistent = RawClient(broker.port, cert)
    assert empty_persistent.connect("", clean_start=False).reason_code == 0x02
    assigned = RawClient(broker.port, cert, p.MQTT_5)
    ack = assigned.connect("")
    assert ack.reason_code == 0 and ack.properties.assigned_client_identifier
    assert broker.connected_clients() == [ack.properties.assigned_client_identifier]


def test_v5_connack_announces_aws_limits_and_clamps_keep_alive(broker: MqttBroker, cert: ClientCert) -> None:
    client = RawClient(broker.port, cert, p.MQTT_5)
    ack = client.connect("dev", keep_alive=5, properties=Properties(session_expiry_interval=100_000))
    props = ack.properties
    assert (props.maximum_qos, props.retain_available, props.topic_alias_maximum) == (1, 1, 8)
    assert props.server_keep_alive == 30
    assert props.session_expiry_interval == 3600
    assert props.shared_subscription_available == 0 and props.subscription_identifier_available == 0
    other = RawClient(broker.port, cert, p.MQTT_5)
    assert other.connect("other", keep_alive=0).properties.server_keep_alive == 1200
    third = RawClient(broker.port, cert, p.MQTT_5)
    assert third.connect("third", keep_alive=60).properties.server_keep_alive is None


# -- protocol errors close only the offending connection ----------------------------------------------


@pytest.mark.parametrize(
    "garbage, v5_reason",
    [
        (b"\x30\xff\xff\xff\xff\x01", 0x81),  # remaining length of five bytes
        (b"\x62\x02\x00\x01", 0x82),  # PUBREL: no QoS 2
        (b"\x10\x00", 0x82),  # a second CONNECT
        (b"\x30\x05\x00\x01a\x01\x7f", 0x81),  # unknown property
        (b"\x34\x06\x00\x01a\x00\x01\x00", 0x9B),  # PUBLISH QoS 2
        (b"\x30\x04\x00\x01+\x00", 0x90),  # wildcard in a topic name
    ],
)
def test_protocol_error_closes_only_that_connection(
    broker: MqttBroker, hooks: FakeHooks, cert: ClientCert, garbage: bytes, v5_reason: int
) -> None:
    bystander = RawClient(broker.port, cert)
    bystander.connect("bystander")
    subscribe(bystander, "news")
    offender = RawClient(broker.port, cert, p.MQTT_5)
    offender.connect("offender")
    offender.send(garbage)
    assert offender.closed_by_server() == [p.Disconnect(v5_reason)]
    wait_until(lambda: ("offender", "CLIENT_ERROR") in hooks.disconnects)
    assert broker.connected_clients() == ["bystander"]
    assert isinstance(publish_ack(bystander, "news", b"still here"), p.PubAck)
    delivered = bystander.receive()
    assert isinstance(delivered, p.Publish) and delivered.payload == b"still here"


def test_oversized_payload_closes_the_connection_without_buffering_it(
    broker: MqttBroker, cert: ClientCert
) -> None:
    client = RawClient(broker.port, cert, p.MQTT_5)
    client.connect("big")
    header = b"\x30" + bytes((0x80 | 0x00, 0x80, 0x40))  # remaining length 1 MiB, body never sent
    client.send(header)
    assert client.closed_by_server() == [p.Disconnect(0x95)]
    just_over = RawClient(broker.port, cert)
    just_over.connect("just-over")
    just_over.send(p.Publish("t", b"x" * (128 * 1024 + 1), 0))
    assert just_over.closed_by_server() == []
    fits = RawClient(broker.port, cert)
    fits.connect("fits")
    subscribe(fits, "t")
    assert isinstance(publish_ack(fits, "t", b"x" * (128 * 1024)), p.PubAck)
    assert len(fits.receive().payload) == 128 * 1024  # type: ignore[union-attr]


def test_aws_topic_limits_on_publish_and_subscribe(broker: MqttBroker, cert: ClientCert) -> None:
    client = RawClient(broker.port, cert, p.MQTT_5)
    client.connect("dev")
    filters = ("a/" * 8 + "b", "a" * 257, "a/#/b", "$share/g/a", "ok/+")
    client.send(p.Subscribe(1, tuple(p.SubscriptionRequest(f, 1) for f in filters)))
    assert client.receive() == p.SubAck(1, (0x8F, 0x8F, 0x8F, 0x9E, 1))
    nine = tuple(p.SubscriptionRequest(f"f/{n}", 0) for n in range(9))
    client.send(p.Subscribe(2, nine))
    assert client.receive() == p.SubAck(2, (0,) * 8 + (0x97,))
    client.send(p.Publish("a/" * 8 + "b", b"", 0))
    assert client.closed_by_server() == [p.Disconnect(0x90)]


def test_subscriptions_per_connection_are_capped_at_50(broker: MqttBroker, cert: ClientCert) -> None:
    client = RawClient(broker.port, cert)
    client.connect("dev")
    for batch in range(7):
        client.send(
            p.Subscribe(batch + 1, tuple(p.SubscriptionRequest(f"t/{batch}/{n}", 0) for n in range(8)))
        )
        codes = client.receive().reason_codes  # type: ignore[union-attr]
    assert codes == (0,) * 2 + (0x80,) * 6  # 50 accepted in all, the rest refused


# -- behaviour -----------------------------------------------------------------------------------------


def test_second_connection_with_the_same_client_id_takes_over(
    broker: MqttBroker, hooks: FakeHooks, cert: ClientCert
) -> None:
    first = RawClient(broker.port, cert, p.MQTT_5)
    first.connect("same")
    second = RawClient(broker.port, cert, p.MQTT_5)
    second.connect("same")
    assert first.closed_by_server() == [p.Disconnect(0x8E)]
    wait_until(lambda: len(hooks.presence) == 3)
    assert hooks.presence == [("connected", "same"), ("DUPLICATE_CLIENTID", "same"), ("connected", "same")]
    assert broker.connected_clients() == ["same"]
    subscribe(second, "t")
    assert isinstance(publish_ack(second, "t", b"x"), p.PubAck)


def test_keep_alive_timeout_disconnects_a_silent_client(hooks: FakeHooks, cert: ClientCert) -> None:
    with running_broker(hooks, BrokerLimits(min_keep_alive=1)) as broker:
        silent = RawClient(broker.port, cert, p.MQTT_5)
        silent.connect("silent", keep_alive=1)
        pinging = RawClient(broker.port, cert)
        pinging.connect("pinging", keep_alive=1)
        for _ in range(4):
            pinging.send(p.PingReq())
            assert pinging.receive() == p.PingResp()
            threading.Event().wait(0.5)
        assert silent.closed_by_server(timeout=5) == [p.Disconnect(0x8D)]
        assert ("silent", "MQTT_KEEP_ALIVE_TIMEOUT") in hooks.disconnects
        assert broker.connected_clients() == ["pinging"]


def test_reserved_topic_replies_reach_only_the_requester(
    broker: MqttBroker, hooks: FakeHooks, cert: ClientCert
) -> None:
    hooks.replies["$aws/certificates/create/json"] = lambda client_id, payload: [
        OutboundMessage(
            "$aws/certificates/create/json/accepted", b'{"privateKey": "' + client_id.encode() + b'"}'
        )
    ]
    spy = RawClient(broker.port, cert)
    spy.connect("spy")
    subscribe(spy, "$aws/certificates/create/json/accepted", packet_id=1)
    subscribe(spy, "$aws/certificates/create/json", packet_id=2)
    subscribe(spy, "#", packet_id=3)
    device = RawClient(broker.port, cert)
    device.connect("device")
    subscribe(device, "$aws/certificates/create/json/accepted")
    assert publish_ack(device, "$aws/certificates/create/json", b"{}") == p.PubAck(9)
    reply = device.receive()
    assert isinstance(reply, p.Publish) and reply.payload == b'{"privateKey": "device"}'
    assert hooks.reserved_calls == [("device", "$aws/certificates/create/json", b"{}")]
    # the spy saw neither the request nor the reply: the next thing it gets is a later ordinary message
    assert isinstance(publish_ack(device, "plain", b"later"), p.PubAck)
    seen = spy.receive()
    while isinstance(seen, p.Publish) and seen.topic.startswith("$aws/events/presence/"):
        seen = spy.receive()
    assert isinstance(seen, p.Publish) and (seen.topic, seen.payload) == ("plain", b"later")


def test_unanswered_reserved_topic_is_routed_normally(
    broker: MqttBroker, hooks: FakeHooks, cert: ClientCert
) -> None:
    client = RawClient(broker.port, cert)
    client.connect("dev")
    subscribe(client, "$aws/things/dev/shadow/update")
    assert isinstance(publish_ack(client, "$aws/things/dev/shadow/update", b"{}"), p.PubAck)
    routed = client.receive()
    assert isinstance(routed, p.Publish) and routed.topic == "$aws/things/dev/shadow/update"
    assert hooks.reserved_calls == [("dev", "$aws/things/dev/shadow/update", b"{}")]


def test_authorization_of_subscribe_publish_and_receive(
    broker: MqttBroker, hooks: FakeHooks, cert: ClientCert
) -> None:
    hooks.denied = {
        ("iot:Subscribe", "secret/#"),
        ("iot:Publish", "forbidden"),
        ("iot:Receive", "hidden"),
        ("iot:RetainPublish", "kept"),
    }
    v5 = RawClient(broker.port, cert, p.MQTT_5)
    v5.connect("v5")
    assert subscribe(v5, "secret/#").reason_codes == (0x87,)
    v5.send(p.Subscribe(2, (p.SubscriptionRequest("hidden", 1), p.SubscriptionRequest("seen", 1))))
    assert v5.receive() == p.SubAck(2, (1, 1))
    assert publish_ack(v5, "forbidden", b"x") == p.PubAck(9, 0x87)
    assert publish_ack(v5, "kept", b"x", retain=True) == p.PubAck(9, 0x87)
    v5.send(p.Publish("forbidden", b"x", 0))  # QoS 0: dropped silently
    assert publish_ack(v5, "hidden", b"not for you") == p.PubAck(9)
    assert publish_ack(v5, "seen", b"for you") == p.PubAck(9)
    delivered = v5.receive()
    assert isinstance(delivered, p.Publish) and delivered.topic == "seen"
    v311 = RawClient(broker.port, cert)
    v311.connect("v311")
    assert subscribe(v311, "secret/#").reason_codes == (0x80,)
    v311.send(p.Publish("forbidden", b"x", 1, packet_id=4))
    assert v311.closed_by_server() == []  # AWS closes a 3.1.1 connection on a denied publish
    wait_until(lambda: ("v311", "FORBIDDEN_ACCESS") in hooks.disconnects)


def test_retained_messages(broker: MqttBroker, cert: ClientCert) -> None:
    publisher = RawClient(broker.port, cert)
    publisher.connect("publisher")
    assert isinstance(publish_ack(publisher, "state/a", b"on", retain=True), p.PubAck)
    assert isinstance(publish_ack(publisher, "state/b", b"off", retain=True), p.PubAck)
    late = RawClient(broker.port, cert)
    late.connect("late")
    subscribe(late, "state/+")
    got = {(m.topic, m.payload, m.retain) for m in (late.receive(), late.receive())}  # type: ignore[union-attr]
    assert got == {("state/a", b"on", True), ("state/b", b"off", True)}
    assert isinstance(publish_ack(publisher, "state/a", b"", retain=True), p.PubAck)  # clears
    later = RawClient(broker.port, cert, p.MQTT_5)
    later.connect("later")
    subscribe(later, "state/+")
    only = later.receive()
    assert isinstance(only, p.Publish) and (only.topic, only.retain) == ("state/b", True)
    subscribe(later, "state/+", packet_id=2, retain_handling=2)
    assert publish_ack(later, "x", b"") == p.PubAck(9)  # nothing retained was sent again before this


def test_retained_message_needs_receive_permission(
    broker: MqttBroker, hooks: FakeHooks, cert: ClientCert
) -> None:
    hooks.denied = {("iot:Receive", "state/hidden")}
    publisher = RawClient(broker.port, cert)
    publisher.connect("publisher")
    assert isinstance(publish_ack(publisher, "state/hidden", b"1", retain=True), p.PubAck)
    assert isinstance(publish_ack(publisher, "state/shown", b"2", retain=True), p.PubAck)
    late = RawClient(broker.port, cert)
    late.connect("late")
    subscribe(late, "state/+")
    shown = late.receive()
    assert isinstance(shown, p.Publish) and shown.topic == "state/shown"
    assert publish_ack(late, "x", b"") == p.PubAck(9)  # nothing else was sent before this answer


def test_v5_topic_alias_and_message_properties(broker: MqttBroker, cert: ClientCert) -> None:
    receiver = RawClient(broker.port, cert, p.MQTT_5)
    receiver.connect("receiver")
    subscribe(receiver, "t/#")
    sender = RawClient(broker.port, cert, p.MQTT_5)
    sender.connect("sender")
    props = Properties(
        topic_alias=2,
        content_type="json",
        response_topic="r",
        correlation_data=b"id",
        user_properties=(("k", "v"),),
    )
    assert publish_ack(sender, "t/long", b"1", properties=props) == p.PubAck(9)
    assert publish_ack(sender, "", b"2", properties=Properties(topic_alias=2)) == p.PubAck(9)
    first, second = receiver.receive(), receiver.receive()
    assert isinstance(first, p.Publish) and isinstance(second, p.Publish)
    assert (first.topic, second.topic) == ("t/long", "t/long")
    assert first.properties.user_properties == (("k", "v"),)
    assert (first.properties.content_type, first.properties.correlation_data) == ("json", b"id")
    assert first.properties.topic_alias is None
    sender.send(p.Publish("t/x", b"", 0, properties=Properties(topic_alias=9)))
    assert sender.closed_by_server() == [p.Disconnect(0x94)]


def test_unsubscribe_and_qos_2_subscription_granted_qos_1(broker: MqttBroker, cert: ClientCert) -> None:
    client = RawClient(broker.port, cert, p.MQTT_5)
    client.connect("dev")
    assert subscribe(client, "t", qos=2).reason_codes == (1,)
    client.send(p.Unsubscribe(5, ("t", "never")))
    assert client.receive() == p.UnsubAck(5, (0x00, 0x11))
    assert publish_ack(client, "t", b"x") == p.PubAck(9)
    client.send(p.PingReq())
    assert client.receive() == p.PingResp()  # nothing delivered after unsubscribing


def test_persistent_session_keeps_subscriptions_and_queues_qos1(broker: MqttBroker, cert: ClientCert) -> None:
    device = RawClient(broker.port, cert)
    device.connect("sleepy", clean_start=False)
    subscribe(device, "cmd")
    device.send(p.Disconnect())
    device.close()
    wait_until(lambda: broker.connected_clients() == [])
    sender = RawClient(broker.port, cert)
    sender.connect("sender")
    assert isinstance(publish_ack(sender, "cmd", b"wake up"), p.PubAck)
    sender.send(p.Publish("cmd", b"qos0 is not queued", 0))
    back = RawClient(broker.port, cert)
    assert back.connect("sleepy", clean_start=False).session_present is True
    queued = back.receive()
    assert isinstance(queued, p.Publish) and queued.payload == b"wake up"
    fresh = RawClient(broker.port, cert)
    assert fresh.connect("sleepy", clean_start=True).session_present is False


def test_server_side_publish_and_presence_events(
    broker: MqttBroker, hooks: FakeHooks, cert: ClientCert
) -> None:
    watcher = RawClient(broker.port, cert)
    watcher.connect("watcher")
    subscribe(watcher, "$aws/events/presence/+/+")

    def next_event_about_other() -> p.Publish:
        while True:
            event = watcher.receive()
            assert isinstance(event, p.Publish)
            if event.topic.endswith("/other"):  # the watcher's own connected event may come first
                return event

    other = RawClient(broker.port, cert)
    other.connect("other")
    assert next_event_about_other().topic == "$aws/events/presence/connected/other"
    other.send(p.Disconnect())
    event = next_event_about_other()
    assert event.topic == "$aws/events/presence/disconnected/other"
    assert event.payload == b"CLIENT_INITIATED_DISCONNECT"
    subscribe(watcher, "registry/events", packet_id=2)
    broker.publish(OutboundMessage("registry/events", b"thing created", qos=1))
    event = watcher.receive()
    assert isinstance(event, p.Publish) and event.payload == b"thing created"


def test_will_message_published_when_the_connection_is_lost(broker: MqttBroker, cert: ClientCert) -> None:
    watcher = RawClient(broker.port, cert)
    watcher.connect("watcher")
    subscribe(watcher, "wills/+")
    doomed = RawClient(broker.port, cert)
    doomed.connect("doomed", will=p.Will("wills/doomed", b"gone", 1))
    polite = RawClient(broker.port, cert)
    polite.connect("polite", will=p.Will("wills/polite", b"gone", 1))
    polite.send(p.Disconnect())
    polite.close()
    doomed.close()
    will = watcher.receive()
    assert isinstance(will, p.Publish) and will.topic == "wills/doomed"


def test_stop_disconnects_everyone_and_is_idempotent(hooks: FakeHooks, cert: ClientCert) -> None:
    with running_broker(hooks) as broker:
        client = RawClient(broker.port, cert, p.MQTT_5)
        client.connect("dev")
        broker.stop()
        assert client.closed_by_server() == [p.Disconnect(0x8B)]
        broker.stop()
        assert broker.connected_clients() == []
        with pytest.raises(RuntimeError):
            broker.publish(OutboundMessage("t", b""))


def test_two_hundred_concurrent_connections(broker: MqttBroker, cert: ClientCert) -> None:
    clients = []
    try:
        for number in range(200):
            client = RawClient(broker.port, cert)
            client.send(p.Connect(f"c{number}", keep_alive=60))
            clients.append(client)
        for client in clients:
            assert client.receive() == p.ConnAck(0)
        assert len(broker.connected_clients()) == 200
        clients[0].send(p.Subscribe(1, (p.SubscriptionRequest("all", 0),)))
        assert isinstance(clients[0].receive(), p.SubAck)
        clients[-1].send(p.Publish("all", b"hello", 0))
        assert clients[0].receive() == p.Publish("all", b"hello", 0)
    finally:
        for client in clients:
            client.close()


def test_hello_carries_the_certificates_the_client_sent_after_its_leaf(
    broker: MqttBroker, hooks: FakeHooks
) -> None:
    leaf = device_cert()
    device_ca = get_pki().device_ca.certificate
    with_chain = ClientCert(
        leaf.certificate_pem + get_pki().device_ca.certificate_pem(), leaf.key_pem, leaf.der
    )
    client = RawClient(broker.port, with_chain)
    client.connect("chained")
    hello = hooks.hellos[-1]
    assert hello.certificate_der == leaf.der
    assert hello.chain_der == (device_ca.public_bytes(serialization.Encoding.DER),)


def test_unacknowledged_qos1_is_resent_with_dup_when_the_session_resumes(
    broker: MqttBroker, cert: ClientCert
) -> None:
    device = RawClient(broker.port, cert)
    device.connect("forgetful", clean_start=False)
    subscribe(device, "cmd")
    sender = RawClient(broker.port, cert)
    sender.connect("sender")
    assert isinstance(publish_ack(sender, "cmd", b"do it"), p.PubAck)
    first = device.receive()
    assert isinstance(first, p.Publish) and not first.dup
    device.close()  # no PUBACK
    wait_until(lambda: "forgetful" not in broker.connected_clients())
    back = RawClient(broker.port, cert)
    assert back.connect("forgetful", clean_start=False).session_present
    again = back.receive()
    assert isinstance(again, p.Publish)
    assert (again.payload, again.dup, again.packet_id) == (b"do it", True, first.packet_id)


def test_v5_receive_maximum_limits_unacknowledged_deliveries(broker: MqttBroker, cert: ClientCert) -> None:
    slow = RawClient(broker.port, cert, p.MQTT_5)
    slow.connect("slow", properties=Properties(receive_maximum=1))
    subscribe(slow, "work")
    sender = RawClient(broker.port, cert)
    sender.connect("sender")
    for number in range(3):
        assert isinstance(publish_ack(sender, "work", str(number).encode(), packet_id=number + 1), p.PubAck)
    first = slow.receive()
    assert isinstance(first, p.Publish) and first.payload == b"0"
    slow.send(p.PingReq())
    assert slow.receive() == p.PingResp()  # the second waits for the first PUBACK
    for expected in (b"1", b"2"):
        slow.send(p.PubAck(first.packet_id or 0))
        first = slow.receive()  # type: ignore[assignment]
        assert isinstance(first, p.Publish) and first.payload == expected


def test_persistent_session_expires(hooks: FakeHooks, cert: ClientCert) -> None:
    with running_broker(hooks, BrokerLimits(session_expiry=1, min_keep_alive=1)) as broker:
        device = RawClient(broker.port, cert)
        device.connect("brief", clean_start=False)
        subscribe(device, "cmd")
        device.send(p.Disconnect())
        device.close()
        wait_until(lambda: "brief" not in broker.connected_clients())
        threading.Event().wait(1.6)
        back = RawClient(broker.port, cert)
        assert back.connect("brief", clean_start=False).session_present is False


def test_v5_disconnect_with_will_message_publishes_the_will(broker: MqttBroker, cert: ClientCert) -> None:
    watcher = RawClient(broker.port, cert)
    watcher.connect("watcher")
    subscribe(watcher, "wills/+")
    leaving = RawClient(broker.port, cert, p.MQTT_5)
    leaving.connect(
        "leaving", will=p.Will("wills/leaving", b"bye", 1, properties=Properties(content_type="t"))
    )
    leaving.send(p.Disconnect(0x04, Properties(reason_string="going", user_properties=(("k", "v"),))))
    will = watcher.receive()
    assert isinstance(will, p.Publish) and (will.topic, will.payload) == ("wills/leaving", b"bye")


def test_expired_retained_message_is_not_delivered(broker: MqttBroker, cert: ClientCert) -> None:
    publisher = RawClient(broker.port, cert, p.MQTT_5)
    publisher.connect("publisher")
    short = Properties(message_expiry_interval=1)
    assert publish_ack(publisher, "news/short", b"stale soon", retain=True, properties=short) == p.PubAck(9)
    assert publish_ack(publisher, "news/long", b"fresh", retain=True) == p.PubAck(9)
    threading.Event().wait(1.2)
    reader = RawClient(broker.port, cert, p.MQTT_5)
    reader.connect("reader")
    subscribe(reader, "news/#")
    only = reader.receive()
    assert isinstance(only, p.Publish) and only.topic == "news/long"
    reader.send(p.PingReq())
    assert reader.receive() == p.PingResp()


def test_certificate_from_a_users_own_ca_reaches_admission(hooks: FakeHooks) -> None:
    """The TLS layer trusts nothing: a certificate whose CA the broker has never seen is judged by admit()."""
    user_ca = self_signed_cert("user CA")
    ca_key = serialization.load_pem_private_key(user_ca.key_pem.encode(), None)
    ca_cert = x509.load_pem_x509_certificate(user_ca.certificate_pem.encode())
    device_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device")]))
        .issuer_name(ca_cert.subject)
        .public_key(device_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(ca_cert.not_valid_before_utc)
        .not_valid_after(ca_cert.not_valid_after_utc)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    leaf_der = leaf.public_bytes(serialization.Encoding.DER)
    key_pem = device_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    cert = ClientCert(leaf.public_bytes(serialization.Encoding.PEM).decode(), key_pem, leaf_der)
    hooks.allowed = {leaf_der}
    with running_broker(hooks) as broker:
        assert RawClient(broker.port, cert, p.MQTT_5).connect("user-ca-device").reason_code == 0
        hooks.allowed = set()  # e.g. the CA was deactivated meanwhile: no restart needed to refuse
        assert RawClient(broker.port, cert, p.MQTT_5).connect("user-ca-device").reason_code == 0x87
