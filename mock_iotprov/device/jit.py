"""Just-in-time registration (JITR) and provisioning (JITP) on a device's first connection.

Behaviour reproduced (AWS IoT developer guide, "Just-in-time registration" auto-register-device-cert.html,
"Just-in-time provisioning" jit-provisioning.html; spec sections 1.3 and 2.3):

- A device presents a certificate that is not registered, signed by a registered CA certificate that is
  ``ACTIVE`` with ``autoRegistrationStatus`` ``ENABLE``. The certificate must be valid now and have a key
  AWS accepts; otherwise (or when the CA is not active, or auto-registration is off) the connection is
  refused like any unknown certificate.
- JITP, when the CA has a ``registrationConfig`` (a ``templateName`` or an inline ``templateBody``): the
  certificate is registered ``PENDING_ACTIVATION`` under the CA, and the template runs with the
  ``AWS::IoT::Certificate::{Country, Organization, OrganizationalUnit, DistinguishedNameQualifier,
  StateName, CommonName, SerialNumber}`` parameters from the certificate's subject (``SerialNumber`` is the
  subject's serialNumber attribute) and ``AWS::IoT::Certificate::Id``, through the same engine and
  all-or-nothing apply as ``RegisterThing`` (thing, policy, attachments, then the certificate's status,
  ``ACTIVE`` unless the template says otherwise). A template that declares one of these parameters fails
  when the subject lacks the attribute ("the certificate must contain values for all of the parameters in
  the template body", even one with a ``Default``).
- JITR, when the CA has no registration config: the certificate is registered ``PENDING_ACTIVATION`` and
  ``$aws/events/certificates/registered/<caCertificateId>`` is published with ``certificateId``,
  ``caCertificateId``, ``timestamp`` (epoch milliseconds, a number), ``certificateStatus``
  (``PENDING_ACTIVATION``), ``awsAccountId`` and ``certificateRegistrationTimestamp`` (epoch milliseconds
  as a string, as AWS's published events show). The same event is published again whenever a device
  presents a certificate still ``PENDING_ACTIVATION`` under such a CA (AWS: "or when a client presents a
  certificate in the PENDING_ACTIVATION status"), as long as that CA is still ``ACTIVE`` with
  auto-registration enabled.
- Either way this first connection is dropped without a CONNACK; the device's reconnect is judged like any
  other (after JITP: the template's certificate status and policy; after JITR: once a test, acting as the
  JITR Lambda, calls ``UpdateCertificate(ACTIVE)`` and attaches a policy).

Choices where AWS is silent: a JITP template that fails leaves nothing behind (the certificate is not
registered either), and the connection is dropped; the registration config's template is used whether or
not it is enabled (AWS documents no enabled check for JITP). AWS requires the device to send SNI on this
first connection; the mock does not, since a local broker is often reached by IP address, for which TLS
sends no server name.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from mock_iotprov.mqtt.hooks import Admission, OutboundMessage
from mock_iotprov.pki import certificate_id
from mock_iotprov.protocol.errors import ServiceError
from mock_iotprov.provisioning.engine import TemplateError, evaluate_template
from mock_iotprov.provisioning.registration import apply_plan
from mock_iotprov.provisioning.templates import find_template
from mock_iotprov.registry import certificates
from mock_iotprov.registry.ca_certificates import CACertificate, registered_issuers
from mock_iotprov.registry.certificate_checks import check_valid_now, unsupported_key_reason
from mock_iotprov.state import DEFAULT_REGION, Backend, MockOptions, RequestContext, Store

CERTIFICATE_PARAMETERS = {
    "AWS::IoT::Certificate::Country": NameOID.COUNTRY_NAME,
    "AWS::IoT::Certificate::Organization": NameOID.ORGANIZATION_NAME,
    "AWS::IoT::Certificate::OrganizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "AWS::IoT::Certificate::DistinguishedNameQualifier": NameOID.DN_QUALIFIER,
    "AWS::IoT::Certificate::StateName": NameOID.STATE_OR_PROVINCE_NAME,
    "AWS::IoT::Certificate::CommonName": NameOID.COMMON_NAME,
    "AWS::IoT::Certificate::SerialNumber": NameOID.SERIAL_NUMBER,
}
CERTIFICATE_ID = "AWS::IoT::Certificate::Id"
ENABLE = "ENABLE"


def registered_event_topic(ca_certificate_id: str) -> str:
    return f"$aws/events/certificates/registered/{ca_certificate_id}"


def _drop(reason: str, events: tuple[OutboundMessage, ...] = ()) -> Admission:
    return Admission(False, reason=reason, close_without_connack=True, events=events)


def _milliseconds(moment: datetime.datetime) -> int:
    return int(moment.timestamp() * 1000)


def registered_event(ctx: RequestContext, record: certificates.Certificate) -> OutboundMessage:
    """The JITR event for a certificate registered (or presented) in ``PENDING_ACTIVATION``."""
    assert record.ca_certificate_id is not None
    payload = {
        "certificateId": record.certificate_id,
        "caCertificateId": record.ca_certificate_id,
        "timestamp": _milliseconds(ctx.now()),
        "certificateStatus": record.status,
        "awsAccountId": ctx.account_id,
        "certificateRegistrationTimestamp": str(_milliseconds(record.created)),
    }
    return OutboundMessage(registered_event_topic(record.ca_certificate_id), json.dumps(payload).encode(), 1)


def certificate_parameters(certificate: x509.Certificate, certificate_id: str) -> dict[str, str]:
    """The ``AWS::IoT::Certificate::*`` template parameters a certificate provides."""
    found = {CERTIFICATE_ID: certificate_id}
    for name, oid in CERTIFICATE_PARAMETERS.items():
        values = certificate.subject.get_attributes_for_oid(oid)
        if values:
            value = values[0].value
            found[name] = value if isinstance(value, str) else value.decode("utf-8", "replace")
    return found


def _missing_parameters(body: str, supplied: dict[str, str]) -> list[str]:
    try:
        declared: Any = json.loads(body).get("Parameters") or {}
    except (ValueError, AttributeError):
        return []
    if not isinstance(declared, dict):
        return []
    return [name for name in declared if name in CERTIFICATE_PARAMETERS and name not in supplied]


def _template_body(ctx: RequestContext, ca: CACertificate) -> str:
    config = ca.registration_config or {}
    if config.get("templateBody"):
        return config["templateBody"]
    return find_template(ctx, config["templateName"]).default_version.body


def _provision(ctx: RequestContext, ca: CACertificate, certificate: x509.Certificate) -> Admission:
    record = certificates.add_certificate(
        ctx, certificate, certificates.PENDING_ACTIVATION, ca.certificate_id, ca.certificate_mode
    )
    parameters = certificate_parameters(certificate, record.certificate_id)
    try:
        body = _template_body(ctx, ca)
        missing = _missing_parameters(body, parameters)
        if missing:
            raise TemplateError(f"the certificate's subject has no value for {', '.join(missing)}")
        apply_plan(ctx, evaluate_template(body, parameters))
    except (TemplateError, ServiceError) as exc:
        certificates.remove_certificate(ctx, record)
        return _drop(f"Just-in-time provisioning of {record.certificate_id} failed: {exc.message}")
    return _drop(f"Just-in-time provisioning registered {record.certificate_id}; the device must reconnect.")


def _register(ctx: RequestContext, ca: CACertificate, certificate: x509.Certificate) -> Admission:
    record = certificates.add_certificate(
        ctx, certificate, certificates.PENDING_ACTIVATION, ca.certificate_id, ca.certificate_mode
    )
    reason = f"Just-in-time registration registered {record.certificate_id} as PENDING_ACTIVATION."
    return _drop(reason, (registered_event(ctx, record),))


def _auto_registering(ca: CACertificate) -> bool:
    return ca.status == certificates.ACTIVE and ca.auto_registration_status == ENABLE


def _first_connection_in(ctx: RequestContext, certificate: x509.Certificate) -> Admission | None:
    issuers = registered_issuers(ctx, certificate)
    if not issuers:
        return None
    usable = [ca for ca in issuers if _auto_registering(ca)]
    if not usable:
        return Admission(False, reason="The certificate's CA is not ACTIVE with auto-registration enabled.")
    try:
        check_valid_now(certificate, ctx.now())
    except ServiceError as exc:
        return Admission(False, reason=exc.message)
    key_problem = unsupported_key_reason(certificate.public_key())
    if key_problem is not None:
        return Admission(False, reason=key_problem)
    ca = usable[0]
    return _provision(ctx, ca, certificate) if ca.registration_config else _register(ctx, ca, certificate)


def _stores(backend: Backend, account_id: str) -> list[Store]:
    stores = [store for store in backend.stores() if store.account_id == account_id]
    return sorted(stores, key=lambda store: store.region != DEFAULT_REGION)


def _pending_again(ctx: RequestContext, record: certificates.Certificate) -> Admission | None:
    if record.status != certificates.PENDING_ACTIVATION or record.ca_certificate_id is None:
        return None
    for ca in registered_issuers(ctx, record.certificate):
        if ca.certificate_id == record.ca_certificate_id and _auto_registering(ca):
            reason = f"The certificate {record.certificate_id} is PENDING_ACTIVATION."
            return _drop(reason, (registered_event(ctx, record),))
    return None


def first_connection(backend: Backend, options: MockOptions, certificate_der: bytes) -> Admission | None:
    """The JITR/JITP outcome of a CONNECT whose certificate the registry does not admit, or None when
    just-in-time registration does not apply (the ordinary refusal then stands)."""
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        return None
    identifier = certificate_id(certificate)
    for store in _stores(backend, options.account_id):
        ctx = RequestContext(store, options)
        with store.lock:
            store.sweep(ctx)
            record = certificates.certificate_tables(ctx).certificates.get(identifier)
            if record is not None:
                return _pending_again(ctx, record)
            decided = _first_connection_in(ctx, certificate)
            if decided is not None:
                return decided
    return None
