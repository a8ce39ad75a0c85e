"""The pure provisioning-template engine: template text + parameters -> :class:`ProvisioningPlan`.

The engine has no side effects and no dependencies beyond the standard library. It parses and
validates templates (:func:`check_template`, used when a template is stored) and evaluates them
with parameter values (:func:`evaluate_template`, used by RegisterThing). Applying a plan to the
registry is a separate step. Every problem with a template is reported as :class:`TemplateError`,
whose ``message`` is suitable for an ``InvalidRequestException``.
"""

from __future__ import annotations

from .language import TemplateError
from .plan import CertificateSpec, PolicySpec, ProvisioningPlan, ThingSpec
from .resources import check_template, evaluate_template, generated_policy_name

__all__ = [
    "CertificateSpec",
    "PolicySpec",
    "ProvisioningPlan",
    "TemplateError",
    "ThingSpec",
    "check_template",
    "evaluate_template",
    "generated_policy_name",
]
