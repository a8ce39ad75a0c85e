"""The public lifecycle: ``mock_iot_provisioning`` (decorator, class decorator, context manager, handle)
and ``patch_session``.

Each start of a mock begins with empty state; ``reset()`` empties it again (O(1): the stores are dropped).
Certificates the mock issues chain to the CAs in ``ca_bundle_pem``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from mock_iotprov import active
from mock_iotprov.decorating import decorate
from mock_iotprov.doors import botocore_door, credentials, requests_door
from mock_iotprov.faults import DEFAULT_CODE, Fault, FaultTable, new_fault
from mock_iotprov.provisioning.claims import ClaimCertificate, claims_of
from mock_iotprov.state import DEFAULT_ACCOUNT_ID, Backend, MockOptions
from mock_iotprov.throttling import Throttle

if TYPE_CHECKING:
    from mock_iotprov.device import DeviceService, FunctionRegistry
    from mock_iotprov.policy import Decision

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_MQTT_HOST = "127.0.0.1"


class MockIotProvisioning:
    """A mock of the AWS IoT provisioning control plane; also the handle a test uses.

    Use it as a context manager, a decorator (functions, ``async def`` functions, generator functions,
    static and class methods, and classes), or with
    ``start()``/``stop()``. Starting an already started mock nests (it stays active until the matching
    number of ``stop()`` calls) without resetting its state.

    With ``mqtt=True`` it also runs an MQTT broker over mutual TLS on ``mqtt_host``/``mqtt_port`` (port 0
    picks a free port) while it is active: the device side of fleet provisioning.
    """

    def __init__(
        self,
        account_id: str = DEFAULT_ACCOUNT_ID,
        *,
        fresh_keys: bool = False,
        session_loader: Any = None,
        mqtt: bool = False,
        mqtt_host: str = DEFAULT_MQTT_HOST,
        mqtt_port: int = 0,
        throttle: bool | Throttle = False,
    ) -> None:
        self.options = MockOptions(
            account_id=account_id, fresh_keys=fresh_keys, data_endpoint=mqtt_host if mqtt else None
        )
        self.session_loader = session_loader
        self.backend = Backend()
        self._depth = 0
        self.mqtt, self._mqtt_host, self._mqtt_port = mqtt, mqtt_host, mqtt_port
        self._functions: FunctionRegistry | None = None
        self._device: DeviceService | None = None
        self._broker: Any = None
        self._undo_on_stop: list[Callable[[], None]] = []
        self.faults = FaultTable()
        self.throttle: Throttle | None = Throttle() if throttle is True else (throttle or None)

    def inject_fault(
        self,
        operation: str,
        code: str | None = DEFAULT_CODE,
        *,
        times: int | None = 1,
        probability: float = 1.0,
        latency_s: float = 0.0,
        seed: int | None = None,
    ) -> Fault:
        """Answer the next ``times`` requests to ``operation`` (``"*"``: any) with error ``code``.

        See :mod:`mock_iotprov.faults`: ``code`` must be declared by the model for the operation (else
        ``ValueError`` listing the allowed codes); ``times=None`` until cleared; ``probability`` with a
        reproducible draw when ``seed`` is given; ``latency_s`` delays the answer (``code=None``: delay
        only). Injected errors go through the client's own retry handling. Returns the armed fault, whose
        ``fired`` counts the requests it answered. Faults are configuration, not state: ``reset()`` keeps
        them.
        """
        fault = new_fault(
            operation, code, times=times, probability=probability, latency_s=latency_s, seed=seed
        )
        return self.faults.add(fault)

    def clear_faults(self) -> None:
        """Disarm every injected fault."""
        self.faults.clear()

    @property
    def account_id(self) -> str:
        """The AWS account id every request is answered for."""
        return self.options.account_id

    @property
    def ca_bundle_pem(self) -> str:
        """PEM text of the mock's CA certificates, root first; every issued certificate chains to them,
        and so does the MQTT broker's server certificate."""
        from mock_iotprov.pki import get_pki

        return get_pki().ca_bundle_pem()

    @property
    def claims(self) -> list[ClaimCertificate]:
        """Every claim certificate issued so far (all accounts and regions), oldest first."""
        issued = [claim for store in self.backend.stores() for claim in claims_of(store)]
        return sorted(issued, key=lambda claim: claim.not_before)

    @property
    def functions(self) -> FunctionRegistry:
        """The Lambda handlers registered with :meth:`register_lambda`."""
        if self._functions is None:
            from mock_iotprov.device import FunctionRegistry

            self._functions = FunctionRegistry()
        return self._functions

    def register_lambda(self, function_arn: str, handler: Callable[[dict[str, Any], Any], Any]) -> None:
        """Run ``handler(event, context)`` (a Lambda handler) as the function ``function_arn``, e.g. for a
        template's pre-provisioning hook. Registrations survive ``reset()``."""
        self.functions.register(function_arn, handler)

    @property
    def device_service(self) -> DeviceService:
        """The device side (the broker's ``BrokerHooks``): fleet-provisioning topics, admission, presence."""
        if self._device is None:
            from mock_iotprov.device import DeviceService

            self._device = DeviceService(lambda: self.backend, self.options, self.functions)
        return self._device

    @property
    def mqtt_host(self) -> str:
        """The host the broker listens on (``mqtt=True`` only)."""
        self._running_broker()
        return self._mqtt_host

    @property
    def mqtt_port(self) -> int:
        """The port the broker is bound to (``mqtt=True`` only; the real port when 0 was asked)."""
        return int(self._running_broker().port)

    def _running_broker(self) -> Any:
        if self._broker is None:
            raise RuntimeError("no MQTT broker runs: start the mock with mqtt=True")
        return self._broker

    def _start_broker(self) -> None:
        from mock_iotprov.doors.mqtt_door import feed_registry, start_broker

        self._broker = start_broker(self.device_service, self._mqtt_host, self._mqtt_port)
        feed_registry(self.backend, self._broker)

    def _stop_broker(self) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            broker.stop()

    @property
    def active(self) -> bool:
        """Whether the mock is currently answering requests."""
        return self._depth > 0

    def start(self) -> MockIotProvisioning:
        """Start answering ``iot`` requests (with empty state unless already started)."""
        self._depth += 1
        if self._depth == 1:
            self.backend = Backend()
            if self.mqtt:
                try:
                    self._start_broker()
                except BaseException:
                    self._depth = 0
                    raise
            botocore_door.install()
            active.push(self)
            if self.session_loader is None:
                credentials.acquire()
                requests_door.attach(self)
        return self

    def stop(self) -> None:
        """Stop answering; requests go where they would without the mock."""
        if self._depth == 0:
            raise RuntimeError("stop() called on a mock that is not started")
        self._depth -= 1
        if self._depth == 0:
            active.remove(self)
            if self.session_loader is None:
                requests_door.detach(self)
                credentials.release()
            while self._undo_on_stop:
                self._undo_on_stop.pop()()
            self._stop_broker()

    def authorize(
        self,
        certificate_id: str,
        action: str,
        resource: str,
        *,
        client_id: str | None = None,
        region: str | None = None,
    ) -> Decision:
        """What the broker would decide for a device connected with this certificate, without a connection.

        ``action``: ``iot:Connect``, ``iot:Publish``, ``iot:Subscribe``, ``iot:Receive`` or
        ``iot:RetainPublish`` (``"Publish"`` works too); ``resource``: a full ARN, or the client id, topic or
        topic filter it names. ``client_id`` defaults to the name of the one thing the certificate is
        attached to. The answer is truthy when allowed; ``.statement`` names the deciding policy, version
        and statement, ``.reason`` explains. See ``mock_iotprov.device.authorization``.
        """
        from mock_iotprov.device.authorization import check

        return check(
            self.backend, self.options, certificate_id, action, resource, client_id=client_id, region=region
        )

    def reset(self) -> None:
        """Empty all state (every account and region) without stopping."""
        self.backend.reset()

    def wait_for_registration_tasks(self, timeout: float = 30.0) -> bool:
        """Wait until every bulk registration task (StartThingRegistrationTask) has ended.

        True when they all have; False when ``timeout`` seconds passed first.
        """
        from mock_iotprov.provisioning.bulk_registration import wait_for_tasks

        return wait_for_tasks(self.backend.stores(), timeout)

    def __enter__(self) -> MockIotProvisioning:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _fresh(self) -> MockIotProvisioning:
        fresh = MockIotProvisioning(
            self.options.account_id,
            fresh_keys=self.options.fresh_keys,
            session_loader=self.session_loader,
            mqtt=self.mqtt,
            mqtt_host=self._mqtt_host,
            mqtt_port=self._mqtt_port,
            throttle=self.throttle.fresh() if self.throttle is not None else False,
        )
        fresh._functions = self._functions
        return fresh

    def __call__(self, target: F) -> F:
        """Decorate a function (each call runs in a fresh mock) or a class (each test method does); see
        :mod:`mock_iotprov.decorating` for generators, static and class methods and inherited tests."""
        return decorate(target, self._fresh)  # type: ignore[no-any-return]


