"""What a device-side handler knows about the request it answers: whose store, which principal, and how
to hold the store's lock (as ``dispatch.call_operation`` does for the control plane)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from mock_iotprov.device.lambdas import FunctionRegistry
from mock_iotprov.device.principals import DevicePrincipal
from mock_iotprov.state import Backend, MockOptions, RequestContext


@dataclass(frozen=True)
class DeviceCall:
    """One request on a reserved topic."""

    backend: Backend
    options: MockOptions
    principal: DevicePrincipal
    client_id: str
    functions: FunctionRegistry

    @property
    def context(self) -> RequestContext:
        """The control plane's request context for the principal's account and region."""
        return RequestContext(
            self.backend.store(self.principal.account_id, self.principal.region), self.options
        )

    @contextmanager
    def locked(self) -> Iterator[RequestContext]:
        """Hold the store's lock (expired tokens swept first); every domain call happens inside.

        With a state directory (``serve --state-dir``), what the block changed is on disk before the block's
        caller goes on to answer the device.
        """
        ctx = self.context
        journal = self.backend.journal
        with ctx.store.lock:
            ctx.store.sweep(ctx)
            yield ctx
            ticket = journal.changed(ctx.store) if journal is not None else 0
        if journal is not None and ticket:
            journal.wait(ticket)
