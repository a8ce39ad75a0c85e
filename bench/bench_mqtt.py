"""The MQTT broker next to mosquitto on the same machine: QoS 1 publish→deliver throughput between two
clients, and 1,000 concurrent TLS connections held.

Both brokers run in their own process on loopback with the same TLS setup (a server certificate from the
mock root, client certificates required) and are driven by the same clients in this process: two paho-mqtt
clients (one publishing QoS 1 as fast as its 100-message window allows, one subscribed with QoS 1) for
throughput; bare TLS sockets sending CONNECT for the connection count, then a PINGREQ on every one of them
to show all are still served. Ratios compare time per message (or per connection): the goal for
throughput is at most 4× mosquitto's time (≥ 0.25× its throughput). mosquitto (Debian package
``mosquitto``) is found on PATH or in /usr/sbin; without it the mock's figures are printed alone.

``python bench/bench_mqtt.py --serve`` runs the mock broker alone (allow-all hooks) and prints its port.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import queue
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from common import Row, Settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

MESSAGES = 20_000
CONNECTIONS = 1_000
WAIT = 60.0


# -- certificates -----------------------------------------------------------------------------------------


def _pem_key(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _certificates(folder: str) -> dict[str, str]:
    """Server and client certificate files from the mock PKI, and the CA bundle, written to ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from mock_iotprov.pki.authority import get_pki
    from mock_iotprov.pki.x509 import issue_device_certificate

    pki = get_pki()
    now = datetime.datetime.now(datetime.timezone.utc)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(pki.root.name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(pki.root.key, hashes.SHA256())
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = issue_device_certificate(client_key.public_key(), now)
    files = {
        "ca": pki.ca_bundle_pem(),
        "server_cert": server.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "server_key": _pem_key(server_key),
        "client_cert": client.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "client_key": _pem_key(client_key),
    }
    paths = {}
    for name, text in files.items():
        paths[name] = os.path.join(folder, f"{name}.pem")
        with open(paths[name], "w") as handle:
            handle.write(text)
        os.chmod(paths[name], 0o644)  # mosquitto started as root reads them as its own unprivileged user
    os.chmod(folder, 0o755)
    return paths


# -- brokers ------------------------------------------------------------------------------------------------


def serve(cert_path: str, key_path: str) -> None:
    """Run the mock broker with allow-all hooks until stdin closes."""
    from mock_iotprov.mqtt.broker import MqttBroker
    from mock_iotprov.mqtt.hooks import Admission, ClientHello, OutboundMessage

    class AllowAll:
        def admit(self, hello: ClientHello) -> Admission:
            return Admission(accepted=True, principal=hello.client_id)

        def authorize(self, principal: Any, client_id: str, action: str, resource: str) -> bool:
            return True

        def reserved(self, principal: Any, client_id: str, topic: str, payload: bytes) -> None:
            return None

        def connected(self, principal: Any, hello: ClientHello) -> Sequence[OutboundMessage]:
            return ()

        def disconnected(self, principal: Any, client_id: str, reason: str) -> Sequence[OutboundMessage]:
            return ()

    with open(cert_path) as cert, open(key_path) as key:
        broker = MqttBroker(
            "127.0.0.1", 0, certificate_chain_pem=cert.read(), private_key_pem=key.read(), hooks=AllowAll()
        )
    print(broker.start(), flush=True)
    sys.stdin.read()
    broker.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def mock_broker(paths: dict[str, str]) -> Iterator[int]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", paths["server_cert"], paths["server_key"]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        yield int(process.stdout.readline())
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def mosquitto_path() -> str | None:
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


@contextmanager
def mosquitto_broker(paths: dict[str, str], executable: str) -> Iterator[int]:
    last_error = ""
    for _attempt in range(5):
        port = _free_port()
        config = os.path.join(os.path.dirname(paths["ca"]), "mosquitto.conf")
        with open(config, "w") as handle:
            handle.write(
                f"listener {port} 127.0.0.1\nallow_anonymous true\nrequire_certificate true\n"
                f"cafile {paths['ca']}\ncertfile {paths['server_cert']}\nkeyfile {paths['server_key']}\n"
                "max_inflight_messages 100\nmax_queued_messages 100000\npersistence false\n"
            )
        log_path = config + ".log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([executable, "-c", config], stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        if process.poll() is None:
            try:
                yield port
            finally:
                process.terminate()
                process.wait(10)
            return
        process.wait()
        with open(log_path, errors="replace") as log_file:
            last_error = log_file.read()
    raise RuntimeError(f"mosquitto did not start: {last_error}")


# -- measurements -----------------------------------------------------------------------------------------


def _paho(paths: dict[str, str], port: int, client_id: str) -> Any:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    client.tls_set(ca_certs=paths["ca"], certfile=paths["client_cert"], keyfile=paths["client_key"])
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    client.connect("127.0.0.1", port, keepalive=60)
    client.loop_start()
    if not connected.wait(WAIT):
        raise RuntimeError("paho client did not connect")
    return client


def qos1_throughput(paths: dict[str, str], port: int, count: int) -> float:
    """Seconds per message, publish to delivery, QoS 1 both legs."""
    received: queue.Queue[int] = queue.Queue()
    seen = [0]

    def on_message(*_: Any) -> None:
        seen[0] += 1
        if seen[0] == count:
            received.put(seen[0])

    subscriber = _paho(paths, port, "bench-subscriber")
    publisher = _paho(paths, port, "bench-publisher")
    try:
        subscribed = threading.Event()
        subscriber.on_subscribe = lambda *_: subscribed.set()
        subscriber.on_message = on_message
        subscriber.subscribe("bench/qos1", 1)
        subscribed.wait(WAIT)
        payload = b"x" * 64
        start = time.perf_counter()
        for _ in range(count):
            publisher.publish("bench/qos1", payload, 1)
        received.get(timeout=WAIT * 5)
        return (time.perf_counter() - start) / count
    finally:
        for client in (publisher, subscriber):
            client.disconnect()
            client.loop_stop()


def hold_connections(paths: dict[str, str], port: int, count: int) -> float:
    """Seconds per connection to open ``count`` TLS connections with CONNECT/CONNACK; then every one of
    them must answer a PINGREQ."""
    context = ssl.create_default_context(cafile=paths["ca"])
    context.load_cert_chain(paths["client_cert"], paths["client_key"])
    sockets: list[ssl.SSLSocket] = []
    start = time.perf_counter()
    try:
        for number in range(count):
            raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
            tls = context.wrap_socket(raw, server_hostname="127.0.0.1")
            client_id = f"held-{number}".encode()
            body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(client_id).to_bytes(2, "big") + client_id
            tls.sendall(bytes((0x10, len(body))) + body)
            sockets.append(tls)
        for tls in sockets:
            if tls.recv(4) != b"\x20\x02\x00\x00":
                raise RuntimeError("connection refused")
        elapsed = time.perf_counter() - start
        for tls in sockets:
            tls.sendall(b"\xc0\x00")
        for tls in sockets:
            if tls.recv(2) != b"\xd0\x00":
                raise RuntimeError("a held connection stopped answering")
        return elapsed / count
    finally:
        for tls in sockets:
            tls.close()


class RateRow(Row):
    def __init__(self, name: str, unit: str, ours: float, baseline: float | None, goal: str) -> None:
        super().__init__(name, ours, "mosquitto" if baseline else "", baseline or 0.0, goal)
        self.unit = unit

    def line(self) -> str:
        mine = f"{1 / self.ours:,.0f} {self.unit}/s"
        if not self.baseline:
            return f"| {self.name} | {mine} | (mosquitto not installed: mock only) | | {self.goal} |"
        theirs = f"{1 / self.baseline:,.0f} {self.unit}/s"
        return (
            f"| {self.name} | {mine} | mosquitto: {theirs} | {self.ratio:.2f}× time "
            f"({1 / self.ratio:.2f}× throughput) | {self.goal} |"
        )


def run(settings: Settings) -> list[Row]:
    messages = settings.count(MESSAGES) * (3 if settings.smoke else 1)
    connections = 50 if settings.smoke else CONNECTIONS
    mosquitto = mosquitto_path()
    if mosquitto is None:
        print("bench_mqtt: mosquitto is not installed; the mock broker is measured alone", file=sys.stderr)
    with tempfile.TemporaryDirectory() as folder:
        paths = _certificates(folder)
        with mock_broker(paths) as port:
            ours_throughput = qos1_throughput(paths, port, messages)
            ours_connections = hold_connections(paths, port, connections)
        theirs_throughput = theirs_connections = None
        if mosquitto is not None:
            with mosquitto_broker(paths, mosquitto) as port:
                theirs_throughput = qos1_throughput(paths, port, messages)
                theirs_connections = hold_connections(paths, port, connections)
    return [
        RateRow(
            f"MQTT QoS 1 publish→deliver, 2 clients, {messages:,} messages",
            "msg",
            ours_throughput,
            theirs_throughput,
            "≥ 0.25× mosquitto throughput",
        ),
        RateRow(
            f"MQTT {connections:,} concurrent TLS connections opened and held",
            "conn",
            ours_connections,
            theirs_connections,
            f"{connections:,} held",
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        print(f"usage: {sys.argv[0]} --serve CERT KEY", file=sys.stderr)
        raise SystemExit(2)
