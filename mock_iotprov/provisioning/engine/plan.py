"""The result of evaluating a provisioning template: what a RegisterThing call would provision.

A plan is plain, immutable data. It says *what* the template asks for, with every parameter,
intrinsic function and mapping already resolved; it knows nothing about the registry. Applying a
plan (creating the thing, signing the CSR, attaching policies ...) is a separate step.

The dataclasses are frozen. Mapping-valued fields are ordinary ``dict`` objects so callers can pass
them on (e.g. into a JSON response) without conversion; the engine builds a fresh dict for every
plan and never mutates it afterwards, and callers must not mutate it either.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Values allowed in ``ThingSpec.overrides`` (AWS OverrideSettings actions).
OVERRIDE_ACTIONS: tuple[str, ...] = ("MERGE", "REPLACE", "DO_NOTHING", "FAIL")

#: Values allowed for ``CertificateSpec.status``.
CERTIFICATE_STATUSES: tuple[str, ...] = ("ACTIVE", "INACTIVE")

#: Values allowed for ``CertificateSpec.thing_principal_type``.
THING_PRINCIPAL_TYPES: tuple[str, ...] = ("EXCLUSIVE_THING", "NON_EXCLUSIVE_THING")


@dataclass(frozen=True)
class ThingSpec:
    """An ``AWS::IoT::Thing`` resource after evaluation.

    ``None`` means the property was absent from the template (as opposed to, e.g., an empty
    ``AttributePayload`` ``{}``, which is kept as ``{}``). ``overrides`` maps a property name
    (``AttributePayload``, ``ThingTypeName``, ``ThingGroups``) to its upper-case OverrideSettings
    action; properties without a setting are absent from it.
    """

    logical_id: str
    thing_name: str
    attribute_payload: dict[str, str] | None
    thing_type_name: str | None
    thing_groups: tuple[str, ...] | None
    billing_group: str | None
    package_versions: dict[str, str] | None
    overrides: dict[str, str]


@dataclass(frozen=True)
class CertificateSpec:
    """An ``AWS::IoT::Certificate`` resource after evaluation.

    Exactly one of ``certificate_id``, ``certificate_signing_request`` and ``certificate_pem`` is
    set; ``ca_certificate_pem`` is only ever set together with ``certificate_pem``. ``status`` is
    upper-case (``ACTIVE`` by default); ``status_override`` is the upper-case OverrideSettings
    action for ``Status`` (``DO_NOTHING``, ``REPLACE`` or ``FAIL``) or ``None`` when not given.
    ``thing_principal_type`` is ``None`` when the template does not say (the applier's default).
    """

    logical_id: str
    certificate_id: str | None
    certificate_signing_request: str | None
    certificate_pem: str | None
    ca_certificate_pem: str | None
    status: str
    status_override: str | None
    thing_principal_type: str | None


@dataclass(frozen=True)
class PolicySpec:
    """An ``AWS::IoT::Policy`` resource after evaluation.

    ``policy_document`` is ``None`` when the template references an existing policy by
    ``PolicyName``. Otherwise it is the document text (verbatim when the template gave a string,
    compact JSON when it gave an object) and ``policy_name`` is derived from that text by
    :func:`generated_policy_name`.
    """

    logical_id: str
    policy_name: str
    policy_document: str | None


@dataclass(frozen=True)
class ProvisioningPlan:
    """Everything one evaluation of a template asks for.

    ``policies`` keeps the template's order. ``device_configuration`` is the evaluated flat
    ``DeviceConfiguration`` section (keys whose value depends on a parameter with no value are
    omitted).
    """

    thing: ThingSpec | None
    certificate: CertificateSpec | None
    policies: tuple[PolicySpec, ...]
    device_configuration: dict[str, str]
