"""What the dashboard shows of one (account, region): the registry as plain tables of text.

This module reads the domain tables (under the store's lock) and turns them into :class:`Table` rows of
:class:`Cell` text, each object naming the detail view it links to by ``(kind, id)``; the dashboard door
renders them and knows nothing of what a thing or a certificate is. Private keys are never part of a
table: :func:`detail` includes the one the mock kept only when asked (``with_private_key``).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mock_iotprov.provisioning.claims import ClaimTables
from mock_iotprov.provisioning.templates import TemplateTables
from mock_iotprov.registry.attachments import AttachmentTables
from mock_iotprov.registry.certificates import CertificateTables
from mock_iotprov.registry.issued_keys import issued_private_key
from mock_iotprov.registry.memberships import MembershipTables
from mock_iotprov.registry.policies import PolicyTables
from mock_iotprov.registry.thing_records import ThingTables
from mock_iotprov.state import Store

THINGS = "things"
CERTIFICATES = "certificates"
POLICIES = "policies"
TEMPLATES = "templates"
CLAIMS = "claims"
KINDS = (THINGS, CERTIFICATES, POLICIES, TEMPLATES, CLAIMS)


@dataclass(frozen=True)
class Cell:
    """One shown value; ``link`` is the ``(kind, id)`` of the object it opens, if any."""

    text: str
    link: tuple[str, str] | None = None


Columns = tuple[str, ...]
Rows = list[tuple[Cell, ...]]


@dataclass(frozen=True)
class Table:
    """A titled list of rows; ``total`` is the number of rows before paging."""

    title: str
    kind: str
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)
    total: int = 0


@dataclass(frozen=True)
class Detail:
    """One object: its fields, in order, and the tables of what is attached to it."""

    title: str
    fields: list[tuple[str, Cell]]
    private_key_available: bool = False
    private_key_pem: str | None = None


def _when(moment: datetime.datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _certificate_id(principal: str) -> str | None:
    head, _, tail = principal.rpartition(":cert/")
    return tail if head else None


def _principal_cells(principals: Iterable[str]) -> Cell:
    return Cell(", ".join(principals))


def _things(store: Store) -> tuple[Columns, Rows]:
    things = store.component(ThingTables).things
    groups = store.component(MembershipTables).thing_groups
    links = store.component(AttachmentTables)
    rows: Rows = []
    for name in sorted(things):
        thing = things[name]
        attributes = ", ".join(f"{key}={value}" for key, value in sorted(thing.attributes.items()))
        rows.append(
            (
                Cell(name, (THINGS, name)),
                Cell(thing.thing_type_name or ""),
                Cell(", ".join(sorted(groups.get(name, {})))),
                Cell(attributes),
                _principal_cells(links.thing_principals.get(name, {})),
            )
        )
    return ("name", "type", "groups", "attributes", "principals"), rows


def _certificates(store: Store) -> tuple[Columns, Rows]:
    certificates = store.component(CertificateTables).certificates
    links = store.component(AttachmentTables)
    rows: Rows = []
    for record in sorted(certificates.values(), key=lambda item: item.created):
        rows.append(
            (
                Cell(record.certificate_id, (CERTIFICATES, record.certificate_id)),
                Cell(record.status),
                Cell(record.certificate.issuer.rfc4514_string()),
                Cell(", ".join(links.target_policies.get(record.arn, {}))),
                Cell(_when(record.created)),
            )
        )
    return ("certificate id", "status", "issuer", "policies", "created"), rows


def _policies(store: Store) -> tuple[Columns, Rows]:
    policies = store.component(PolicyTables).policies
    links = store.component(AttachmentTables)
    rows: Rows = []
    for name in sorted(policies):
        policy = policies[name]
        targets = links.target_order(name)
        rows.append(
            (
                Cell(name, (POLICIES, name)),
                Cell(str(policy.default_version_id)),
                Cell(str(len(policy.versions))),
                Cell(str(len(targets))),
            )
        )
    return ("name", "default version", "versions", "targets"), rows


def _templates(store: Store) -> tuple[Columns, Rows]:
    templates = store.component(TemplateTables).templates
    rows: Rows = []
    for name in sorted(templates):
        template = templates[name]
        hook = (template.hook or {}).get("targetArn", "")
        rows.append(
            (
                Cell(name, (TEMPLATES, name)),
                Cell(template.template_type),
                Cell("yes" if template.enabled else "no"),
                Cell(str(template.default_version_id)),
                Cell(hook),
            )
        )
    return ("name", "type", "enabled", "default version", "pre-provisioning hook"), rows


def _claims(store: Store, now: datetime.datetime) -> tuple[Columns, Rows]:
    rows: Rows = []
    for claim in store.component(ClaimTables).claims.values():
        if claim.is_valid_at(now):
            rows.append(
                (
                    Cell(claim.certificate_id, (CLAIMS, claim.certificate_id)),
                    Cell(claim.template_name, (TEMPLATES, claim.template_name)),
                    Cell(_when(claim.expiration)),
                )
            )
    return ("claim certificate id", "template", "expires"), rows


_LISTS: dict[str, tuple[str, Callable[..., tuple[Columns, Rows]]]] = {
    THINGS: ("Things", _things),
    CERTIFICATES: ("Certificates", _certificates),
    POLICIES: ("Policies", _policies),
    TEMPLATES: ("Provisioning templates", _templates),
}


def table(store: Store, kind: str, *, offset: int = 0, limit: int = 25) -> Table:
    """One page of the ``kind`` list of ``store`` (``KeyError`` for an unknown kind)."""
    with store.lock:
        if kind == CLAIMS:
            title = "Live claims"
            columns, rows = _claims(store, datetime.datetime.now(datetime.timezone.utc))
        else:
            title, build = _LISTS[kind]
            columns, rows = build(store)
    return Table(title, kind, columns, rows[offset : offset + limit], len(rows))


def detail(store: Store, kind: str, identifier: str, *, with_private_key: bool = False) -> Detail | None:
    """The detail view of one object, or None if it does not exist."""
    with store.lock:
        build = _DETAILS.get(kind)
        return None if build is None else build(store, identifier, with_private_key)


def _thing_detail(store: Store, name: str, _: bool) -> Detail | None:
    thing = store.component(ThingTables).things.get(name)
    if thing is None:
        return None
    principals = store.component(AttachmentTables).thing_principals.get(name, {})
    memberships = store.component(MembershipTables)
    fields: list[tuple[str, Cell]] = [
        ("name", Cell(thing.name)),
        ("arn", Cell(thing.arn)),
        ("thing id", Cell(thing.thing_id)),
        ("type", Cell(thing.thing_type_name or "")),
        ("billing group", Cell(memberships.thing_billing_group.get(name, ""))),
        ("groups", Cell(", ".join(sorted(memberships.thing_groups.get(name, {}))))),
        ("version", Cell(str(thing.version))),
    ]
    fields += [(f"attribute {key}", Cell(value)) for key, value in sorted(thing.attributes.items())]
    for principal, principal_type in principals.items():
        certificate_id = _certificate_id(principal)
        link = (CERTIFICATES, certificate_id) if certificate_id else None
        fields.append((f"principal ({principal_type})", Cell(principal, link)))
    return Detail(f"Thing {name}", fields)


def _certificate_detail(store: Store, certificate_id: str, with_key: bool) -> Detail | None:
    record = store.component(CertificateTables).certificates.get(certificate_id.lower())
    if record is None:
        return None
    links = store.component(AttachmentTables)
    fields: list[tuple[str, Cell]] = [
        ("certificate id", Cell(record.certificate_id)),
        ("arn", Cell(record.arn)),
        ("status", Cell(record.status)),
        ("subject", Cell(record.certificate.subject.rfc4514_string())),
        ("issuer", Cell(record.certificate.issuer.rfc4514_string())),
        ("valid from", Cell(_when(record.certificate.not_valid_before_utc))),
        ("valid until", Cell(_when(record.certificate.not_valid_after_utc))),
        ("CA certificate id", Cell(record.ca_certificate_id or "")),
        ("mode", Cell(record.certificate_mode)),
        ("created", Cell(_when(record.created))),
    ]
    fields += [("policy", Cell(name, (POLICIES, name))) for name in links.target_policies.get(record.arn, {})]
    fields += [("thing", Cell(name, (THINGS, name))) for name in links.principal_things.get(record.arn, {})]
    fields.append(("certificate PEM", Cell(record.pem)))
    return _with_key(store, f"Certificate {record.certificate_id}", fields, record.certificate_id, with_key)


def _claim_detail(store: Store, certificate_id: str, with_key: bool) -> Detail | None:
    claim = store.component(ClaimTables).claims.get(certificate_id)
    if claim is None:
        return None
    fields = [
        ("claim certificate id", Cell(claim.certificate_id)),
        ("template", Cell(claim.template_name, (TEMPLATES, claim.template_name))),
        ("valid from", Cell(_when(claim.not_before))),
        ("expires", Cell(_when(claim.expiration))),
        ("certificate PEM", Cell(claim.certificate_pem)),
    ]
    return _with_key(store, f"Claim {claim.certificate_id}", fields, claim.certificate_id, with_key)


def _with_key(
    store: Store, title: str, fields: list[tuple[str, Cell]], key_id: str, with_key: bool
) -> Detail:
    key = issued_private_key(store, key_id)
    return Detail(title, fields, key is not None, key if with_key else None)


def _policy_detail(store: Store, name: str, _: bool) -> Detail | None:
    policy = store.component(PolicyTables).policies.get(name)
    if policy is None:
        return None
    fields: list[tuple[str, Cell]] = [
        ("name", Cell(policy.name)),
        ("arn", Cell(policy.arn)),
        ("default version", Cell(str(policy.default_version_id))),
    ]
    for target in store.component(AttachmentTables).target_order(name):
        certificate_id = _certificate_id(target)
        fields.append(("target", Cell(target, (CERTIFICATES, certificate_id) if certificate_id else None)))
    for version_id in sorted(policy.versions):
        fields.append((f"version {version_id}", Cell(_pretty(policy.versions[version_id].document))))
    return Detail(f"Policy {name}", fields)


def _template_detail(store: Store, name: str, _: bool) -> Detail | None:
    template = store.component(TemplateTables).templates.get(name)
    if template is None:
        return None
    fields: list[tuple[str, Cell]] = [
        ("name", Cell(template.name)),
        ("arn", Cell(template.arn)),
        ("type", Cell(template.template_type)),
        ("enabled", Cell("yes" if template.enabled else "no")),
        ("provisioning role", Cell(template.role_arn)),
        ("description", Cell(template.description or "")),
        ("pre-provisioning hook", Cell(json.dumps(template.hook) if template.hook else "")),
        ("default version", Cell(str(template.default_version_id))),
    ]
    for version_id in sorted(template.versions):
        fields.append((f"version {version_id}", Cell(_pretty(template.versions[version_id].body))))
    return Detail(f"Provisioning template {name}", fields)


def _pretty(document: str) -> str:
    try:
        return json.dumps(json.loads(document), indent=2, sort_keys=False)
    except (ValueError, RecursionError):
        return document


_DETAILS: dict[str, Callable[[Store, str, bool], Detail | None]] = {
    THINGS: _thing_detail,
    CERTIFICATES: _certificate_detail,
    POLICIES: _policy_detail,
    TEMPLATES: _template_detail,
    CLAIMS: _claim_detail,
}
