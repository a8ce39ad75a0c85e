"""Resource rules of provisioning templates, and the engine's two entry points.

AWS behaviour reproduced (developer guide, "Provisioning templates"):

* ``Resources`` maps a logical id to ``{"Type", "Properties", "OverrideSettings"}``; the types are
  ``AWS::IoT::Thing``, ``AWS::IoT::Certificate`` and ``AWS::IoT::Policy``.
* A thing needs ``ThingName``; ``OverrideSettings`` (for an existing thing) cover
  ``AttributePayload``, ``ThingTypeName`` and ``ThingGroups`` with ``MERGE`` (not for the type),
  ``REPLACE``, ``DO_NOTHING`` or ``FAIL``.
* A certificate comes from exactly one of ``CertificateId``, ``CertificateSigningRequest`` and
  ``CertificatePem`` (``CACertificatePem`` only with the latter); ``Status`` defaults to ``ACTIVE``
  and is compared case-insensitively because AWS's own examples write ``"Active"``.
* A policy has exactly one of ``PolicyName`` (an existing policy) and ``PolicyDocument`` (a JSON
  object or a JSON string). A new policy's name is a hash of its document: AWS shows a 40-digit
  upper-case hex name without naming the algorithm; this engine uses SHA-1 of the document text.

Choices where AWS is silent: at most one thing and one certificate per template (AWS examples never
have more); unknown property names and resource keys are rejected; ``PackageVersions`` must be an
object mapping package names to version strings; a resource property whose value depends on a
declared parameter with neither a value nor a ``Default`` is an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .language import (
    Evaluator,
    ParameterScope,
    Pending,
    TemplateError,
    TemplateSections,
    describe_value,
    evaluate_device_configuration,
    find_pending,
    function_name,
    parse_json,
    parse_template,
)
from .plan import (
    CERTIFICATE_STATUSES,
    OVERRIDE_ACTIONS,
    THING_PRINCIPAL_TYPES,
    CertificateSpec,
    PolicySpec,
    ProvisioningPlan,
    ThingSpec,
)

THING = "AWS::IoT::Thing"
CERTIFICATE = "AWS::IoT::Certificate"
POLICY = "AWS::IoT::Policy"

_RESOURCE_KEYS = ("Type", "Properties", "OverrideSettings")
_CERTIFICATE_SOURCES = ("CertificateId", "CertificateSigningRequest", "CertificatePem")
_THING_PROPERTIES = ("ThingName", "AttributePayload", "ThingTypeName", "ThingGroups", "BillingGroup")
_PROPERTIES: dict[str, tuple[str, ...]] = {
    THING: (*_THING_PROPERTIES, "PackageVersions"),
    CERTIFICATE: (*_CERTIFICATE_SOURCES, "CACertificatePem", "Status", "ThingPrincipalType"),
    POLICY: ("PolicyName", "PolicyDocument"),
}
# OverrideSettings key as written (property name or its upper-snake alias) -> property name.
_THING_OVERRIDE_KEYS = {
    **{name: name for name in ("AttributePayload", "ThingTypeName", "ThingGroups")},
    **{
        "ATTRIBUTE_PAYLOAD": "AttributePayload",
        "THING_TYPE_NAME": "ThingTypeName",
        "THING_GROUPS": "ThingGroups",
    },
}
_MERGEABLE = ("AttributePayload", "ThingGroups")
_NO_POLICY_SOURCE = (
    "Invalid registration template. Neither policyName nor policyDocument is present in the Template."
)


def generated_policy_name(document: str) -> str:
    """The name AWS gives a policy created from ``document``: 40 upper-case hex digits.

    AWS does not publish the algorithm; this is the SHA-1 of the UTF-8 document text.
    """
    return hashlib.sha1(document.encode("utf-8", "surrogatepass")).hexdigest().upper()


def _ascii_upper(text: str) -> str:
    # Only ASCII letters are folded, so e.g. "actıve" (dotless i) is not taken for "ACTIVE".
    return text.upper() if text.isascii() else text


@dataclass(frozen=True)
class _Resource:
    """One entry of ``Resources`` whose shape has been checked (values still unevaluated)."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    overrides: dict[str, str]
    # properties whose value calls no intrinsic function: they evaluate to themselves, so evaluation
    # reads them as they are (they are never changed: the checked template is shared, see ``_checked``)
    constants: frozenset[str] = frozenset()


def _is_constant(node: Any) -> bool:
    """Whether a template value calls no intrinsic function anywhere inside it."""
    if function_name(node) is not None:
        return False
    if isinstance(node, dict):
        return all(_is_constant(child) for child in node.values())
    if isinstance(node, list):
        return all(_is_constant(child) for child in node)
    return True


