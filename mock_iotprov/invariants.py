"""Referential integrity of one store: what must hold between the registry's tables after every request.

``registry_problems(store)`` reads the domain tables of one (account, region) and describes every broken
rule it finds (an empty list means the store is consistent). The rules:

- Things: the name index equals the table; each thing's ARN is its own; its thing type exists; the by-type
  index lists exactly the things of each type; its billing group exists and lists it.
- Thing types, thing groups, billing groups, policies and provisioning templates: name (or order) indexes
  agree with the tables. Thing groups: every parent exists, roots and children indexes agree with the
  parents, the hierarchy has no cycle; every membership is of an existing thing in an existing group, seen
  from both sides, and a thing is in at most ``MAX_GROUPS_PER_THING`` groups.
- Certificates and CA certificates: each id is the lowercase hex SHA-256 of the DER (of the parsed
  certificate and of the stored PEM); the creation-order, by-CA, by-subject and by-template indexes agree
  with the tables; a CA's registration config names an existing template.
- Policies and templates: the default version exists, no more than five versions, no version above the
  last id handed out.
- Attachments: thing <-> principal and policy <-> target links are mirrored in both directions; each names an
  existing thing, certificate, policy or thing group (a Cognito identity id is accepted as it is); an
  exclusive thing attachment is the certificate's only one; at most ten policies per target.
- Tags: every tagged ARN names an existing resource.

Reading a table the store does not have yet creates it empty, which changes no behaviour. The check runs
under the store's lock, so it sees the state between two requests, never inside one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mock_iotprov.pki import load_certificate_pem
from mock_iotprov.provisioning.templates import MAX_VERSIONS as MAX_TEMPLATE_VERSIONS
from mock_iotprov.provisioning.templates import TemplateTables
from mock_iotprov.registry.attachments import EXCLUSIVE_THING, NON_EXCLUSIVE_THING, AttachmentTables
from mock_iotprov.registry.billing_groups import BillingGroupTables
from mock_iotprov.registry.ca_certificates import CACertificateTables
from mock_iotprov.registry.certificate_checks import subject_key
from mock_iotprov.registry.certificate_order import CreationOrder
from mock_iotprov.registry.certificates import CertificateTables
from mock_iotprov.registry.groups import MAX_GROUPS_PER_THING, GroupTables
from mock_iotprov.registry.memberships import MembershipTables
from mock_iotprov.registry.policies import MAX_VERSIONS, PolicyTables
from mock_iotprov.registry.policy_attachments import (
    CERTIFICATE,
    COGNITO_IDENTITY,
    MAX_POLICIES_PER_TARGET,
    THING_GROUP,
    target_kind,
)
from mock_iotprov.registry.role_aliases import RoleAliasTables
from mock_iotprov.registry.tags import MAX_TAGS, TagTables
from mock_iotprov.registry.thing_records import ThingTables
from mock_iotprov.registry.thing_types import ThingTypeTables
from mock_iotprov.state import Store, partition_of


def registry_problems(store: Store) -> list[str]:
    """Every referential-integrity problem of ``store``, as readable sentences (empty when consistent)."""
    with store.lock:
        checker = _Checker(store)
        checker.check_all()
        return checker.problems


def _is_thing_group(target: str) -> bool:
    try:
        return target_kind(target) == THING_GROUP
    except Exception:  # noqa: BLE001 - a malformed target is not a thing group
        return False


def _ids_in_order(order: CreationOrder) -> list[str]:
    return order.page(None, len(order), True)[0]


class _Checker:
    """Reads the tables once and collects problems."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.problems: list[str] = []
        self.things = store.component(ThingTables)
        self.types = store.component(ThingTypeTables)
        self.groups = store.component(GroupTables)
        self.billing = store.component(BillingGroupTables)
        self.certificates = store.component(CertificateTables)
        self.cas = store.component(CACertificateTables)
        self.policies = store.component(PolicyTables)
        self.templates = store.component(TemplateTables)
        self.links = store.component(AttachmentTables)
        self.memberships = store.component(MembershipTables)
        self.tags = store.component(TagTables)

    def arn(self, resource: str) -> str:
        store = self.store
        return f"arn:{partition_of(store.region)}:iot:{store.region}:{store.account_id}:{resource}"

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def same_keys(self, what: str, indexed: Iterable[str], expected: Iterable[str]) -> None:
        listed = list(indexed)
        if len(listed) != len(set(listed)):
            self.problem(f"{what}: the index lists a key twice")
        if set(listed) != set(expected):
            self.problem(f"{what}: the index {sorted(set(listed))} differs from the table {sorted(expected)}")

    def check_all(self) -> None:
        self.check_things()
        self.check_thing_types()
        self.check_thing_groups()
        self.check_billing_groups()
        self.check_certificates()
        self.check_ca_certificates()
        self.check_policies()
        self.check_templates()
        self.check_thing_principals()
        self.check_policy_targets()
        self.check_tags()

    # things and their types

    def check_things(self) -> None:
        tables = self.things
        self.same_keys("things by name", tables.names, tables.things)
        by_type: dict[str, set[str]] = {}
        by_attribute: dict[tuple[str, str], set[str]] = {}
        for name, thing in tables.things.items():
            for attribute, value in thing.attributes.items():
                by_attribute.setdefault((attribute, value), set()).add(name)
            if thing.name != name:
                self.problem(f"thing {name} is stored under another name ({thing.name})")
            if thing.arn != self.arn(f"thing/{name}"):
                self.problem(f"thing {name} has the ARN {thing.arn}")
            if thing.thing_type_name is not None:
                by_type.setdefault(thing.thing_type_name, set()).add(name)
                if thing.thing_type_name not in self.types.types:
                    self.problem(f"thing {name} has the missing thing type {thing.thing_type_name}")
            group = self.memberships.thing_billing_group.get(name)
            if group is not None:
                if group not in self.billing.groups:
                    self.problem(f"thing {name} is in the missing billing group {group}")
                elif name not in set(self.memberships.billing_members.get(group, ())):
                    self.problem(f"thing {name} is in billing group {group}, whose members omit it")
        by_type_index = self.memberships.type_members
        for type_name, members in by_type_index.items():
            if not len(members):
                self.problem(f"the by-type index keeps an empty entry for {type_name}")
        self.same_keys("thing types in the by-type index", by_type_index, by_type)
        for type_name, names in by_type.items():
            self.same_keys(f"things of type {type_name}", by_type_index.get(type_name, ()), names)
        self.check_attribute_index(by_attribute)

    def check_attribute_index(self, by_attribute: dict[tuple[str, str], set[str]]) -> None:
        indexed: dict[tuple[str, str], set[str]] = {}
        for attribute, index in self.things.by_attribute.items():
            for value, name in index.pairs:
                indexed.setdefault((attribute, value), set()).add(name)
        if indexed != by_attribute:
            self.problem("the attribute index differs from the things' attributes")
        for attribute, index in self.things.by_attribute.items():
            having = {
                name for (found, _), names in by_attribute.items() if found == attribute for name in names
            }
            self.same_keys(f"things having attribute {attribute}", index.things, having)

    def check_thing_types(self) -> None:
        self.same_keys("thing types by name", self.types.names, self.types.types)
        for name, thing_type in self.types.types.items():
            if thing_type.name != name or thing_type.arn != self.arn(f"thingtype/{name}"):
                self.problem(f"thing type {name} has the name {thing_type.name} and ARN {thing_type.arn}")

    # thing groups and billing groups

    def check_thing_groups(self) -> None:
        tables = self.groups
        self.same_keys("thing groups by name", tables.names, tables.groups)
        roots = [name for name, group in tables.groups.items() if group.parent_group_name is None]
        self.same_keys("root thing groups", tables.roots, roots)
        children: dict[str, set[str]] = {}
        for name, group in tables.groups.items():
            if group.name != name or group.arn != self.arn(f"thinggroup/{name}"):
                self.problem(f"thing group {name} has the name {group.name} and ARN {group.arn}")
            parent = group.parent_group_name
            if parent is not None:
                children.setdefault(parent, set()).add(name)
                if parent not in tables.groups:
                    self.problem(f"thing group {name} has the missing parent {parent}")
            self.check_ancestry(name)
        self.same_keys("parents in the children index", tables.children, children)
        for parent, names in children.items():
            self.same_keys(f"children of thing group {parent}", tables.children.get(parent, ()), names)
        memberships: dict[str, set[str]] = {}
        for group_name, members in self.memberships.group_members.items():
            if group_name not in tables.groups:
                self.problem(f"the missing thing group {group_name} has members")
            if not len(members):
                self.problem(f"thing group {group_name} keeps an empty member index")
            for thing_name in members:
                memberships.setdefault(thing_name, set()).add(group_name)
                if thing_name not in self.things.things:
                    self.problem(f"thing group {group_name} has the missing thing {thing_name} as a member")
        thing_groups = self.memberships.thing_groups
        self.same_keys("things in the thing-groups index", thing_groups, memberships)
        for thing_name, joined in thing_groups.items():
            self.same_keys(f"thing groups of thing {thing_name}", joined, memberships.get(thing_name, ()))
            if len(joined) > MAX_GROUPS_PER_THING:
                self.problem(f"thing {thing_name} is in {len(joined)} thing groups")

    def check_ancestry(self, name: str) -> None:
        seen = {name}
        parent = self.groups.groups[name].parent_group_name
        while parent is not None and parent in self.groups.groups:
            if parent in seen:
                self.problem(f"thing group {name} is its own ancestor")
                return
            seen.add(parent)
            parent = self.groups.groups[parent].parent_group_name

    def check_billing_groups(self) -> None:
        tables = self.billing
        self.same_keys("billing groups by name", tables.names, tables.groups)
        for name, group in tables.groups.items():
            if group.name != name or group.arn != self.arn(f"billinggroup/{name}"):
                self.problem(f"billing group {name} has the name {group.name} and ARN {group.arn}")
        billing_of = self.memberships.thing_billing_group
        for thing_name, group_name in billing_of.items():
            if thing_name not in self.things.things:
                self.problem(f"the missing thing {thing_name} is in billing group {group_name}")
        for group_name, members in self.memberships.billing_members.items():
            if group_name not in tables.groups:
                self.problem(f"the missing billing group {group_name} has members")
            if not len(members):
                self.problem(f"billing group {group_name} keeps an empty member index")
            for thing_name in members:
                thing = self.things.things.get(thing_name)
                if thing is None:
                    self.problem(f"billing group {group_name} has the missing thing {thing_name} as a member")
                elif billing_of.get(thing_name) != group_name:
                    self.problem(
                        f"billing group {group_name} lists thing {thing_name}, "
                        f"which is in billing group {billing_of.get(thing_name)}"
                    )

    # certificates and CA certificates

    def check_der_id(
        self, what: str, key: str, stored_id: str, certificate: x509.Certificate, pem: str
    ) -> None:
        digest = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
        if not (key == stored_id == digest):
            self.problem(f"{what} {key} has the id {stored_id}; the SHA-256 of its DER is {digest}")
        try:
            from_pem = load_certificate_pem(pem)
        except ValueError:
            self.problem(f"{what} {key} stores a PEM that does not parse")
            return
        if hashlib.sha256(from_pem.public_bytes(serialization.Encoding.DER)).hexdigest() != digest:
            self.problem(f"{what} {key} stores the PEM of another certificate")

    def check_certificates(self) -> None:
        tables = self.certificates
        by_ca: dict[str, set[str]] = {}
        for key, record in tables.certificates.items():
            self.check_der_id("certificate", key, record.certificate_id, record.certificate, record.pem)
            if record.arn != self.arn(f"cert/{key}"):
                self.problem(f"certificate {key} has the ARN {record.arn}")
            if record.ca_certificate_id is not None:
                by_ca.setdefault(record.ca_certificate_id, set()).add(key)
        self.same_keys("certificates in creation order", _ids_in_order(tables.order), tables.certificates)
        self.same_keys("CA ids in the by-CA index", tables.by_ca, by_ca)
        for ca_id, order in tables.by_ca.items():
            self.same_keys(f"certificates of CA {ca_id}", _ids_in_order(order), by_ca.get(ca_id, ()))

    def check_ca_certificates(self) -> None:
        tables = self.cas
        by_subject: dict[bytes, set[str]] = {}
        by_template: dict[str, set[str]] = {}
        for key, ca in tables.ca_certificates.items():
            self.check_der_id("CA certificate", key, ca.certificate_id, ca.certificate, ca.pem)
            if ca.arn != self.arn(f"cacert/{key}"):
                self.problem(f"CA certificate {key} has the ARN {ca.arn}")
            by_subject.setdefault(subject_key(ca.certificate.subject), set()).add(key)
            template = ca.template_name
            if template is not None:
                by_template.setdefault(template, set()).add(key)
                if template not in self.templates.templates:
                    self.problem(f"CA certificate {key} names the missing provisioning template {template}")
        in_order = _ids_in_order(tables.order)
        self.same_keys("CA certificates in creation order", in_order, tables.ca_certificates)
        if set(tables.by_subject) != set(by_subject):
            self.problem("the by-subject index of CA certificates names other subjects than the table")
        for subject, ids in by_subject.items():
            self.same_keys("CA certificates of one subject", tables.by_subject.get(subject, []), ids)
        template_cas = self.memberships.template_cas
        self.same_keys("templates in the by-template index", template_cas, by_template)
        for template, ids in by_template.items():
            order = template_cas.get(template, CreationOrder())
            self.same_keys(f"CA certificates naming template {template}", _ids_in_order(order), ids)

    # policies and templates

    def check_policies(self) -> None:
        tables = self.policies
        ordered = [tables.name_by_order_key.get(key, "") for key in tables.oldest_first]
        self.same_keys("policies, oldest first", ordered, tables.policies)
        reverse = [tables.name_by_order_key.get(key, "") for key in tables.newest_first]
        self.same_keys("policies, newest first", reverse, tables.policies)
        if len(tables.name_by_order_key) != 2 * len(tables.policies):
            self.problem("the policy order keys are not exactly two per policy")
        for name, policy in tables.policies.items():
            if policy.name != name or policy.arn != self.arn(f"policy/{name}"):
                self.problem(f"policy {name} has the name {policy.name} and ARN {policy.arn}")
            self.check_versions(
                f"policy {name}",
                dict(policy.versions),
                policy.default_version_id,
                policy.last_version_id,
                MAX_VERSIONS,
            )

    def check_versions(
        self, what: str, versions: dict[int, object], default_id: int, last_id: int, limit: int
    ) -> None:
        if default_id not in versions:
            self.problem(f"{what} has the missing default version {default_id}")
        if len(versions) > limit:
            self.problem(f"{what} has {len(versions)} versions")
        if versions and max(versions) > last_id:
            self.problem(f"{what} has a version above its last version id {last_id}")
        for version_id, version in versions.items():
            if getattr(version, "version_id", None) != version_id:
                self.problem(f"{what} stores version {version_id} under another id")

    def check_templates(self) -> None:
        tables = self.templates
        self.same_keys("provisioning templates by name", tables.names, tables.templates)
        for name, template in tables.templates.items():
            if template.name != name or template.arn != self.arn(f"provisioningtemplate/{name}"):
                self.problem(f"template {name} has the name {template.name} and ARN {template.arn}")
            self.check_versions(
                f"provisioning template {name}",
                dict(template.versions),
                template.default_version_id,
                template.last_version_id,
                MAX_TEMPLATE_VERSIONS,
            )

    # attachments

    def check_thing_principals(self) -> None:
        links = self.links
        mirrored = {
            (thing, principal, kind)
            for principal, things in links.principal_things.items()
            for thing, kind in things.items()
        }
        forward = {
            (thing, principal, kind)
            for thing, principals in links.thing_principals.items()
            for principal, kind in principals.items()
        }
        if forward != mirrored:
            self.problem(f"thing principals differ between the two directions: {sorted(forward ^ mirrored)}")
        for thing, principals in links.thing_principals.items():
            if not principals:
                self.problem(f"thing {thing} keeps an empty principal entry")
            if thing not in self.things.things:
                self.problem(f"the missing thing {thing} has principals attached")
        for principal, things in links.principal_things.items():
            if not things:
                self.problem(f"principal {principal} keeps an empty thing entry")
            if not self.target_exists(principal) or target_kind(principal) == THING_GROUP:
                self.problem(f"the principal {principal} attached to things is not an existing principal")
            kinds = set(things.values())
            if not kinds <= {EXCLUSIVE_THING, NON_EXCLUSIVE_THING}:
                self.problem(f"principal {principal} has unknown attachment types {sorted(kinds)}")
            if EXCLUSIVE_THING in kinds and len(things) > 1:
                self.problem(f"principal {principal} is exclusively attached but to {len(things)} things")

    def certificate_exists(self, principal: str) -> bool:
        prefix = self.arn("cert/")
        return principal.startswith(prefix) and principal[len(prefix) :] in self.certificates.certificates

    def check_policy_targets(self) -> None:
        links = self.links
        forward = {(p, t) for p, targets in links.policy_targets.items() for t in targets}
        mirrored = {(p, t) for t, policies in links.target_policies.items() for p in policies}
        if forward != mirrored:
            differing = sorted(forward ^ mirrored)
            self.problem(f"policy attachments differ between the two directions: {differing}")
        for policy_name, targets in links.policy_targets.items():
            if not targets:
                self.problem(f"policy {policy_name} keeps an empty target entry")
            principals = [target for target in targets if not _is_thing_group(target)]
            if list(links.policy_principals.get(policy_name, ())) != principals:
                self.problem(f"the principals index of policy {policy_name} differs from its targets")
        for policy_name in links.policy_principals:
            if policy_name not in links.policy_targets:
                self.problem(f"policy {policy_name} has principals but no targets")
            if policy_name not in self.policies.policies:
                self.problem(f"the missing policy {policy_name} is attached to targets")
        for target, policy_names in links.target_policies.items():
            if not policy_names:
                self.problem(f"target {target} keeps an empty policy entry")
            if len(policy_names) > MAX_POLICIES_PER_TARGET:
                self.problem(f"target {target} has {len(policy_names)} policies attached")
            if not self.target_exists(target):
                self.problem(f"policies are attached to the missing target {target}")

    def target_exists(self, target: str) -> bool:
        try:
            kind = target_kind(target)
        except Exception:  # noqa: BLE001 - a malformed target is reported as missing
            return False
        if kind == CERTIFICATE:
            return self.certificate_exists(target)
        if kind == THING_GROUP:
            prefix = self.arn("thinggroup/")
            return target.startswith(prefix) and target[len(prefix) :] in self.groups.groups
        return kind == COGNITO_IDENTITY

    # tags

    def check_tags(self) -> None:
        tables: dict[str, Collection[str]] = {
            "thinggroup": self.groups.groups,
            "thingtype": self.types.types,
            "billinggroup": self.billing.groups,
            "policy": self.policies.policies,
            "cacert": self.cas.ca_certificates,
            "provisioningtemplate": self.templates.templates,
            "rolealias": self.store.component(RoleAliasTables).aliases,
        }
        prefix = self.arn("")
        for arn, tags in self.tags.by_arn.items():
            kind, _, name = arn[len(prefix) :].partition("/")
            if not arn.startswith(prefix) or kind not in tables or name not in tables[kind]:
                self.problem(f"tags are kept for {arn}, which names no existing resource")
            if len(tags) > MAX_TAGS:
                self.problem(f"{arn} has {len(tags)} tags")
