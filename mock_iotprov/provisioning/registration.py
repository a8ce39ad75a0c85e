"""Applying a provisioning plan to the registry: RegisterThing, all or nothing.

The engine turns (template, parameters) into a validated plan; this module carries it out in two phases.
The **check** phase resolves every reference and decides every change without touching anything; the
**commit** phase only applies the decided changes and cannot fail. So a failure at any step leaves the
registry exactly as it was: no thing, certificate, policy, group membership or attachment half-made. The
whole call runs under the store's lock, so concurrent registrations of the same thing serialize.

Behaviour reproduced (spec sections 2 and 3):

- Certificate: ``CertificateId`` must name a registered certificate; ``CertificateSigningRequest`` is
  checked as ``CreateCertificateFromCsr`` checks it (valid signature; RSA of at least 2048 bits or EC on
  P-256/P-384/P-521, else ``InvalidRequestException``), signed by the mock's device CA (keeping the CSR's key
  and subject) and registered; ``CertificatePem`` must be signed by a registered ``ACTIVE`` CA
  (``CACertificatePem`` picks which), be valid now and have a supported key, as ``RegisterCertificate``
  demands, and is registered in that CA's certificate mode. A new certificate, or one still
  ``PENDING_ACTIVATION``, gets the template's ``Status``; for an existing one the ``Status`` override decides.
- Thing: created when absent; when present, ``OverrideSettings`` decide per property. Thing types, groups and
  billing groups must already exist; a deprecated type cannot be given to a thing. Attribute names and
  values must be ones ``CreateThing`` accepts (the model's patterns and lengths).
- Policy: ``PolicyName`` must name an existing policy (and is not listed in ``resourceArns``); a
  ``PolicyDocument`` policy is created under its generated name, or reused when a policy of that name exists.
- Effects: every policy attached to the certificate, the certificate attached to the thing (honouring
  ``ThingPrincipalType``), the certificate's status set.
- Failures of referenced resources are ``ResourceRegistrationFailureException`` with AWS's message form
  ``Register thing workflow execution terminates due to: <reason>``; a malformed template or property value
  is an ``InvalidRequestException``.

Choices where AWS is silent (documented here and tested):

- An absent override setting means ``DO_NOTHING`` for an existing thing's property (and for an existing
  certificate's status). ``FAIL`` aborts the request only when the template would change the property (an
  identical value is no conflict). ``BillingGroup`` and ``PackageVersions`` have no override setting: an
  existing thing keeps its billing group; ``PackageVersions`` is accepted and not stored.
- A ``CertificatePem`` that is already registered is used as the existing certificate.
- A ``REVOKED`` certificate cannot be provisioned.
- An existing thing whose type has since been deprecated can still be registered with that type (it is not
  given the type anew).
- Without ``ThingPrincipalType`` a new thing attachment is ``NON_EXCLUSIVE_THING`` and an existing one keeps
  its type.
- Template errors are reported with the engine's message as is, e.g. AWS's ``Invalid registration
  template. Neither policyName nor policyDocument is present in the Template.``
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from mock_iotprov.pki import (
    certificate_id,
    certificate_pem,
    load_certificate_pem,
)
from mock_iotprov.protocol.errors import ServiceError, invalid_request
from mock_iotprov.protocol.validate import compiled_pattern
from mock_iotprov.provisioning.engine import (
    CertificateSpec,
    PolicySpec,
    ProvisioningPlan,
    TemplateError,
    ThingSpec,
    evaluate_template,
)
from mock_iotprov.registry import (
    billing_groups,
    ca_certificates,
    certificates,
    groups,
    policies,
    policy_attachments,
    thing_records,
    thing_types,
)
from mock_iotprov.registry.attachments import (
    EXCLUSIVE_THING,
    NON_EXCLUSIVE_THING,
    attachments,
    certificate_arn,
)
from mock_iotprov.registry.certificate_checks import check_valid_now, unsupported_key_reason
from mock_iotprov.state import RequestContext

WORKFLOW_FAILURE = "Register thing workflow execution terminates due to: "
DO_NOTHING, REPLACE, MERGE, FAIL = "DO_NOTHING", "REPLACE", "MERGE", "FAIL"
_THING_NAME = compiled_pattern("[a-zA-Z0-9:_-]+")
_POLICY_NAME = compiled_pattern("[\\w+=,.@-]+")
_ATTRIBUTE_NAME = compiled_pattern("[a-zA-Z0-9_.,@/:#-]+")
_ATTRIBUTE_VALUE = compiled_pattern("[a-zA-Z0-9_.,@/:#=\\[\\]-]*")


def registration_failure(reason: str) -> ServiceError:
    """``ResourceRegistrationFailureException`` in AWS's message form."""
    return ServiceError("ResourceRegistrationFailureException", WORKFLOW_FAILURE + reason)


