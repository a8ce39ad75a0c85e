"""CA certificates: the registration code, RegisterCACertificate and the other CA-certificate operations.

Behaviour reproduced:

- ``GetRegistrationCode`` returns the account's registration code (64 hex characters), created on the first
  call and the same on every later call.
- ``RegisterCACertificate`` takes a CA certificate (basicConstraints ``CA:TRUE``, valid now, an RSA or
  NIST-curve ECDSA key as for device certificates, else ``CertificateValidationException``). In ``DEFAULT``
  mode (the default) a verification certificate is required: it must be signed by the CA's key (else
  ``CertificateValidationException``) and its subject CN must be the registration code (else
  ``RegistrationCodeValidationException``). In ``SNI_ONLY`` mode the verification certificate must be
  absent. The CA id is the SHA-256 of its DER; registering it twice is a ``ResourceAlreadyExistsException``;
  at most 10 CA certificates may share one subject
  (``LimitExceededException``). ``setAsActive`` gives ``ACTIVE`` (else ``INACTIVE``),
  ``allowAutoRegistration`` gives ``autoRegistrationStatus`` ``ENABLE`` (else ``DISABLE``).
- ``registrationConfig`` (the just-in-time provisioning template of the CA) holds either an inline
  ``templateBody`` (checked like a stored template) with a ``roleArn``, or the ``templateName`` of an
  existing provisioning template (``ResourceNotFoundException`` if there is none).
- ``DeleteCACertificate`` refuses an ``ACTIVE`` CA (``CertificateStateException``, HTTP 406).
- Lists are ordered by creation date, newest first unless ``ascendingOrder`` (see ``certificate_order``).

Where AWS is silent: both ``templateBody`` and ``templateName``, a ``templateBody`` without ``roleArn``, a
``templateName`` naming a template that is not of type ``JITP``, and ``registrationConfig`` together with
``removeAutoRegistration`` are ``InvalidRequestException``; ``removeAutoRegistration`` removes the
registration config. Deleting a CA leaves the device certificates registered under it in place (they keep
their ``caCertificateId``; the model declares no conflict error for DeleteCACertificate). Each update bumps
``customerVersion`` and ``lastModifiedDate`` and draws a new ``generationId``. The one-account-per-region
rule for ``DEFAULT`` mode is not enforced across accounts of one mock.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from mock_iotprov.pki import certificate_id, certificate_pem, is_signed_by, load_certificate_pem
from mock_iotprov.protocol.errors import (
    ServiceError,
    already_exists,
    invalid_request,
    limit_exceeded,
    not_found,
)
from mock_iotprov.provisioning.engine import TemplateError, check_template
from mock_iotprov.provisioning.templates import JITP, find_template
from mock_iotprov.registry import memberships
from mock_iotprov.registry import tags as tag_store
from mock_iotprov.registry.certificate_checks import (
    certificate_state,
    certificate_validation,
    check_valid_now,
    is_ca_certificate,
    parsed_certificate,
    subject_key,
    unsupported_key_reason,
)
from mock_iotprov.registry.certificate_order import CreationOrder
from mock_iotprov.state import RequestContext

ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
ENABLE = "ENABLE"
DISABLE = "DISABLE"
DEFAULT_MODE = "DEFAULT"
SNI_ONLY = "SNI_ONLY"
MAX_CA_CERTIFICATES_PER_SUBJECT = 10


@dataclass
class CACertificate:
    """A registered CA certificate."""

    certificate_id: str
    arn: str
    pem: str
    certificate: x509.Certificate
    status: str
    auto_registration_status: str
    owned_by: str
    created: datetime.datetime
    modified: datetime.datetime
    certificate_mode: str
    registration_config: dict[str, str] | None
    sort_key: str
    customer_version: int = 1
    generation_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def template_name(self) -> str | None:
        """The provisioning template the registration config names, if any."""
        return self.registration_config.get("templateName") if self.registration_config else None

    def touch(self, now: datetime.datetime) -> None:
        """Record a change: new lastModifiedDate, customerVersion and generationId."""
        self.modified = now
        self.customer_version += 1
        self.generation_id = str(uuid.uuid4())


@dataclass
class CACertificateTables:
    """The CA certificates of one account and region, and the account's registration code."""

    ca_certificates: dict[str, CACertificate] = field(default_factory=dict)
    order: CreationOrder = field(default_factory=CreationOrder)
    by_subject: dict[bytes, list[str]] = field(default_factory=dict)
    registration_code: str | None = None

    def index(self, ca: CACertificate) -> None:
        self.ca_certificates[ca.certificate_id] = ca
        self.order.add(ca.sort_key)
        self.by_subject.setdefault(subject_key(ca.certificate.subject), []).append(ca.certificate_id)

    def unindex(self, ca: CACertificate) -> None:
        del self.ca_certificates[ca.certificate_id]
        self.order.discard(ca.sort_key)
        key = subject_key(ca.certificate.subject)
        same_subject = self.by_subject.get(key, [])
        if ca.certificate_id in same_subject:
            same_subject.remove(ca.certificate_id)
        if not same_subject:
            self.by_subject.pop(key, None)


