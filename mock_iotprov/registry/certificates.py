"""Device certificates: creation, registration, description, status changes and deletion.

Behaviour reproduced:

- ``CreateKeysAndCertificate`` hands out a new RSA-2048 key pair (SubjectPublicKeyInfo PEM public key,
  PKCS#1 PEM private key) and a certificate for it signed by the mock's device CA;
  ``CreateCertificateFromCsr`` signs the CSR's public key and keeps its subject. The CSR's signature must
  verify and its key must be RSA of at least 2048 bits or EC on P-256/P-384/P-521
  (``InvalidRequestException`` otherwise). Both create the certificate ``ACTIVE`` when ``setAsActive`` is
  true, else ``INACTIVE``.
- A certificate's id is the lowercase hex SHA-256 of its DER, its ARN ``...:cert/{id}``.
- ``RegisterCertificate`` needs a certificate signed by a registered CA certificate that is ``ACTIVE``
  (``caCertificatePem``, if given, names it) and valid now; otherwise ``CertificateValidationException``.
  When several registered CA certificates with the issuer's subject verify the signature and none is named,
  the answer is ``CertificateConflictException``. The certificate takes the CA's certificate mode.
  ``RegisterCertificateWithoutCA`` needs no CA and registers in ``SNI_ONLY`` mode. Registering a
  certificate that is already known is a ``ResourceAlreadyExistsException`` naming it.
- ``UpdateCertificate`` cannot set ``PENDING_TRANSFER`` or ``PENDING_ACTIVATION``
  (``InvalidRequestException``); a ``REVOKED`` certificate's status can never change again, nor can a
  certificate's in ``PENDING_TRANSFER`` (``CertificateStateException``). The operation is idempotent.
- ``DeleteCertificate`` refuses an ``ACTIVE`` certificate (``CertificateStateException``, HTTP 406), a
  certificate attached to a thing (``DeleteConflictException``) and one with attached policies
  (``DeleteConflictException``) unless ``forceDelete``, which then detaches the policies.

Where AWS is silent: registration takes ``status`` over the deprecated ``setAsActive`` and defaults to
``INACTIVE``; only ``ACTIVE``, ``INACTIVE`` and ``REVOKED`` may be registered (others are an
``InvalidRequestException``); a CSR with an empty subject gets the default ``CN=AWS IoT Certificate``; a
certificate in ``PENDING_TRANSFER`` cannot be deleted; certificate ids are matched case-insensitively;
certificates issued by the mock carry no ``caCertificateId``. A status change bumps ``customerVersion`` and
``lastModifiedDate`` and draws a new ``generationId``.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from mock_iotprov.pki import (
    certificate_id,
    certificate_pem,
    default_key_source,
    is_signed_by,
    issue_device_certificate,
    load_csr_pem,
    private_key_pem,
    public_key_pem,
)
from mock_iotprov.protocol.errors import (
    ServiceError,
    already_exists,
    delete_conflict,
    invalid_request,
    not_found,
)
from mock_iotprov.registry.attachments import attachments, certificate_arn
from mock_iotprov.registry.ca_certificates import CACertificate, registered_ca_certificate, registered_issuers
from mock_iotprov.registry.certificate_checks import (
    certificate_state,
    certificate_validation,
    check_valid_now,
    parsed_certificate,
    unsupported_key_reason,
)
from mock_iotprov.registry.certificate_order import CreationOrder
from mock_iotprov.registry.issued_keys import forget_private_key, remember_private_key
from mock_iotprov.state import RequestContext

ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
REVOKED = "REVOKED"
PENDING_TRANSFER = "PENDING_TRANSFER"
PENDING_ACTIVATION = "PENDING_ACTIVATION"
DEFAULT_MODE = "DEFAULT"
SNI_ONLY = "SNI_ONLY"
REGISTRABLE_STATUSES = (ACTIVE, INACTIVE, REVOKED)
INTERNAL_STATUSES = (PENDING_TRANSFER, PENDING_ACTIVATION)


@dataclass
class Certificate:
    """A device certificate in the registry."""

    certificate_id: str
    arn: str
    pem: str
    certificate: x509.Certificate
    status: str
    owned_by: str
    created: datetime.datetime
    modified: datetime.datetime
    ca_certificate_id: str | None
    certificate_mode: str
    sort_key: str
    customer_version: int = 1
    generation_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class CertificateTables:
    """The device certificates of one account and region, with their creation-order indexes."""

    certificates: dict[str, Certificate] = field(default_factory=dict)
    order: CreationOrder = field(default_factory=CreationOrder)
    by_ca: dict[str, CreationOrder] = field(default_factory=dict)


def certificate_tables(ctx: RequestContext) -> CertificateTables:
    """The certificate tables of the request's account and region."""
    return ctx.store.component(CertificateTables)