@dataclass
class RegistrationResult:
    """What a registration made: the certificate PEM (if any), the ARNs by logical id, the thing name."""

    certificate_pem: str | None = None
    resource_arns: dict[str, str] = field(default_factory=dict)
    thing_name: str | None = None
    device_configuration: dict[str, str] = field(default_factory=dict)


@dataclass
class _Decisions:
    """Changes decided by the check phase, applied in order by the commit phase."""

    changes: list[Callable[[], None]] = field(default_factory=list)
    result: RegistrationResult = field(default_factory=RegistrationResult)
    certificate_principal: str | None = None

    def then(self, change: Callable[[], None]) -> None:
        self.changes.append(change)


def _conflict(setting: str, what: str) -> None:
    if setting == FAIL:
        raise registration_failure(f"{what} already exists and its OverrideSettings say FAIL.")


def _certificate_from_csr(ctx: RequestContext, spec: CertificateSpec) -> x509.Certificate:
    """The device certificate for a CSR: checked like ``CreateCertificateFromCsr`` checks it."""
    assert spec.certificate_signing_request is not None
    try:
        return certificates.certificate_for_csr(spec.certificate_signing_request, ctx.now())
    except certificates.CsrRejected as exc:
        if exc.unsupported_key:
            raise invalid_request(
                f"Unsupported key in CertificateSigningRequest of {spec.logical_id}: {exc.reason}"
            ) from None
        raise invalid_request(
            f"Invalid CertificateSigningRequest in {spec.logical_id}: {exc.reason}"
        ) from None


def _issuer_of_new_certificate(
    ctx: RequestContext, spec: CertificateSpec, given: x509.Certificate
) -> ca_certificates.CACertificate:
    """The registered ``ACTIVE`` CA of a new ``CertificatePem``, after ``RegisterCertificate``'s checks."""
    issuer = ca_certificates.registered_issuer_of(ctx, given, spec.ca_certificate_pem)
    if issuer is None:
        raise registration_failure(
            "The certificate is not signed by a registered CA certificate in ACTIVE status."
        )
    try:
        check_valid_now(given, ctx.now())
    except ServiceError as exc:
        raise registration_failure(exc.message) from None
    reason = unsupported_key_reason(given.public_key())
    if reason is not None:
        raise registration_failure(reason)
    return issuer


def _check_certificate(ctx: RequestContext, spec: CertificateSpec, decisions: _Decisions) -> None:
    existing: certificates.Certificate | None = None
    issuer: ca_certificates.CACertificate | None = None
    if spec.certificate_id is not None:
        if not certificates.certificate_exists(ctx, spec.certificate_id):
            raise registration_failure(f"Certificate {spec.certificate_id} not found.")
        existing = certificates.find_certificate(ctx, spec.certificate_id)
    elif spec.certificate_signing_request is not None:
        new_certificate = _certificate_from_csr(ctx, spec)
    else:
        assert spec.certificate_pem is not None
        try:
            new_certificate = load_certificate_pem(spec.certificate_pem)
        except ValueError as exc:
            raise invalid_request(f"Invalid CertificatePem in {spec.logical_id}: {exc}") from None
        if certificates.certificate_exists(ctx, certificate_id(new_certificate)):
            existing = certificates.find_certificate(ctx, certificate_id(new_certificate))
        else:
            issuer = _issuer_of_new_certificate(ctx, spec, new_certificate)
    if existing is not None:
        _decide_existing_certificate(ctx, spec, existing, decisions)
        return
    issued = new_certificate
    ca_id = None if issuer is None else issuer.certificate_id
    mode = certificates.DEFAULT_MODE if issuer is None else issuer.certificate_mode

    def register() -> None:
        certificates.add_certificate(ctx, issued, spec.status, ca_certificate_id=ca_id, certificate_mode=mode)

    decisions.then(register)
    decisions.certificate_principal = certificate_arn(ctx, certificate_id(issued))
    decisions.result.resource_arns[spec.logical_id] = decisions.certificate_principal
    decisions.result.certificate_pem = certificate_pem(issued)


def _decide_existing_certificate(
    ctx: RequestContext, spec: CertificateSpec, record: certificates.Certificate, decisions: _Decisions
) -> None:
    if record.status == certificates.REVOKED:
        raise registration_failure(f"Certificate {record.certificate_id} is REVOKED.")
    target = spec.status
    if record.status == certificates.PENDING_ACTIVATION:
        setting = REPLACE
    else:
        setting = spec.status_override or DO_NOTHING
        if record.status != target:
            _conflict(setting, f"Certificate {record.certificate_id} with status {record.status}")
    if setting == REPLACE and record.status != target:
        decisions.then(lambda: certificates.set_certificate_status(ctx, record, target))
    decisions.certificate_principal = record.arn
    decisions.result.resource_arns[spec.logical_id] = record.arn
    decisions.result.certificate_pem = record.pem