def _set_registration_config(ctx: RequestContext, ca: CACertificate, config: dict[str, str] | None) -> None:
    old = ca.template_name
    ca.registration_config = config
    memberships.name_template(ctx, ca.sort_key, old, ca.template_name)


def _tables(ctx: RequestContext) -> CACertificateTables:
    return ctx.store.component(CACertificateTables)


def ca_certificate_arn(ctx: RequestContext, ca_certificate_id: str) -> str:
    """``arn:aws:iot:{region}:{account}:cacert/{id}``."""
    return ctx.arn(f"cacert/{ca_certificate_id}")


def find_ca_certificate(ctx: RequestContext, ca_certificate_id: str) -> CACertificate:
    """The registered CA certificate with this id, or ``ResourceNotFoundException``."""
    found = _tables(ctx).ca_certificates.get(ca_certificate_id.lower())
    if found is None:
        raise not_found(f"The CA certificate {ca_certificate_id} does not exist.")
    return found


def registered_ca_certificate(ctx: RequestContext, ca_certificate_id: str) -> CACertificate | None:
    """The registered CA certificate with this id, or None."""
    return _tables(ctx).ca_certificates.get(ca_certificate_id.lower())


def ca_certificate_exists(ctx: RequestContext, ca_certificate_id: str) -> bool:
    """Whether a CA certificate with this id is registered (used by tagging)."""
    return ca_certificate_id.lower() in _tables(ctx).ca_certificates


def registered_issuers(ctx: RequestContext, certificate: x509.Certificate) -> list[CACertificate]:
    """Every registered CA certificate (whatever its status) that signed ``certificate``."""
    tables = _tables(ctx)
    candidates = tables.by_subject.get(subject_key(certificate.issuer), [])
    found = (tables.ca_certificates[ca_id] for ca_id in candidates)
    return [ca for ca in found if is_signed_by(certificate, ca.certificate)]


def registered_issuer_of(
    ctx: RequestContext, certificate: x509.Certificate, ca_pem: str | None = None
) -> CACertificate | None:
    """An ``ACTIVE`` registered CA certificate that signed ``certificate`` (``ca_pem`` if given), or None."""
    if ca_pem is not None:
        try:
            named = load_certificate_pem(ca_pem)
        except ValueError:
            return None
        ca = _tables(ctx).ca_certificates.get(certificate_id(named))
        if ca is None or ca.status != ACTIVE or not is_signed_by(certificate, ca.certificate):
            return None
        return ca
    for ca in registered_issuers(ctx, certificate):
        if ca.status == ACTIVE:
            return ca
    return None


def registration_code(ctx: RequestContext) -> str:
    """The account's registration code, created on first use."""
    tables = _tables(ctx)
    if tables.registration_code is None:
        tables.registration_code = secrets.token_hex(32)
    return tables.registration_code