def find_certificate(ctx: RequestContext, certificate_id: str) -> Certificate:
    """The certificate with this id, or ``ResourceNotFoundException``."""
    found = certificate_tables(ctx).certificates.get(certificate_id.lower())
    if found is None:
        raise not_found(f"The certificate {certificate_id} does not exist.")
    return found


def certificate_exists(ctx: RequestContext, certificate_id: str) -> bool:
    """Whether a certificate with this id is in the registry."""
    return certificate_id.lower() in certificate_tables(ctx).certificates


def certificate_by_principal(ctx: RequestContext, principal_arn: str) -> Certificate | None:
    """The certificate a principal ARN (``...:cert/{id}``) names, or None."""
    prefix = certificate_arn(ctx, "")
    if not principal_arn.startswith(prefix):
        return None
    return certificate_tables(ctx).certificates.get(principal_arn[len(prefix) :].lower())


def add_certificate(
    ctx: RequestContext,
    certificate: x509.Certificate,
    status: str,
    ca_certificate_id: str | None = None,
    certificate_mode: str = DEFAULT_MODE,
) -> Certificate:
    """Store ``certificate`` (the caller has checked everything, including that it is new)."""
    tables = certificate_tables(ctx)
    new_id = certificate_id(certificate)
    if new_id in tables.certificates:
        raise ValueError(f"certificate {new_id} is already registered")
    now = ctx.now()
    record = Certificate(
        certificate_id=new_id,
        arn=certificate_arn(ctx, new_id),
        pem=certificate_pem(certificate),
        certificate=certificate,
        status=status,
        owned_by=ctx.account_id,
        created=now,
        modified=now,
        ca_certificate_id=ca_certificate_id,
        certificate_mode=certificate_mode,
        sort_key=tables.order.new_key(now, new_id),
    )
    tables.certificates[new_id] = record
    tables.order.add(record.sort_key)
    if ca_certificate_id is not None:
        tables.by_ca.setdefault(ca_certificate_id, CreationOrder()).add(record.sort_key)
    return record


def remove_certificate(ctx: RequestContext, certificate: Certificate) -> None:
    """Drop a certificate from the registry and every index (the caller has checked and detached)."""
    tables = certificate_tables(ctx)
    tables.certificates.pop(certificate.certificate_id, None)
    forget_private_key(ctx, certificate.certificate_id)
    tables.order.discard(certificate.sort_key)
    ca_id = certificate.ca_certificate_id
    if ca_id is not None and ca_id in tables.by_ca:
        tables.by_ca[ca_id].discard(certificate.sort_key)
        if not len(tables.by_ca[ca_id]):
            del tables.by_ca[ca_id]


def set_certificate_status(ctx: RequestContext, certificate: Certificate, status: str) -> None:
    """Change a certificate's status (no checks): bumps version, date and generation id."""
    certificate.status = status
    certificate.modified = ctx.now()
    certificate.customer_version += 1
    certificate.generation_id = str(uuid.uuid4())


def _created(record: Certificate) -> dict[str, Any]:
    return {
        "certificateArn": record.arn,
        "certificateId": record.certificate_id,
        "certificatePem": record.pem,
    }


def issue_keys_and_certificate(ctx: RequestContext, status: str) -> tuple[Certificate, dict[str, str]]:
    """A new RSA-2048 key pair and a registered device certificate for it in ``status``.

    Shared by ``CreateKeysAndCertificate`` on the control plane and over MQTT (``PENDING_ACTIVATION``).
    """
    key = default_key_source().take(fresh=ctx.options.fresh_keys)
    issued = issue_device_certificate(key.public_key(), ctx.now())
    record = add_certificate(ctx, issued, status)
    private_pem = private_key_pem(key)
    remember_private_key(ctx, record.certificate_id, private_pem)
    return record, {"PublicKey": public_key_pem(key.public_key()), "PrivateKey": private_pem}


