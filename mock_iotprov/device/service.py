"""The device side as the broker sees it: :class:`DeviceService` implements ``BrokerHooks``.

Each hook is answered under the store lock of the principal's account and region (as
``dispatch.call_operation`` does for the control plane) and never raises: an unexpected failure refuses
(admission, authorization) or becomes a ``…/rejected`` reply with ``InternalFailure`` (500).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from mock_iotprov.device import authorization, presence
from mock_iotprov.device.calls import DeviceCall
from mock_iotprov.device.errors import INTERNAL_FAILURE, DeviceRequestRejected
from mock_iotprov.device.lambdas import FunctionRegistry
from mock_iotprov.device.payloads import decode_request, encode_reply
from mock_iotprov.device.principals import DevicePrincipal
from mock_iotprov.device.topics import route
from mock_iotprov.mqtt.hooks import Admission, ClientHello, OutboundMessage
from mock_iotprov.state import Backend, MockOptions, RequestContext

log = logging.getLogger("mock_iotprov")


class DeviceService:
    """The fleet-provisioning API, authentication and presence events of one mock.

    ``backend`` returns the mock's current state (a mock gets a new backend each time it starts).
    """

    def __init__(
        self, backend: Callable[[], Backend], options: MockOptions, functions: FunctionRegistry
    ) -> None:
        self._backend = backend
        self.options = options
        self.functions = functions

    def admit(self, hello: ClientHello) -> Admission:
        try:
            return authorization.admit_connection(self._backend(), self.options, hello)
        except Exception:
            log.exception("mock_iotprov: admission of %r failed unexpectedly", hello.client_id)
            return Admission(False, reason="internal failure")

    def authorize(self, principal: Any, client_id: str, action: str, resource: str) -> bool:
        if not isinstance(principal, DevicePrincipal):
            return False
        try:
            return authorization.authorize(self._backend(), self.options, principal, action, resource)
        except Exception:
            log.exception("mock_iotprov: authorization of %r failed unexpectedly", client_id)
            return False

    def reserved(
        self, principal: Any, client_id: str, topic: str, payload: bytes
    ) -> Sequence[OutboundMessage] | None:
        request = route(topic)
        if request is None:
            return None
        if request.handler is None or not isinstance(principal, DevicePrincipal):
            return []
        call = DeviceCall(self._backend(), self.options, principal, client_id, self.functions)
        payload_format = request.payload_format
        try:
            document = request.handler(call, decode_request(payload_format, payload), request.labels)
            outcome = "accepted"
        except DeviceRequestRejected as rejection:
            document, outcome = rejection.payload(), "rejected"
        except Exception as exc:
            log.exception("mock_iotprov: %s failed unexpectedly", topic)
            failure = DeviceRequestRejected(
                500, INTERNAL_FAILURE, f"{topic} failed inside mock_iotprov: {exc!r}"
            )
            document, outcome = failure.payload(), "rejected"
        return [
            OutboundMessage(topic=f"{topic}/{outcome}", payload=encode_reply(payload_format, document), qos=1)
        ]

    def _presence(
        self, principal: DevicePrincipal, event: Callable[[RequestContext], list[OutboundMessage]]
    ) -> list[OutboundMessage]:
        store = self._backend().store(principal.account_id, principal.region)
        ctx = RequestContext(store, self.options)
        try:
            with store.lock:
                return event(ctx)
        except Exception:
            log.exception("mock_iotprov: presence event of %r failed unexpectedly", principal.client_id)
            return []

    def connected(self, principal: Any, hello: ClientHello) -> Sequence[OutboundMessage]:
        if not isinstance(principal, DevicePrincipal):
            return []
        return self._presence(principal, lambda ctx: presence.connected_event(ctx, principal))

    def disconnected(self, principal: Any, client_id: str, reason: str) -> Sequence[OutboundMessage]:
        if not isinstance(principal, DevicePrincipal):
            return []
        return self._presence(principal, lambda ctx: presence.disconnected_event(ctx, principal, reason))