@overload
def mock_iot_provisioning(func: F, /) -> F: ...


@overload
def mock_iot_provisioning(
    func: None = None,
    /,
    *,
    account_id: str = DEFAULT_ACCOUNT_ID,
    fresh_keys: bool = False,
    mqtt: bool = False,
    mqtt_host: str = DEFAULT_MQTT_HOST,
    mqtt_port: int = 0,
    throttle: bool | Throttle = False,
) -> MockIotProvisioning: ...


def mock_iot_provisioning(
    func: Any = None,
    /,
    *,
    account_id: str = DEFAULT_ACCOUNT_ID,
    fresh_keys: bool = False,
    mqtt: bool = False,
    mqtt_host: str = DEFAULT_MQTT_HOST,
    mqtt_port: int = 0,
    throttle: bool | Throttle = False,
) -> Any:
    """Mock AWS IoT provisioning for every botocore client in the process.

    ``@mock_iot_provisioning`` or ``@mock_iot_provisioning(account_id=...)`` on a function or class;
    ``with mock_iot_provisioning() as mock:``; or ``mock = mock_iot_provisioning(); mock.start()``.
    ``fresh_keys=True`` generates a new RSA key for every key handed out instead of using the key pool.
    ``mqtt=True`` also runs an MQTT broker (mutual TLS) on ``mqtt_host``:``mqtt_port`` (0: a free port)
    for devices; the handle's ``mqtt_host``/``mqtt_port`` say where, ``ca_bundle_pem`` trusts it.
    ``throttle=True`` applies AWS IoT Core's per-API rate quotas (see :mod:`mock_iotprov.throttling`; pass a
    ``Throttle(clock=...)`` to control time); requests beyond them get ``ThrottlingException``.
    """
    mock = MockIotProvisioning(
        account_id,
        fresh_keys=fresh_keys,
        mqtt=mqtt,
        mqtt_host=mqtt_host,
        mqtt_port=mqtt_port,
        throttle=throttle,
    )
    if func is None:
        return mock
    return mock(func)


