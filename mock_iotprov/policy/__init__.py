"""The IoT-policy evaluator: pure (no I/O, no registry): policy documents + a request → a decision."""

from __future__ import annotations

from mock_iotprov.policy.documents import ALLOW, DENY, Policy, PolicyDocumentError, Statement, parse_policy
from mock_iotprov.policy.evaluate import DecidingStatement, Decision, evaluate
from mock_iotprov.policy.variables import PolicyVariables

__all__ = [
    "ALLOW",
    "DENY",
    "DecidingStatement",
    "Decision",
    "Policy",
    "PolicyDocumentError",
    "PolicyVariables",
    "Statement",
    "evaluate",
    "parse_policy",
]