class CsrRejected(ValueError):
    """A certificate signing request AWS IoT would not sign; ``reason`` says why."""

    def __init__(self, reason: str, unsupported_key: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unsupported_key = unsupported_key


def certificate_for_csr(csr_pem: str, now: datetime.datetime) -> x509.Certificate:
    """The device certificate for a CSR, after the checks every CSR path makes (one implementation).

    The CSR must parse and its signature verify; its key must be RSA of at least 2048 bits or EC on
    P-256/P-384/P-521; the certificate keeps the CSR's subject (``CN=AWS IoT Certificate`` when empty).
    Raises :class:`CsrRejected`.
    """
    try:
        csr = load_csr_pem(csr_pem)
    except ValueError as exc:
        raise CsrRejected(str(exc), unsupported_key=False) from None
    public_key = csr.public_key()
    reason = unsupported_key_reason(public_key)
    if reason is not None:
        raise CsrRejected(reason, unsupported_key=True)
    subject = csr.subject if len(csr.subject) else None
    return issue_device_certificate(public_key, now, subject=subject)


def csr_certificate_or_invalid_request(csr_pem: str, now: datetime.datetime) -> x509.Certificate:
    """:func:`certificate_for_csr` with ``CreateCertificateFromCsr``'s ``InvalidRequestException``."""
    try:
        return certificate_for_csr(csr_pem, now)
    except CsrRejected as exc:
        if exc.unsupported_key:
            raise invalid_request(
                f"Unsupported key in the certificate signing request: {exc.reason}"
            ) from None
        raise invalid_request(f"Invalid certificate signing request: {exc.reason}") from None


def create_keys_and_certificate(ctx: RequestContext, *, setAsActive: bool | None = None) -> dict[str, Any]:
    """CreateKeysAndCertificate: a new RSA-2048 key pair and a device certificate for it."""
    record, key_pair = issue_keys_and_certificate(ctx, ACTIVE if setAsActive else INACTIVE)
    return {**_created(record), "keyPair": key_pair}


def create_certificate_from_csr(
    ctx: RequestContext, *, certificateSigningRequest: str, setAsActive: bool | None = None
) -> dict[str, Any]:
    """CreateCertificateFromCsr: the CSR's key and subject, signed by the device CA."""
    issued = csr_certificate_or_invalid_request(certificateSigningRequest, ctx.now())
    record = add_certificate(ctx, issued, ACTIVE if setAsActive else INACTIVE)
    return _created(record)


def _registration_status(status: str | None, set_as_active: bool | None) -> str:
    if status is None:
        return ACTIVE if set_as_active else INACTIVE
    if status not in REGISTRABLE_STATUSES:
        raise invalid_request(
            f"A certificate cannot be registered with status {status}: use one of "
            + ", ".join(REGISTRABLE_STATUSES)
            + "."
        )
    return status


def _new_certificate(ctx: RequestContext, pem: str) -> x509.Certificate:
    """The certificate in ``pem`` after the checks every registration makes."""
    certificate = parsed_certificate(pem)
    new_id = certificate_id(certificate)
    if new_id in certificate_tables(ctx).certificates:
        raise already_exists(
            "The certificate is already provisioned or registered.", new_id, certificate_arn(ctx, new_id)
        )
    check_valid_now(certificate, ctx.now())
    reason = unsupported_key_reason(certificate.public_key())
    if reason is not None:
        raise certificate_validation(reason)
    return certificate


def _issuing_ca(ctx: RequestContext, certificate: x509.Certificate, ca_pem: str | None) -> CACertificate:
    if ca_pem is not None:
        named = parsed_certificate(ca_pem, "CA certificate")
        ca = registered_ca_certificate(ctx, certificate_id(named))
        if ca is None:
            raise certificate_validation("The CA certificate is not registered.")
        if not is_signed_by(certificate, ca.certificate):
            raise certificate_validation("The certificate is not signed by the given CA certificate.")
    else:
        issuers = registered_issuers(ctx, certificate)
        if not issuers:
            raise certificate_validation("The certificate is not signed by a registered CA certificate.")
        if len(issuers) > 1:
            raise ServiceError(
                "CertificateConflictException",
                "Several registered CA certificates share the issuer's subject and public key; "
                "name the signing CA with caCertificatePem.",
            )
        ca = issuers[0]
    if ca.status != ACTIVE:
        raise certificate_validation(f"The CA certificate {ca.certificate_id} is not ACTIVE.")
    return ca


def register_certificate(
    ctx: RequestContext,
    *,
    certificatePem: str,
    caCertificatePem: str | None = None,
    setAsActive: bool | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """RegisterCertificate: a certificate signed by a registered, active CA certificate."""
    certificate = _new_certificate(ctx, certificatePem)
    ca = _issuing_ca(ctx, certificate, caCertificatePem)
    new_status = _registration_status(status, setAsActive)
    record = add_certificate(ctx, certificate, new_status, ca.certificate_id, ca.certificate_mode)
    return {"certificateArn": record.arn, "certificateId": record.certificate_id}


def register_certificate_without_ca(
    ctx: RequestContext, *, certificatePem: str, status: str | None = None
) -> dict[str, Any]:
    """RegisterCertificateWithoutCA: no CA needed; the certificate is in SNI_ONLY mode."""
    certificate = _new_certificate(ctx, certificatePem)
    new_status = _registration_status(status, None)
    record = add_certificate(ctx, certificate, new_status, None, SNI_ONLY)
    return {"certificateArn": record.arn, "certificateId": record.certificate_id}


def describe_certificate(ctx: RequestContext, *, certificateId: str) -> dict[str, Any]:
    """DescribeCertificate: validity is the certificate's own notBefore/notAfter."""
    record = find_certificate(ctx, certificateId)
    return {
        "certificateDescription": {
            "certificateArn": record.arn,
            "certificateId": record.certificate_id,
            "caCertificateId": record.ca_certificate_id,
            "status": record.status,
            "certificatePem": record.pem,
            "ownedBy": record.owned_by,
            "creationDate": record.created,
            "lastModifiedDate": record.modified,
            "customerVersion": record.customer_version,
            "transferData": {},
            "generationId": record.generation_id,
            "validity": {
                "notBefore": record.certificate.not_valid_before_utc,
                "notAfter": record.certificate.not_valid_after_utc,
            },
            "certificateMode": record.certificate_mode,
        }
    }


def update_certificate(ctx: RequestContext, *, certificateId: str, newStatus: str) -> dict[str, Any]:
    """UpdateCertificate."""
    record = find_certificate(ctx, certificateId)
    if newStatus in INTERNAL_STATUSES:
        raise invalid_request(f"The status {newStatus} is used internally by AWS IoT and cannot be set.")
    if record.status == REVOKED and newStatus != REVOKED:
        raise certificate_state(
            f"The certificate {record.certificate_id} is REVOKED; its status cannot change."
        )
    if record.status == PENDING_TRANSFER:
        raise certificate_state(f"The certificate {record.certificate_id} is pending transfer.")
    if newStatus != record.status:
        set_certificate_status(ctx, record, newStatus)
    return {}


def delete_certificate(
    ctx: RequestContext, *, certificateId: str, forceDelete: bool | None = None
) -> dict[str, Any]:
    """DeleteCertificate: not ACTIVE, not attached to a thing, no policies unless ``forceDelete``."""
    record = find_certificate(ctx, certificateId)
    if record.status == ACTIVE:
        raise certificate_state(
            f"Certificate must be deactivated (not ACTIVE) before deletion. Id: {record.certificate_id}"
        )
    if record.status == PENDING_TRANSFER:
        raise certificate_state(f"The certificate {record.certificate_id} is pending transfer.")
    links = attachments(ctx)
    things = links.things_of_principal(record.arn)
    if things:
        raise delete_conflict(
            f"The certificate {record.certificate_id} is attached to things: {', '.join(sorted(things))}."
        )
    if links.policies_of_target(record.arn) and not forceDelete:
        raise delete_conflict(
            f"The certificate {record.certificate_id} has attached policies; detach them or use forceDelete."
        )
    links.detach_all_policies_from(record.arn)
    remove_certificate(ctx, record)
    return {}