def _check_attribute_payload(spec: ThingSpec) -> None:
    """Attribute names and values as ``CreateThing`` accepts them (the service model's patterns)."""
    for name, value in (spec.attribute_payload or {}).items():
        if len(name) > 128 or _ATTRIBUTE_NAME(name) is None:
            raise invalid_request(
                f"Invalid attribute name {name!r} in {spec.logical_id}: it must match"
                " [a-zA-Z0-9_.,@/:#-]+ (1-128 characters)."
            )
        if len(value) > 800 or _ATTRIBUTE_VALUE(value) is None:
            raise invalid_request(
                f"Invalid value of attribute {name} in {spec.logical_id}: it must match"
                " [a-zA-Z0-9_.,@/:#=\\[\\]-]* (at most 800 characters)."
            )


def _check_assignable_type(ctx: RequestContext, thing_type_name: str) -> None:
    """A deprecated type cannot be given to a thing (a thing that already has it keeps it)."""
    if thing_types.find_thing_type(ctx, thing_type_name).deprecated:
        raise registration_failure(f"Thing Type {ctx.account_id}:{thing_type_name} is deprecated.")


def _check_references(ctx: RequestContext, spec: ThingSpec) -> None:
    account = ctx.account_id
    if spec.thing_type_name is not None and not thing_types.thing_type_exists(ctx, spec.thing_type_name):
        raise registration_failure(f"Thing Type {account}:{spec.thing_type_name} not found.")
    for group in spec.thing_groups or ():
        if not groups.thing_group_exists(ctx, group):
            raise registration_failure(f"Thing Group {account}:{group} not found.")
    if spec.billing_group is not None and not billing_groups.billing_group_exists(ctx, spec.billing_group):
        raise registration_failure(f"Billing Group {account}:{spec.billing_group} not found.")


def _check_group_count(group_names: list[str]) -> None:
    if len(group_names) > groups.MAX_GROUPS_PER_THING:
        raise registration_failure(f"A thing can be in at most {groups.MAX_GROUPS_PER_THING} thing groups.")


def _check_thing(ctx: RequestContext, spec: ThingSpec, decisions: _Decisions) -> None:
    name = spec.thing_name
    if len(name) > 128 or _THING_NAME(name) is None:
        raise invalid_request(
            f"Invalid ThingName {name!r}: it must match [a-zA-Z0-9:_-]+ (1-128 characters)."
        )
    _check_attribute_payload(spec)
    _check_references(ctx, spec)
    decisions.result.thing_name = name
    decisions.result.resource_arns[spec.logical_id] = thing_records.thing_arn(ctx, name)
    wanted_groups = list(dict.fromkeys(spec.thing_groups or ()))
    if not thing_records.thing_exists(ctx, name):
        if spec.thing_type_name is not None:
            _check_assignable_type(ctx, spec.thing_type_name)
        attributes = dict(spec.attribute_payload or {})
        thing_records.check_thing_attributes(attributes, spec.thing_type_name)
        _check_group_count(wanted_groups)

        def create() -> None:
            thing_records.create_thing_record(ctx, name, attributes, spec.thing_type_name)
            for group in wanted_groups:
                groups.add_thing_to_group(ctx, name, group)
            if spec.billing_group is not None:
                billing_groups.set_thing_billing_group(ctx, name, spec.billing_group)

        decisions.then(create)
        return
    _decide_existing_thing(ctx, spec, thing_records.find_thing(ctx, name), wanted_groups, decisions)


def _decide_existing_thing(
    ctx: RequestContext,
    spec: ThingSpec,
    thing: thing_records.Thing,
    wanted_groups: list[str],
    decisions: _Decisions,
) -> None:
    overrides = spec.overrides
    attributes = thing.attributes
    if spec.attribute_payload is not None:
        setting = overrides.get("AttributePayload", DO_NOTHING)
        merged = {**thing.attributes, **spec.attribute_payload}
        candidate = merged if setting == MERGE else dict(spec.attribute_payload)
        if candidate != thing.attributes:
            _conflict(setting, f"Thing {thing.name} with other attributes")
            if setting in (MERGE, REPLACE):
                attributes = candidate
    thing_type = thing.thing_type_name
    if spec.thing_type_name is not None and spec.thing_type_name != thing.thing_type_name:
        setting = overrides.get("ThingTypeName", DO_NOTHING)
        _conflict(setting, f"Thing {thing.name} with another thing type")
        if setting == REPLACE:
            _check_assignable_type(ctx, spec.thing_type_name)
            thing_type = spec.thing_type_name
    current_groups = groups.groups_of_thing(ctx, thing.name)
    target_groups = current_groups
    if spec.thing_groups is not None:
        setting = overrides.get("ThingGroups", DO_NOTHING)
        candidate_groups = (
            list(dict.fromkeys(current_groups + wanted_groups)) if setting == MERGE else wanted_groups
        )
        if set(candidate_groups) != set(current_groups):
            _conflict(setting, f"Thing {thing.name} in other thing groups")
            if setting in (MERGE, REPLACE):
                target_groups = candidate_groups
    _check_group_count(target_groups)
    if attributes is not thing.attributes or thing_type != thing.thing_type_name:
        thing_records.check_thing_attributes(attributes, thing_type)

    def update() -> None:
        if thing_type != thing.thing_type_name:
            thing_records.set_thing_type(ctx, thing, thing_type)
        if attributes is not thing.attributes:
            thing_records.set_thing_attributes(ctx, thing, attributes)
        for group in current_groups:
            if group not in target_groups:
                groups.remove_thing_from_group(ctx, thing.name, group)
        for group in target_groups:
            if group not in current_groups:
                groups.add_thing_to_group(ctx, thing.name, group)

    decisions.then(update)


