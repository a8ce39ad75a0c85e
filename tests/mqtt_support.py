"""Shared pieces of the MQTT broker tests: a recording fake of BrokerHooks, certificates, a broker on
loopback, a raw TLS MQTT client (for protocol errors) and paho-mqtt clients."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mock_iotprov.mqtt import codec
from mock_iotprov.mqtt import packets as p
from mock_iotprov.mqtt.broker import MqttBroker
from mock_iotprov.mqtt.hooks import Admission, ClientHello, OutboundMessage
from mock_iotprov.mqtt.limits import BrokerLimits
from mock_iotprov.pki.authority import get_pki
from mock_iotprov.pki.x509 import issue_device_certificate

NOW = datetime.datetime.now(datetime.timezone.utc)
WAIT = 10.0


@dataclass(frozen=True)
class ClientCert:
    certificate_pem: str
    key_pem: str
    der: bytes

    @contextmanager
    def files(self) -> Iterator[tuple[str, str]]:
        with tempfile.TemporaryDirectory() as folder:
            cert_path, key_path = os.path.join(folder, "c.pem"), os.path.join(folder, "k.pem")
            with open(cert_path, "w") as handle:
                handle.write(self.certificate_pem)
            with open(key_path, "w") as handle:
                handle.write(self.key_pem)
            yield cert_path, key_path


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def device_cert() -> ClientCert:
    """A certificate from the mock's device CA (what CreateKeysAndCertificate hands out)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue_device_certificate(key.public_key(), NOW)
    return ClientCert(
        cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        _pem_key(key),
        cert.public_bytes(serialization.Encoding.DER),
    )


def self_signed_cert(name: str = "stranger") -> ClientCert:
    """A certificate no CA the mock knows has signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return ClientCert(
        cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        _pem_key(key),
        cert.public_bytes(serialization.Encoding.DER),
    )


@dataclass
class FakeHooks:
    """BrokerHooks for tests: admits certificates in ``allowed`` (all when None), denies the
    ``(action, resource)`` pairs in ``denied``, answers reserved topics from ``replies`` and records calls."""

    allowed: set[bytes] | None = None
    denied: set[tuple[str, str]] = field(default_factory=set)
    replies: dict[str, Callable[[str, bytes], Sequence[OutboundMessage]]] = field(default_factory=dict)
    hellos: list[ClientHello] = field(default_factory=list)
    reserved_calls: list[tuple[str, str, bytes]] = field(default_factory=list)
    connected_ids: list[str] = field(default_factory=list)
    disconnects: list[tuple[str, str]] = field(default_factory=list)
    presence: list[tuple[str, str]] = field(default_factory=list)
    """("connected" or the disconnect reason, client id), in the order the hooks were called."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, hello: ClientHello) -> Admission:
        with self.lock:
            self.hellos.append(hello)
        if self.allowed is not None and hello.certificate_der not in self.allowed:
            return Admission(accepted=False, reason="unknown certificate")
        return Admission(accepted=True, principal=("principal", hello.client_id))

    def authorize(self, principal: Any, client_id: str, action: str, resource: str) -> bool:
        assert principal == ("principal", client_id)
        return (action, resource) not in self.denied and (action, "*") not in self.denied

    def reserved(
        self, principal: Any, client_id: str, topic: str, payload: bytes
    ) -> Sequence[OutboundMessage] | None:
        with self.lock:
            self.reserved_calls.append((client_id, topic, payload))
        handler = self.replies.get(topic)
        return None if handler is None else handler(client_id, payload)

    def connected(self, principal: Any, hello: ClientHello) -> Sequence[OutboundMessage]:
        with self.lock:
            self.connected_ids.append(hello.client_id)
            self.presence.append(("connected", hello.client_id))
        return [OutboundMessage(f"$aws/events/presence/connected/{hello.client_id}", b"{}", qos=1)]

    def disconnected(self, principal: Any, client_id: str, reason: str) -> Sequence[OutboundMessage]:
        with self.lock:
            self.disconnects.append((client_id, reason))
            self.presence.append((reason, client_id))
        return [OutboundMessage(f"$aws/events/presence/disconnected/{client_id}", reason.encode(), qos=1)]


def wait_until(condition: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@contextmanager
def running_broker(hooks: FakeHooks, limits: BrokerLimits | None = None) -> Iterator[MqttBroker]:
    server = server_certificate()
    broker = MqttBroker(
        "127.0.0.1",
        0,
        certificate_chain_pem=server.certificate_chain_pem,
        private_key_pem=server.private_key_pem,
        hooks=hooks,
        limits=limits,
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@dataclass(frozen=True)
class ServerCert:
    certificate_chain_pem: str
    private_key_pem: str


_server_cert: list[ServerCert] = []


def server_certificate() -> ServerCert:
    """A server certificate from the mock root for localhost, 127.0.0.1 and ::1 (made once)."""
    if not _server_cert:
        root = get_pki().root
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(root.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(root.authority_key_identifier(), critical=False)
            .sign(root.key, hashes.SHA256())
        )
        _server_cert.append(
            ServerCert(cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), _pem_key(key))
        )
    return _server_cert[0]


def client_context(cert: ClientCert | None, alpn: list[str] | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=get_pki().ca_bundle_pem())
    if cert is not None:
        with cert.files() as (cert_path, key_path):
            context.load_cert_chain(cert_path, key_path)
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


class RawClient:
    """A bare MQTT client over TLS: sends the packets (or bytes) it is given, decodes what comes back."""

    def __init__(
        self, port: int, cert: ClientCert | None, level: int = p.MQTT_311, alpn: list[str] | None = None
    ):
        self.level = level
        raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.sock = client_context(cert, alpn).wrap_socket(raw, server_hostname="127.0.0.1")
        self.decoder = codec.PacketDecoder(10_000_000, level)
        self.pending: list[p.Packet] = []

    def send(self, packet: p.Packet | bytes) -> None:
        data = packet if isinstance(packet, bytes) else codec.encode(packet, self.level)
        self.sock.sendall(data)

    def connect(self, client_id: str, **fields: Any) -> p.ConnAck:
        self.send(p.Connect(client_id, self.level, **fields))
        ack = self.receive()
        assert isinstance(ack, p.ConnAck), ack
        return ack

    def receive(self, timeout: float = WAIT) -> p.Packet | None:
        """The next packet, or None when the server closes the connection."""
        self.sock.settimeout(timeout)
        while not self.pending:
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                return None
            if not data:
                return None
            self.pending.extend(self.decoder.feed(data))
        return self.pending.pop(0)

    def closed_by_server(self, timeout: float = WAIT) -> list[p.Packet]:
        """Read until the server closes; returns what it sent before closing."""
        seen = []
        while True:
            packet = self.receive(timeout)
            if packet is None:
                return seen
            seen.append(packet)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
