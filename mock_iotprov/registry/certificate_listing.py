"""ListCertificates and ListCertificatesByCA.

Behaviour reproduced: the account's device certificates ordered by creation date, newest first unless
``ascendingOrder`` is true, 25 per page unless ``pageSize`` says otherwise, with ``nextMarker`` for the next
page (see ``certificate_order``). ListCertificatesByCA lists the certificates registered under one CA
certificate; claim certificates are never in the registry, so never listed.

Where AWS is silent: ListCertificatesByCA for a CA id that is not registered (the model declares no
``ResourceNotFoundException`` for it) returns an empty list, or the certificates still registered under a
CA certificate that was deleted.
"""

from __future__ import annotations

from typing import Any

from mock_iotprov.registry.certificate_order import CreationOrder
from mock_iotprov.registry.certificates import CertificateTables, certificate_tables
from mock_iotprov.state import RequestContext


def _page(
    tables: CertificateTables,
    order: CreationOrder,
    marker: str | None,
    page_size: int | None,
    ascending: bool | None,
) -> dict[str, Any]:
    ids, next_marker = order.page(marker, page_size, bool(ascending))
    summaries = []
    for certificate_id in ids:
        record = tables.certificates[certificate_id]
        summaries.append(
            {
                "certificateArn": record.arn,
                "certificateId": record.certificate_id,
                "status": record.status,
                "certificateMode": record.certificate_mode,
                "creationDate": record.created,
            }
        )
    return {"certificates": summaries, "nextMarker": next_marker}


def list_certificates(
    ctx: RequestContext,
    *,
    pageSize: int | None = None,
    marker: str | None = None,
    ascendingOrder: bool | None = None,
) -> dict[str, Any]:
    """ListCertificates."""
    tables = certificate_tables(ctx)
    return _page(tables, tables.order, marker, pageSize, ascendingOrder)


def list_certificates_by_ca(
    ctx: RequestContext,
    *,
    caCertificateId: str,
    pageSize: int | None = None,
    marker: str | None = None,
    ascendingOrder: bool | None = None,
) -> dict[str, Any]:
    """ListCertificatesByCA."""
    tables = certificate_tables(ctx)
    order = tables.by_ca.get(caCertificateId.lower(), CreationOrder())
    return _page(tables, order, marker, pageSize, ascendingOrder)