def _check_policy(ctx: RequestContext, spec: PolicySpec, decisions: _Decisions) -> str:
    name = spec.policy_name
    if spec.policy_document is None:
        if not policies.policy_exists(ctx, name):
            raise registration_failure(f"Policy {name} not found.")
        return name
    try:
        policies.check_policy_document(spec.policy_document)
    except ServiceError as exc:
        raise invalid_request(f"Invalid PolicyDocument in {spec.logical_id}: {exc.message}") from None
    if len(name) > 128 or _POLICY_NAME(name) is None:
        raise invalid_request(f"Invalid policy name {name!r} in {spec.logical_id}.")
    decisions.result.resource_arns[spec.logical_id] = policies.policy_arn(ctx, name)
    if not policies.policy_exists(ctx, name):
        document = spec.policy_document

        def create() -> None:
            if not policies.policy_exists(ctx, name):
                policies.create_policy_record(ctx, name, document)

        decisions.then(create)
    return name


def _check_attachments(
    ctx: RequestContext, plan: ProvisioningPlan, policy_names: list[str], decisions: _Decisions
) -> None:
    principal = decisions.certificate_principal
    if principal is None:
        return
    links = attachments(ctx)
    attached = links.policies_of_target(principal)
    new_policies = [p for p in dict.fromkeys(policy_names) if p not in attached]
    limit = policy_attachments.MAX_POLICIES_PER_TARGET
    if len(attached) + len(new_policies) > limit:
        raise registration_failure(f"A certificate can have at most {limit} policies attached.")

    def attach_policies() -> None:
        for policy_name in new_policies:
            links.attach_policy(policy_name, principal)

    decisions.then(attach_policies)
    if plan.thing is None:
        return
    thing_name = plan.thing.thing_name
    assert plan.certificate is not None
    linked = links.things_of_principal(principal)
    principal_type = plan.certificate.thing_principal_type or linked.get(thing_name, NON_EXCLUSIVE_THING)
    others = {t: kind for t, kind in linked.items() if t != thing_name}
    if any(kind == EXCLUSIVE_THING for kind in others.values()):
        raise registration_failure("The certificate is exclusively attached to another thing.")
    if principal_type == EXCLUSIVE_THING and others:
        raise registration_failure("The certificate is already attached to another thing.")
    decisions.then(lambda: links.attach_thing_principal(thing_name, principal, principal_type))


def check_plan(ctx: RequestContext, plan: ProvisioningPlan) -> _Decisions:
    """Resolve and decide everything a plan needs; raises ``ServiceError`` and changes nothing."""
    decisions = _Decisions()
    decisions.result.device_configuration = dict(plan.device_configuration)
    if plan.certificate is not None:
        _check_certificate(ctx, plan.certificate, decisions)
    if plan.thing is not None:
        _check_thing(ctx, plan.thing, decisions)
    policy_names = [_check_policy(ctx, spec, decisions) for spec in plan.policies]
    _check_attachments(ctx, plan, policy_names, decisions)
    return decisions


def apply_plan(ctx: RequestContext, plan: ProvisioningPlan) -> RegistrationResult:
    """Carry out ``plan`` completely, or raise and leave the registry as it was."""
    decisions = check_plan(ctx, plan)
    for change in decisions.changes:
        change()
    return decisions.result


def register_thing(
    ctx: RequestContext, *, templateBody: str, parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    """RegisterThing: provision a thing from an inline template."""
    try:
        plan = evaluate_template(templateBody, parameters or {})
    except TemplateError as exc:
        raise invalid_request(exc.message) from None
    result = apply_plan(ctx, plan)
    return {"certificatePem": result.certificate_pem, "resourceArns": result.resource_arns}
