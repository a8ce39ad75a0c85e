"""Real AWS IoT Device SDK clients (awsiotsdk on awscrt) for the device-side tests, always stopped.

awscrt facts these helpers respect: it checks the server name against the broker certificate's SAN; an
MQTT 5 client must be stopped and its ``on_lifecycle_stopped`` awaited before it is dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from awscrt import mqtt, mqtt5, mqtt_request_response
from awsiot import iotidentity, mqtt5_client_builder, mqtt_connection_builder

from mock_iotprov import MockIotProvisioning

TIMEOUT = 15.0


@dataclass
class Credentials:
    certificate_pem: str
    private_key_pem: str


def claim_credentials(iot: Any, template: str = "fleet") -> Credentials:
    claim = iot.create_provisioning_claim(templateName=template)
    return Credentials(claim["certificatePem"], claim["keyPair"]["PrivateKey"])


@contextmanager
def mqtt3_connection(
    mock: MockIotProvisioning, credentials: Credentials, client_id: str, host: str | None = None
) -> Iterator[mqtt.Connection]:
    """A connected MQTT 3.1.1 connection; disconnected at exit."""
    connection = mqtt_connection_builder.mtls_from_bytes(
        endpoint=host or mock.mqtt_host,
        port=mock.mqtt_port,
        cert_bytes=credentials.certificate_pem.encode(),
        pri_key_bytes=credentials.private_key_pem.encode(),
        ca_bytes=mock.ca_bundle_pem.encode(),
        client_id=client_id,
        clean_session=True,
        keep_alive_secs=30,
    )
    connection.connect().result(TIMEOUT)
    try:
        yield connection
    finally:
        connection.disconnect().result(TIMEOUT)


@dataclass
class Mqtt5Client:
    client: mqtt5.Client
    connected: Future[Any] = field(default_factory=Future)
    stopped: Future[Any] = field(default_factory=Future)
    failure: Future[Any] = field(default_factory=Future)


def _mqtt5_client(
    mock: MockIotProvisioning, credentials: Credentials, client_id: str, **callbacks: Any
) -> Mqtt5Client:
    holder: dict[str, Mqtt5Client] = {}

    def on_success(event: Any) -> None:
        if not holder["client"].connected.done():
            holder["client"].connected.set_result(event)

    def on_failure(event: Any) -> None:
        if not holder["client"].failure.done():
            holder["client"].failure.set_result(event)

    def on_stopped(event: Any) -> None:
        holder["client"].stopped.set_result(True)

    client = mqtt5_client_builder.mtls_from_bytes(
        endpoint="localhost",
        port=mock.mqtt_port,
        cert_bytes=credentials.certificate_pem.encode(),
        pri_key_bytes=credentials.private_key_pem.encode(),
        ca_bytes=mock.ca_bundle_pem.encode(),
        client_id=client_id,
        on_lifecycle_connection_success=on_success,
        on_lifecycle_connection_failure=on_failure,
        on_lifecycle_stopped=on_stopped,
        **callbacks,
    )
    holder["client"] = Mqtt5Client(client)
    return holder["client"]


@contextmanager
def mqtt5_session(
    mock: MockIotProvisioning,
    credentials: Credentials,
    client_id: str,
    *,
    expect_connect: bool = True,
    **callbacks: Any,
) -> Iterator[Mqtt5Client]:
    """A started MQTT 5 client (connected unless ``expect_connect`` is false); stopped and awaited at exit."""
    wrapped = _mqtt5_client(mock, credentials, client_id, **callbacks)
    wrapped.client.start()
    try:
        if expect_connect:
            wrapped.connected.result(TIMEOUT)
        yield wrapped
    finally:
        wrapped.client.stop()
        wrapped.stopped.result(TIMEOUT)


def identity_v2(protocol_client: Any) -> iotidentity.IotIdentityClientV2:
    options = mqtt_request_response.ClientOptions(
        max_request_response_subscriptions=2, max_streaming_subscriptions=0, operation_timeout_in_seconds=20
    )
    return iotidentity.IotIdentityClientV2(protocol_client, options)


class Inbox:
    """Messages received on a connection's subscriptions, with a way to wait for them."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._changed = threading.Condition()

    def on_message(self, topic: str, payload: bytes, **kwargs: Any) -> None:
        with self._changed:
            self.messages.append((topic, payload))
            self._changed.notify_all()

    def wait_for(self, topic: str, timeout: float = TIMEOUT) -> bytes:
        with self._changed:
            found = self._changed.wait_for(lambda: any(t == topic for t, _ in self.messages), timeout)
            assert found, f"no message on {topic}; got {[t for t, _ in self.messages]}"
            return next(p for t, p in self.messages if t == topic)

    def topics(self) -> list[str]:
        with self._changed:
            return [t for t, _ in self.messages]