def _override_action(resource: str, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    action = _ascii_upper(value) if isinstance(value, str) else ""
    if action not in allowed:
        raise TemplateError(
            f"OverrideSettings {key} of resource {resource} must be one of"
            f" {', '.join(allowed)}, got {describe_value(value)}"
        )
    return action


def _overrides(logical_id: str, resource_type: str, settings: dict[str, Any]) -> dict[str, str]:
    if resource_type == POLICY:
        raise TemplateError(f"Resource {logical_id} ({POLICY}) does not support OverrideSettings")
    overrides: dict[str, str] = {}
    for key, value in settings.items():
        if resource_type == CERTIFICATE:
            if key != "Status":
                raise TemplateError(
                    f"Unsupported OverrideSettings key {key} in resource {logical_id}; only Status is allowed"
                )
            overrides["Status"] = _override_action(logical_id, key, value, ("DO_NOTHING", "REPLACE", "FAIL"))
            continue
        prop = _THING_OVERRIDE_KEYS.get(key)
        if prop is None:
            raise TemplateError(
                f"Unsupported OverrideSettings key {key} in resource {logical_id}; allowed:"
                " AttributePayload, ThingTypeName, ThingGroups"
            )
        if prop in overrides:
            raise TemplateError(f"OverrideSettings of resource {logical_id} set {prop} twice")
        action = _override_action(logical_id, key, value, OVERRIDE_ACTIONS)
        if action == "MERGE" and prop not in _MERGEABLE:
            raise TemplateError(
                f"OverrideSettings {key} of resource {logical_id}: MERGE is only allowed for"
                " AttributePayload and ThingGroups"
            )
        overrides[prop] = action
    return overrides


def _check_sources(logical_id: str, resource_type: str, names: set[str]) -> None:
    """The property-presence rules: required and mutually exclusive properties."""
    if resource_type == THING and "ThingName" not in names:
        raise TemplateError(f"Resource {logical_id} ({THING}) requires ThingName")
    if resource_type == CERTIFICATE:
        sources = [name for name in _CERTIFICATE_SOURCES if name in names]
        if len(sources) != 1:
            raise TemplateError(
                f"Resource {logical_id} ({CERTIFICATE}) must have exactly one of"
                f" {', '.join(_CERTIFICATE_SOURCES)}; found {', '.join(sources) or 'none'}"
            )
        if "CACertificatePem" in names and "CertificatePem" not in names:
            raise TemplateError(
                f"CACertificatePem of resource {logical_id} is only allowed together with CertificatePem"
            )
    if resource_type == POLICY:
        if "PolicyName" not in names and "PolicyDocument" not in names:
            raise TemplateError(_NO_POLICY_SOURCE)
        if "PolicyName" in names and "PolicyDocument" in names:
            raise TemplateError(
                f"Resource {logical_id} ({POLICY}) must have exactly one of PolicyName and"
                " PolicyDocument, not both"
            )


def declared_resources(section: Mapping[str, Any]) -> list[_Resource]:
    """Check the shape of ``Resources`` (types, counts, keys, property names, overrides)."""
    resources: list[_Resource] = []
    seen: dict[str, str] = {}
    for logical_id, declaration in section.items():
        if not isinstance(declaration, dict):
            raise TemplateError(f"Resource {logical_id} must be a JSON object")
        for key in declaration:
            if key not in _RESOURCE_KEYS:
                raise TemplateError(
                    f"Unsupported key {key} in resource {logical_id}; allowed: {', '.join(_RESOURCE_KEYS)}"
                )
        resource_type = declaration.get("Type")
        if not isinstance(resource_type, str):
            raise TemplateError(
                f"Type of resource {logical_id} must be a string, got {describe_value(resource_type)}"
            )
        if resource_type not in _PROPERTIES:
            raise TemplateError(f"Unsupported resource type {resource_type} for resource {logical_id}")
        if resource_type in (THING, CERTIFICATE) and resource_type in seen:
            raise TemplateError(
                f"A template may contain at most one {resource_type} resource; found"
                f" {seen[resource_type]} and {logical_id}"
            )
        seen[resource_type] = logical_id
        properties = declaration.get("Properties", {})
        settings = declaration.get("OverrideSettings", {})
        for part, value in (("Properties", properties), ("OverrideSettings", settings)):
            if not isinstance(value, dict):
                raise TemplateError(f"{part} of resource {logical_id} must be a JSON object")
        for name in properties:
            if name not in _PROPERTIES[resource_type]:
                raise TemplateError(f"Unsupported property {name} in resource {logical_id} ({resource_type})")
        overrides = (
            _overrides(logical_id, resource_type, settings) if "OverrideSettings" in declaration else {}
        )
        _check_sources(logical_id, resource_type, set(properties))
        constants = frozenset(name for name, node in properties.items() if _is_constant(node))
        resources.append(_Resource(logical_id, resource_type, properties, overrides, constants))
    return resources


class _Properties:
    """The evaluated properties of one resource, read with the JSON type each one needs.

    Readers return ``None`` for an absent property. A value depending on a parameter without a
    value is an error when ``final`` (parameters supplied); otherwise (template being stored) it
    reads as ``None`` and the check is left for evaluation time.
    """

    def __init__(self, resource: _Resource, evaluator: Evaluator, final: bool) -> None:
        self._id = resource.logical_id
        self._final = final
        constants = resource.constants
        self._values = {
            name: node
            if name in constants
            else evaluator.evaluate(node, f"property {name} of resource {self._id}")
            for name, node in resource.properties.items()
        }

    def pending(self, name: str, pending: Pending) -> None:
        if self._final:
            raise TemplateError(
                f"Parameter {pending.parameter} has no value and no Default (needed by property"
                f" {name} of resource {self._id})"
            )

    def _type_error(self, name: str, needed: str, value: Any) -> TemplateError:
        return TemplateError(
            f"Property {name} of resource {self._id} must be {needed}, got {describe_value(value)}"
        )

    def raw(self, name: str) -> Any:
        return self._values.get(name)

    def string(self, name: str, non_empty: bool = False) -> str | None:
        value = self._values.get(name)
        if isinstance(value, Pending):
            self.pending(name, value)
            return None
        if name in self._values and not isinstance(value, str):
            raise self._type_error(name, "a string", value)
        if non_empty and value == "":
            raise TemplateError(f"Property {name} of resource {self._id} must not be empty")
        return value

    def _collection(self, name: str, kind: type[Any], needed: str) -> list[tuple[Any, str]] | None:
        """(key or index, string) pairs of an object/list property whose leaves must be strings."""
        value = self._values.get(name)
        if isinstance(value, Pending):
            self.pending(name, value)
            return None
        if name not in self._values:
            return None
        if not isinstance(value, kind):
            raise self._type_error(name, needed, value)
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        strings: list[tuple[Any, str]] = []
        for key, item in pairs:
            if isinstance(item, Pending):
                self.pending(name, item)
            elif not isinstance(item, str):
                where = f"key {key}" if isinstance(value, dict) else f"item {key}"
                raise self._type_error(name, f"{needed} (at {where})", item)
            else:
                strings.append((key, item))
        return strings

    def string_map(self, name: str) -> dict[str, str] | None:
        pairs = self._collection(name, dict, "an object of strings")
        return None if pairs is None else dict(pairs)

    def string_list(self, name: str) -> tuple[str, ...] | None:
        pairs = self._collection(name, list, "a list of strings")
        return None if pairs is None else tuple(item for _, item in pairs)

    def choice(self, name: str, allowed: tuple[str, ...], fold_case: bool) -> str | None:
        value = self.string(name)
        if value is None:
            return None
        folded = _ascii_upper(value) if fold_case else value
        if folded not in allowed:
            raise TemplateError(
                f"Property {name} of resource {self._id} must be one of {', '.join(allowed)},"
                f" got {describe_value(value)}"
            )
        return folded


def _thing(resource: _Resource, properties: _Properties) -> ThingSpec | None:
    thing_name = properties.string("ThingName", non_empty=True)
    attribute_payload = properties.string_map("AttributePayload")
    thing_type_name = properties.string("ThingTypeName")
    thing_groups = properties.string_list("ThingGroups")
    billing_group = properties.string("BillingGroup")
    package_versions = properties.string_map("PackageVersions")
    if thing_name is None:  # only while checking: the name depends on a parameter
        return None
    return ThingSpec(
        logical_id=resource.logical_id,
        thing_name=thing_name,
        attribute_payload=attribute_payload,
        thing_type_name=thing_type_name,
        thing_groups=thing_groups,
        billing_group=billing_group,
        package_versions=package_versions,
        overrides=dict(resource.overrides),
    )


def _certificate(resource: _Resource, properties: _Properties) -> CertificateSpec:
    sources = {name: properties.string(name) for name in _CERTIFICATE_SOURCES}
    status = properties.choice("Status", CERTIFICATE_STATUSES, fold_case=True)
    return CertificateSpec(
        logical_id=resource.logical_id,
        certificate_id=sources["CertificateId"],
        certificate_signing_request=sources["CertificateSigningRequest"],
        certificate_pem=sources["CertificatePem"],
        ca_certificate_pem=properties.string("CACertificatePem"),
        status=status or "ACTIVE",
        status_override=resource.overrides.get("Status"),
        thing_principal_type=properties.choice("ThingPrincipalType", THING_PRINCIPAL_TYPES, fold_case=False),
    )


def _policy(resource: _Resource, properties: _Properties) -> PolicySpec | None:
    policy_name = properties.string("PolicyName", non_empty=True)
    if policy_name is not None:
        return PolicySpec(resource.logical_id, policy_name, None)
    if "PolicyDocument" not in resource.properties:  # the name depends on a parameter (checking)
        return None
    document = properties.raw("PolicyDocument")
    if isinstance(document, Pending):
        properties.pending("PolicyDocument", document)
        return None
    invalid = f"Policy document of {resource.logical_id} is not a valid policy"
    if isinstance(document, str):
        try:
            parsed = parse_json(document)
        except ValueError as error:
            raise TemplateError(f"{invalid}: {error}") from None
    else:
        parsed = document
    if not isinstance(parsed, dict):
        raise TemplateError(f"{invalid}: expected a JSON object, got {describe_value(parsed)}")
    if "Statement" not in parsed:
        raise TemplateError(f"{invalid}: it has no Statement")
    pending = find_pending(parsed)
    if pending is not None:
        properties.pending("PolicyDocument", pending)
        return None
    text = document if isinstance(document, str) else json.dumps(parsed, separators=(",", ":"))
    return PolicySpec(resource.logical_id, generated_policy_name(text), text)


def _evaluate(
    sections: TemplateSections, resources: Sequence[_Resource], supplied: Mapping[str, str] | None
) -> ProvisioningPlan:
    """Evaluate every resource; with ``supplied=None`` this only checks (the plan is partial)."""
    scope = ParameterScope(
        sections.parameter_defaults, supplied, [resource.logical_id for resource in resources]
    )
    evaluator = Evaluator(scope, sections.mappings)
    final = supplied is not None
    thing: ThingSpec | None = None
    certificate: CertificateSpec | None = None
    policies: list[PolicySpec] = []
    for resource in resources:
        properties = _Properties(resource, evaluator, final)
        if resource.type == THING:
            thing = _thing(resource, properties)
        elif resource.type == CERTIFICATE:
            certificate = _certificate(resource, properties)
        else:
            policy = _policy(resource, properties)
            if policy is not None:
                policies.append(policy)
    configuration = evaluate_device_configuration(sections.device_configuration, evaluator)
    return ProvisioningPlan(thing, certificate, tuple(policies), configuration)


def _checked_parameters(parameters: Any) -> dict[str, str]:
    if not isinstance(parameters, Mapping):
        raise TemplateError(f"parameters must be a map of strings, got {describe_value(parameters)}")
    for name, value in parameters.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TemplateError(f"Parameter values must be strings; {name!r} is {describe_value(value)}")
    return dict(parameters)


@lru_cache(maxsize=256)
def _checked(body: str) -> tuple[TemplateSections, tuple[_Resource, ...]]:
    """Parse and check a template text once; the result is only read afterwards, never changed.

    A device fleet registers with the same few template texts over and over, so the parse and the
    structural check are remembered per text (errors are not remembered: they are raised again).
    """
    sections = parse_template(body)
    resources = tuple(declared_resources(sections.resources))
    _evaluate(sections, resources, None)
    return sections, resources


def _run(body: str, parameters: Mapping[str, str] | None) -> ProvisioningPlan | None:
    try:
        sections, resources = _checked(body)
        if parameters is None:
            return None
        return _evaluate(sections, resources, parameters)
    except RecursionError:
        raise TemplateError("templateBody is nested too deeply") from None


def check_template(body: str) -> None:
    """Validate a template as it is stored (CreateProvisioningTemplate / ...Version).

    No parameter values are known, so references are not resolved; everything else that can be
    decided from the text alone is checked. Raises :class:`TemplateError`.
    """
    _run(body, None)


def evaluate_template(body: str, parameters: Mapping[str, str]) -> ProvisioningPlan:
    """Check ``body`` and evaluate it with ``parameters`` into a :class:`ProvisioningPlan`.

    Raises :class:`TemplateError` for any invalid template, parameter map or evaluation failure.
    """
    plan = _run(body, _checked_parameters(parameters))
    if plan is None:  # pragma: no cover - _run returns a plan whenever parameters are given
        raise TemplateError("template evaluation produced no plan")
    return plan
