"""The fleet-provisioning API over MQTT: CreateKeysAndCertificate, CreateCertificateFromCsr, RegisterThing.

Behaviour reproduced (spec section 6), through the same domain functions as the control plane:

- CreateKeysAndCertificate: a new RSA-2048 key and a certificate from the device CA, ``PENDING_ACTIVATION``;
  the reply carries ``certificateId``, ``certificatePem``, ``privateKey`` (PKCS#1 PEM) and a
  ``certificateOwnershipToken``.
- CreateCertificateFromCsr: ``certificateSigningRequest`` checked and signed exactly as the control
  plane's ``CreateCertificateFromCsr`` does; the reply has no private key.
- RegisterThing: the token must be valid (see :mod:`~mock_iotprov.device.ownership`); the template must
  exist (``ResourceNotFound``, 404), be ``FLEET_PROVISIONING`` and enabled (``InvalidRequest``, 400); its
  default version is evaluated with the device's ``parameters`` (merged with the hook's overrides) and
  ``AWS::IoT::Certificate::Id`` set to the token's certificate, then applied all or nothing by the
  control plane's ``apply_plan``. The reply has ``deviceConfiguration`` (always) and ``thingName`` (only
  when the template makes a thing).

Choices where AWS is silent: a template whose certificate resource names anything but the token's
certificate (another ``CertificateId``, a CSR or a PEM) is an ``InvalidRequest``; a template without a
certificate resource is applied (the certificate then stays as it is). The pre-provisioning hook runs
outside the store's lock (it may take up to 5 s); everything is checked again under the lock afterwards,
so a token that expired or a template that changed meanwhile is seen. ``claimCertificateId`` in the
hook's event is the certificate the device connected with (the claim, in fleet provisioning).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mock_iotprov.device.calls import DeviceCall
from mock_iotprov.device.errors import from_service_error, invalid_payload
from mock_iotprov.device.lambdas import run_pre_provisioning_hook
from mock_iotprov.device.ownership import issue_token, redeem_token
from mock_iotprov.device.payloads import optional_string, string_map
from mock_iotprov.protocol.errors import ServiceError, invalid_request
from mock_iotprov.provisioning.engine import TemplateError, evaluate_template
from mock_iotprov.provisioning.registration import apply_plan
from mock_iotprov.provisioning.templates import FLEET_PROVISIONING, ProvisioningTemplate, find_template
from mock_iotprov.registry import certificates
from mock_iotprov.state import RequestContext

CERTIFICATE_ID_PARAMETER = "AWS::IoT::Certificate::Id"


def create_keys_and_certificate(
    call: DeviceCall, request: dict[str, Any], labels: dict[str, str]
) -> dict[str, Any]:
    """CreateKeysAndCertificate over MQTT."""
    with call.locked() as ctx:
        record, key_pair = certificates.issue_keys_and_certificate(ctx, certificates.PENDING_ACTIVATION)
        token = issue_token(ctx, record.certificate_id, call.principal.certificate_id)
    return {
        "certificateId": record.certificate_id,
        "certificatePem": record.pem,
        "privateKey": key_pair["PrivateKey"],
        "certificateOwnershipToken": token.token,
    }


def create_certificate_from_csr(
    call: DeviceCall, request: dict[str, Any], labels: dict[str, str]
) -> dict[str, Any]:
    """CreateCertificateFromCsr over MQTT."""
    csr_pem = optional_string(request, "certificateSigningRequest")
    if not csr_pem:
        raise invalid_payload("certificateSigningRequest is required.")
    with call.locked() as ctx:
        try:
            issued = certificates.csr_certificate_or_invalid_request(csr_pem, ctx.now())
        except ServiceError as exc:
            raise from_service_error(exc) from None
        record = certificates.add_certificate(ctx, issued, certificates.PENDING_ACTIVATION)
        token = issue_token(ctx, record.certificate_id, call.principal.certificate_id)
    return {
        "certificateId": record.certificate_id,
        "certificatePem": record.pem,
        "certificateOwnershipToken": token.token,
    }


@dataclass(frozen=True)
class _Checked:
    """What RegisterThing resolved under the lock."""

    template: ProvisioningTemplate
    certificate: certificates.Certificate


def _checked(ctx: RequestContext, call: DeviceCall, template_name: str, token: str) -> _Checked:
    certificate = redeem_token(ctx, token, call.principal.certificate_id)
    try:
        template = find_template(ctx, template_name)
    except ServiceError as exc:
        raise from_service_error(exc) from None
    if template.template_type != FLEET_PROVISIONING:
        raise from_service_error(
            invalid_request(
                f"The provisioning template {template_name} is of type {template.template_type}; "
                f"devices can only register with {FLEET_PROVISIONING} templates."
            )
        )
    if not template.enabled:
        raise from_service_error(invalid_request(f"The provisioning template {template_name} is disabled."))
    return _Checked(template, certificate)


def _hook_event(call: DeviceCall, checked: _Checked, parameters: dict[str, str]) -> dict[str, Any]:
    principal = call.principal
    return {
        "claimCertificateId": principal.certificate_id,
        "certificateId": checked.certificate.certificate_id,
        "certificatePem": checked.certificate.pem,
        "templateArn": checked.template.arn,
        "clientId": call.client_id,
        "parameters": dict(parameters),
    }


def _register(ctx: RequestContext, checked: _Checked, parameters: dict[str, str]) -> dict[str, Any]:
    certificate_id = checked.certificate.certificate_id
    values = {**parameters, CERTIFICATE_ID_PARAMETER: certificate_id}
    try:
        plan = evaluate_template(checked.template.default_version.body, values)
    except TemplateError as exc:
        raise from_service_error(invalid_request(exc.message)) from None
    spec = plan.certificate
    if spec is not None and (spec.certificate_id or "").lower() != certificate_id:
        raise from_service_error(
            invalid_request(
                f"The certificate resource {spec.logical_id} of the template must use CertificateId "
                f'{{"Ref": "{CERTIFICATE_ID_PARAMETER}"}}, the certificate of the ownership token.'
            )
        )
    try:
        result = apply_plan(ctx, plan)
    except ServiceError as exc:
        raise from_service_error(exc) from None
    reply: dict[str, Any] = {"deviceConfiguration": dict(result.device_configuration)}
    if result.thing_name:
        reply["thingName"] = result.thing_name
    return reply


def register_thing(call: DeviceCall, request: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """RegisterThing over MQTT (``labels["templateName"]`` from the topic)."""
    token = optional_string(request, "certificateOwnershipToken") or ""
    parameters = string_map(request, "parameters")
    template_name = labels["templateName"]
    with call.locked() as ctx:
        checked = _checked(ctx, call, template_name, token)
        hook = checked.template.hook
        if hook is None:
            return _register(ctx, checked, parameters)
    overrides = run_pre_provisioning_hook(
        call.functions, hook["targetArn"], _hook_event(call, checked, parameters)
    )
    with call.locked() as ctx:
        checked = _checked(ctx, call, template_name, token)
        return _register(ctx, checked, {**parameters, **overrides})
