"""Pre-provisioning hooks: the user's own AWS Lambda handlers, registered by function ARN and run locally.

Behaviour reproduced (spec section 6.4): for every RegisterThing over MQTT on a template with a
``preProvisioningHook``, the function is invoked with ``{claimCertificateId, certificateId,
certificatePem, templateArn, clientId, parameters}``. Provisioning goes on only when the answer has
``allowProvisioning`` true; ``parameterOverrides`` are merged into the device's parameters (an override
wins). A function that raises, answers anything else, is not registered, or does not return within
5 seconds refuses provisioning.

A handler is called as Lambda calls it, ``handler(event, context)``, with a context object shaped like
Lambda's Python context (``function_name``, ``function_version``, ``invoked_function_arn``,
``memory_limit_in_mb``, ``aws_request_id``, ``log_group_name``, ``log_stream_name``, ``identity``,
``client_context``, ``get_remaining_time_in_millis()``), in a thread of its own. A handler still running
after the limit keeps running in the background; its answer is ignored. Registered functions are not
part of the mock's AWS state: ``reset()`` keeps them.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mock_iotprov.device.errors import access_denied

HOOK_TIMEOUT_SECONDS = 5.0
LambdaHandler = Callable[[dict[str, Any], Any], Any]

_FUNCTION_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:(?P<name>[a-zA-Z0-9_-]{1,64})(:[a-zA-Z0-9$_-]+)?"
)
log = logging.getLogger("mock_iotprov")


@dataclass
class LambdaContext:
    """The ``context`` argument of a Lambda handler, as the Python runtime shapes it."""

    function_name: str
    invoked_function_arn: str
    deadline: float
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity: Any = None
    client_context: Any = None

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"mock_iotprov/[{self.function_version}]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the hook's 5-second limit."""
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class FunctionRegistry:
    """The Lambda handlers of one mock, by function ARN."""

    def __init__(self) -> None:
        self._functions: dict[str, LambdaHandler] = {}
        self._lock = threading.Lock()

    def register(self, function_arn: str, handler: LambdaHandler) -> None:
        """Run ``handler`` whenever a template's hook names ``function_arn``; ``ValueError`` for a bad ARN."""
        if _FUNCTION_ARN.fullmatch(function_arn) is None:
            raise ValueError(f"not an AWS Lambda function ARN: {function_arn!r}")
        if not callable(handler):
            raise TypeError(f"the handler of {function_arn} is not callable")
        with self._lock:
            self._functions[function_arn] = handler

    def find(self, function_arn: str) -> LambdaHandler | None:
        """The handler registered for ``function_arn``, if any."""
        with self._lock:
            return self._functions.get(function_arn)


def _allowed_overrides(answer: Any) -> dict[str, str] | None:
    """The parameter overrides of an answer that allows provisioning, or None when it does not."""
    if not isinstance(answer, Mapping) or answer.get("allowProvisioning") is not True:
        return None
    overrides = answer.get("parameterOverrides") or {}
    if not isinstance(overrides, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in overrides.items()
    ):
        return None
    return dict(overrides)


def run_pre_provisioning_hook(
    functions: FunctionRegistry,
    function_arn: str,
    event: dict[str, Any],
    timeout: float = HOOK_TIMEOUT_SECONDS,
) -> dict[str, str]:
    """Invoke the hook; its ``parameterOverrides`` when it allows provisioning, else ``AccessDenied``."""
    handler = functions.find(function_arn)
    if handler is None:
        raise access_denied(
            f"The pre-provisioning hook {function_arn} could not be invoked: no such function."
        )
    match = _FUNCTION_ARN.fullmatch(function_arn)
    context = LambdaContext(
        function_name=match.group("name") if match else function_arn,
        invoked_function_arn=function_arn,
        deadline=time.monotonic() + timeout,
    )
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def invoke() -> None:
        try:
            outcome["answer"] = handler(event, context)
        except BaseException as exc:  # a user's handler may raise anything; it only means "refused"
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=invoke, name="mock_iotprov-hook", daemon=True).start()
    if not done.wait(timeout):
        raise access_denied(f"The pre-provisioning hook {function_arn} did not return within {timeout:g} s.")
    if "error" in outcome:
        error = outcome["error"]
        log.info("mock_iotprov: pre-provisioning hook %s raised %r", function_arn, error)
        raise access_denied(f"The pre-provisioning hook {function_arn} failed: {type(error).__name__}.")
    overrides = _allowed_overrides(outcome.get("answer"))
    if overrides is None:
        raise access_denied(f"The pre-provisioning hook {function_arn} did not allow provisioning.")
    return overrides
