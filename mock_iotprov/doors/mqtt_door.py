"""Starting the device side's MQTT broker for a door (the in-process mock or ``serve``), and loading the
Lambda handlers ``serve --lambda ARN=module:function`` names."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mock_iotprov.mqtt.broker import MqttBroker
from mock_iotprov.mqtt.hooks import BrokerHooks
from mock_iotprov.pki import get_pki
from mock_iotprov.pki.server_certificate import server_credentials

if TYPE_CHECKING:
    from mock_iotprov.device.lambdas import LambdaHandler
    from mock_iotprov.doors.server import IotProvisioningServer
    from mock_iotprov.state import Backend, Store


def start_broker(hooks: BrokerHooks, host: str, port: int) -> MqttBroker:
    """A running broker on ``host``:``port`` (0: a free port) whose server certificate, issued by the mock
    root CA, names ``localhost``, ``127.0.0.1``, ``::1`` and ``host``; ``OSError`` if it cannot bind."""
    credentials = server_credentials(host)
    broker = MqttBroker(
        host,
        port,
        certificate_chain_pem=credentials.certificate_chain_pem,
        private_key_pem=credentials.private_key_pem,
        hooks=hooks,
    )
    broker.start()
    return broker


def feed_registry(backend: Backend, broker: MqttBroker) -> None:
    """Connect every store of ``backend`` to ``broker``: registry events are published through it and
    fleet indexing reads connectivity from its connected client ids."""
    from mock_iotprov.indexing.search import set_connectivity_source
    from mock_iotprov.registry.events import set_event_publisher

    def connect(store: Store) -> None:
        set_event_publisher(store, broker.publish)
        set_connectivity_source(store, broker.connected_clients)

    backend.on_new_store(connect)


def load_lambda(option: str) -> tuple[str, LambdaHandler]:
    """``ARN=module:function`` → (ARN, the imported function); ``ValueError`` with a clear message."""
    arn, equals, target = option.partition("=")
    module_name, colon, function_name = target.partition(":")
    if not (equals and colon and arn and module_name and function_name):
        raise ValueError(f"--lambda wants ARN=module:function, got {option!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"--lambda {arn}: cannot import {module_name}: {exc}") from None
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise ValueError(f"--lambda {arn}: {module_name} has no function {function_name}")
    return arn, handler


class DeviceSide:
    """The broker next to ``serve``'s HTTP endpoint: same state, same account, its own Lambda handlers."""

    def __init__(self, server: IotProvisioningServer, host: str, port: int | None) -> None:
        from mock_iotprov.device import DeviceService, FunctionRegistry

        self.host, self.port = host, port
        self.server = server
        self.functions = FunctionRegistry()
        self.hooks = DeviceService(lambda: server.backend, server.options, self.functions)
        self.broker: MqttBroker | None = None

    def prepare(self, lambdas: Sequence[str], ca_file: str | None) -> None:
        """Register the ``--lambda`` handlers, write ``--ca-file``; ``ValueError``/``OSError`` if unable."""
        for option in lambdas:
            self.functions.register(*load_lambda(option))
        if ca_file is not None:
            with open(ca_file, "w", encoding="ascii") as bundle:
                bundle.write(get_pki().ca_bundle_pem())

    def start(self) -> None:
        if self.port is not None:
            self.broker = start_broker(self.hooks, self.host, self.port)
            feed_registry(self.server.backend, self.broker)

    def connected_clients(self) -> list[str]:
        """The client ids connected to the broker (none while it is not running)."""
        return [] if self.broker is None else list(self.broker.connected_clients())

    def address_suffix(self) -> str:
        """`` and mqtts://host:port`` once running, else nothing."""
        if self.broker is None:
            return ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f" and mqtts://{host}:{self.broker.port}"

    def stop(self) -> None:
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