def get_registration_code(ctx: RequestContext) -> dict[str, Any]:
    """GetRegistrationCode."""
    return {"registrationCode": registration_code(ctx)}


def _checked_registration_config(ctx: RequestContext, config: dict[str, Any] | None) -> dict[str, str] | None:
    if config is None:
        return None
    kept = {key: str(value) for key, value in config.items() if value is not None}
    if not kept:
        return None
    body, name = kept.get("templateBody"), kept.get("templateName")
    if body is not None and name is not None:
        raise invalid_request("registrationConfig cannot have both templateBody and templateName.")
    if body is not None:
        if "roleArn" not in kept:
            raise invalid_request("registrationConfig with a templateBody requires a roleArn.")
        try:
            check_template(body)
        except TemplateError as exc:
            raise invalid_request(f"Invalid registration template: {exc.message}") from None
    if name is not None:
        template = find_template(ctx, name)
        if template.template_type != JITP:
            raise invalid_request(f"The provisioning template {name} is not of type {JITP}.")
    return kept


def _check_verification(ctx: RequestContext, ca: x509.Certificate, verification_pem: str) -> None:
    verification = parsed_certificate(verification_pem, "verification certificate")
    check_valid_now(verification, ctx.now(), "verification certificate")
    if not is_signed_by(verification, ca):
        raise certificate_validation("The verification certificate is not signed by the CA certificate.")
    names = verification.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    code = _tables(ctx).registration_code
    if code is None or not names or names[0].value != code:
        raise ServiceError(
            "RegistrationCodeValidationException",
            "The common name of the verification certificate is not the registration code.",
        )


def register_ca_certificate(
    ctx: RequestContext,
    *,
    caCertificate: str,
    verificationCertificate: str | None = None,
    setAsActive: bool | None = None,
    allowAutoRegistration: bool | None = None,
    registrationConfig: dict[str, Any] | None = None,
    tags: list[dict[str, str]] | None = None,
    certificateMode: str | None = None,
) -> dict[str, Any]:
    """RegisterCACertificate: every check runs before anything is stored."""
    tables = _tables(ctx)
    ca = parsed_certificate(caCertificate, "CA certificate")
    if not is_ca_certificate(ca):
        raise certificate_validation("The certificate is not a CA certificate (basicConstraints CA:TRUE).")
    reason = unsupported_key_reason(ca.public_key())
    if reason is not None:
        raise certificate_validation(f"The CA certificate's key is not supported: {reason}")
    check_valid_now(ca, ctx.now(), "CA certificate")
    ca_id = certificate_id(ca)
    arn = ca_certificate_arn(ctx, ca_id)
    if ca_id in tables.ca_certificates:
        raise already_exists(f"The CA certificate {ca_id} is already registered.", ca_id, arn)
    mode = certificateMode or DEFAULT_MODE
    if mode == SNI_ONLY and verificationCertificate is not None:
        raise invalid_request("A verification certificate must not be given in SNI_ONLY mode.")
    if mode == DEFAULT_MODE:
        if verificationCertificate is None:
            raise invalid_request("A verification certificate is required in DEFAULT mode.")
        _check_verification(ctx, ca, verificationCertificate)
    config = _checked_registration_config(ctx, registrationConfig)
    if len(tables.by_subject.get(subject_key(ca.subject), [])) >= MAX_CA_CERTIFICATES_PER_SUBJECT:
        raise limit_exceeded(
            f"At most {MAX_CA_CERTIFICATES_PER_SUBJECT} CA certificates can share one subject."
        )
    if tags:
        tag_store.add_tags(ctx, arn, tags)
    now = ctx.now()
    record = CACertificate(
        certificate_id=ca_id,
        arn=arn,
        pem=certificate_pem(ca),
        certificate=ca,
        status=ACTIVE if setAsActive else INACTIVE,
        auto_registration_status=ENABLE if allowAutoRegistration else DISABLE,
        owned_by=ctx.account_id,
        created=now,
        modified=now,
        certificate_mode=mode,
        registration_config=config,
        sort_key=tables.order.new_key(now, ca_id),
    )
    tables.index(record)
    memberships.name_template(ctx, record.sort_key, None, record.template_name)
    return {"certificateArn": arn, "certificateId": ca_id}