def patch_session(
    session: Any,
    *,
    account_id: str = DEFAULT_ACCOUNT_ID,
    fresh_keys: bool = False,
    mqtt: bool = False,
    mqtt_host: str = DEFAULT_MQTT_HOST,
    mqtt_port: int = 0,
) -> MockIotProvisioning:
    """Mock AWS IoT provisioning for one boto3 ``Session`` or botocore session only.

    Every ``iot`` client of that session, existing or future, is answered locally; clients of other
    sessions are not touched. Returns the started handle; ``handle.stop()`` undoes the patch.
    ``mqtt=True`` runs a broker as :func:`mock_iot_provisioning` does.
    When the session has no credentials, its credential chain stops before the network providers
    (instance metadata, container endpoint) while patched: see ``credentials.cover_session``.
    """
    botocore_session = getattr(session, "_session", session)
    get_component = getattr(botocore_session, "get_component", None)
    if get_component is None:
        raise TypeError(f"patch_session needs a boto3.Session or botocore session, got {session!r}")
    loader = get_component("data_loader")
    mock = MockIotProvisioning(
        account_id,
        fresh_keys=fresh_keys,
        session_loader=loader,
        mqtt=mqtt,
        mqtt_host=mqtt_host,
        mqtt_port=mqtt_port,
    ).start()
    mock._undo_on_stop.append(credentials.cover_session(botocore_session))
    return mock
