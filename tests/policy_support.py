"""IoT policies for tests whose devices need permissions: AWS refuses a connection unless a policy attached
to its certificate (or its thing's groups) allows ``iot:Connect``."""

from __future__ import annotations

import json
from typing import Any

ALLOW_ALL = "allow-all"


def policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow_everything(iot: Any, certificate_arn: str) -> None:
    """Attach an allow-all policy (``iot:*`` on ``*``) to a certificate, creating the policy once."""
    if ALLOW_ALL not in [p["policyName"] for p in iot.list_policies()["policies"]]:
        statement = {"Effect": "Allow", "Action": "iot:*", "Resource": "*"}
        iot.create_policy(policyName=ALLOW_ALL, policyDocument=policy_document(statement))
    iot.attach_policy(policyName=ALLOW_ALL, target=certificate_arn)