def describe_ca_certificate(ctx: RequestContext, *, certificateId: str) -> dict[str, Any]:
    """DescribeCACertificate."""
    ca = find_ca_certificate(ctx, certificateId)
    return {
        "certificateDescription": {
            "certificateArn": ca.arn,
            "certificateId": ca.certificate_id,
            "status": ca.status,
            "certificatePem": ca.pem,
            "ownedBy": ca.owned_by,
            "creationDate": ca.created,
            "autoRegistrationStatus": ca.auto_registration_status,
            "lastModifiedDate": ca.modified,
            "customerVersion": ca.customer_version,
            "generationId": ca.generation_id,
            "validity": {
                "notBefore": ca.certificate.not_valid_before_utc,
                "notAfter": ca.certificate.not_valid_after_utc,
            },
            "certificateMode": ca.certificate_mode,
        },
        "registrationConfig": dict(ca.registration_config) if ca.registration_config else None,
    }


def list_ca_certificates(
    ctx: RequestContext,
    *,
    pageSize: int | None = None,
    marker: str | None = None,
    ascendingOrder: bool | None = None,
    templateName: str | None = None,
) -> dict[str, Any]:
    """ListCACertificates; ``templateName`` keeps the CAs whose registration config names that template."""
    tables = _tables(ctx)
    order = tables.order if templateName is None else memberships.cas_naming_template(ctx, templateName)
    ids, next_marker = order.page(marker, pageSize, bool(ascendingOrder))
    summaries = []
    for ca_id in ids:
        ca = tables.ca_certificates[ca_id]
        summaries.append(
            {
                "certificateArn": ca.arn,
                "certificateId": ca.certificate_id,
                "status": ca.status,
                "creationDate": ca.created,
            }
        )
    return {"certificates": summaries, "nextMarker": next_marker}


def update_ca_certificate(
    ctx: RequestContext,
    *,
    certificateId: str,
    newStatus: str | None = None,
    newAutoRegistrationStatus: str | None = None,
    registrationConfig: dict[str, Any] | None = None,
    removeAutoRegistration: bool | None = None,
) -> dict[str, Any]:
    """UpdateCACertificate: every check runs before anything changes."""
    ca = find_ca_certificate(ctx, certificateId)
    if registrationConfig is not None and removeAutoRegistration:
        raise invalid_request("registrationConfig and removeAutoRegistration cannot be used together.")
    config = _checked_registration_config(ctx, registrationConfig)
    changed = False
    if newStatus is not None:
        ca.status = newStatus
        changed = True
    if newAutoRegistrationStatus is not None:
        ca.auto_registration_status = newAutoRegistrationStatus
        changed = True
    if config is not None:
        _set_registration_config(ctx, ca, config)
        changed = True
    if removeAutoRegistration:
        _set_registration_config(ctx, ca, None)
        changed = True
    if changed:
        ca.touch(ctx.now())
    return {}


def delete_ca_certificate(ctx: RequestContext, *, certificateId: str) -> dict[str, Any]:
    """DeleteCACertificate: an ACTIVE CA certificate must be deactivated first."""
    ca = find_ca_certificate(ctx, certificateId)
    if ca.status == ACTIVE:
        raise certificate_state(
            f"The CA certificate {ca.certificate_id} must be deactivated (not ACTIVE) before deletion."
        )
    _tables(ctx).unindex(ca)
    memberships.name_template(ctx, ca.sort_key, ca.template_name, None)
    tag_store.forget(ctx, ca.arn)
    return {}
