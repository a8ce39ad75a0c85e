"""Hostile or broken peers and hooks cost the broker bounded time and memory and affect no one else."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mqtt_support import (
    FakeHooks,
    RawClient,
    client_context,
    device_cert,
    running_broker,
    server_certificate,
    wait_until,
)

from mock_iotprov.mqtt import packets as p
from mock_iotprov.mqtt.broker import MqttBroker
from mock_iotprov.mqtt.hooks import Admission, ClientHello, OutboundMessage
from mock_iotprov.mqtt.limits import BrokerLimits


def test_client_that_never_reads_is_dropped_and_the_publisher_goes_on() -> None:
    hooks = FakeHooks()
    with running_broker(hooks, BrokerLimits(max_write_buffer=256 * 1024)) as broker:
        cert = device_cert()
        sleeper = RawClient(broker.port, cert)
        sleeper.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sleeper.connect("sleeper")
        sleeper.send(p.Subscribe(1, (p.SubscriptionRequest("flood", 0),)))
        publisher = RawClient(broker.port, cert)
        publisher.connect("publisher")
        chunk = b"x" * (100 * 1024)
        for number in range(200):  # 20 MB for a client that reads nothing
            publisher.send(p.Publish("flood", chunk, 1, packet_id=number + 1))
            assert publisher.receive() == p.PubAck(number + 1)
            if ("sleeper", "SERVER_INITIATED_DISCONNECT") in hooks.disconnects:
                break
        wait_until(lambda: ("sleeper", "SERVER_INITIATED_DISCONNECT") in hooks.disconnects)
        assert broker.connected_clients() == ["publisher"]
        publisher.send(p.PingReq())
        assert publisher.receive() == p.PingResp()


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the peer closes ``sock`` (whatever it sends first, e.g. a TLS alert) within 10 s."""
    sock.settimeout(10)
    with sock:
        while True:
            try:
                if not sock.recv(4096):
                    return True
            except ConnectionResetError:
                return True
            except TimeoutError:
                return False


def test_silent_and_non_tls_peers_are_dropped_after_the_connect_timeout() -> None:
    hooks = FakeHooks()
    with running_broker(hooks, BrokerLimits(connect_timeout=0.5)) as broker:
        silent = socket.create_connection(("127.0.0.1", broker.port))
        garbage = socket.create_connection(("127.0.0.1", broker.port))
        garbage.sendall(b"GET / HTTP/1.1\r\n\r\n")
        tls_only = RawClient(broker.port, device_cert())  # handshake done, no CONNECT
        good = RawClient(broker.port, device_cert())
        assert good.connect("good").reason_code == 0
        assert closed_by_peer(silent) and closed_by_peer(garbage)
        assert tls_only.closed_by_server() == []
        good.send(p.PingReq())
        assert good.receive() == p.PingResp()
        assert hooks.hellos[0].client_id == "good" and len(hooks.hellos) == 1


class RaisingHooks(FakeHooks):
    def admit(self, hello: ClientHello) -> Admission:
        if hello.client_id == "boom":
            raise RuntimeError("admission failed")
        return super().admit(hello)

    def authorize(self, principal: Any, client_id: str, action: str, resource: str) -> bool:
        if resource == "boom":
            raise RuntimeError("policy failed")
        return super().authorize(principal, client_id, action, resource)

    def reserved(
        self, principal: Any, client_id: str, topic: str, payload: bytes
    ) -> Sequence[OutboundMessage] | None:
        if topic == "$aws/boom":
            raise RuntimeError("service failed")
        return super().reserved(principal, client_id, topic, payload)


def test_failing_hooks_answer_the_refusing_outcome() -> None:
    with running_broker(RaisingHooks()) as broker:
        cert = device_cert()
        assert RawClient(broker.port, cert, p.MQTT_5).connect("boom").reason_code == 0x87
        client = RawClient(broker.port, cert, p.MQTT_5)
        client.connect("dev")
        client.send(p.Subscribe(1, (p.SubscriptionRequest("boom", 1), p.SubscriptionRequest("#", 1))))
        assert client.receive() == p.SubAck(1, (0x87, 1))
        client.send(p.Publish("boom", b"x", 1, packet_id=2))
        assert client.receive() == p.PubAck(2, 0x87)
        client.send(p.Subscribe(3, (p.SubscriptionRequest("$aws/boom", 1),)))
        assert client.receive() == p.SubAck(3, (1,))
        client.send(p.Publish("$aws/boom", b"secret", 1, packet_id=4))
        assert client.receive() == p.PubAck(4)
        client.send(p.PingReq())
        assert client.receive() == p.PingResp()  # the failed request was not routed to anyone


def test_start_on_a_port_in_use_raises_and_stop_is_safe() -> None:
    with running_broker(FakeHooks()) as first:
        server = server_certificate()
        second = MqttBroker(
            "127.0.0.1",
            first.port,
            certificate_chain_pem=server.certificate_chain_pem,
            private_key_pem=server.private_key_pem,
            hooks=FakeHooks(),
        )
        with pytest.raises(OSError):
            second.start()
        second.stop()
        assert not second.running
        assert RawClient(first.port, device_cert()).connect("still-served").reason_code == 0


def test_ipv6_loopback() -> None:
    server_hooks = FakeHooks()
    server = server_certificate()
    broker = MqttBroker(
        "::1",
        0,
        certificate_chain_pem=server.certificate_chain_pem,
        private_key_pem=server.private_key_pem,
        hooks=server_hooks,
    )
    port = broker.start()
    try:
        cert = device_cert()
        with socket.create_connection(("::1", port), timeout=10) as raw:
            with client_context(cert).wrap_socket(raw, server_hostname="::1") as tls:
                tls.sendall(b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01c")
                assert tls.recv(4) == b"\x20\x02\x00\x00"
        wait_until(lambda: server_hooks.hellos and server_hooks.hellos[0].source_address.startswith("::1"))
    finally:
        broker.stop()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(level=st.sampled_from([p.MQTT_311, p.MQTT_5]), garbage=st.binary(min_size=1, max_size=300))
def test_fuzzed_bytes_after_connect_never_break_the_broker(
    shared_broker: MqttBroker, caplog: pytest.LogCaptureFixture, level: int, garbage: bytes
) -> None:
    caplog.set_level(logging.ERROR)
    fuzzer = RawClient(shared_broker.port, FUZZ_CERT, level)
    fuzzer.connect("fuzzer")
    fuzzer.send(garbage)
    fuzzer.close()
    bystander = RawClient(shared_broker.port, FUZZ_CERT)
    bystander.connect("bystander")
    bystander.send(p.PingReq())
    assert bystander.receive() == p.PingResp()
    bystander.close()
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


FUZZ_CERT = device_cert()


@pytest.fixture(scope="module")
def shared_broker() -> Iterator[MqttBroker]:
    with running_broker(FakeHooks()) as broker:
        yield broker
