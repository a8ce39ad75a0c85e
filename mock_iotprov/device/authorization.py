"""Authorizing a device's actions with IoT policies: the policies and variable values of a connection, read
from the registry, handed to the pure evaluator (:mod:`mock_iotprov.policy`).

Behaviour reproduced (AWS IoT developer guide: "AWS IoT Core policies", "Thing policy variables",
"Static thing groups", "Provisioning devices that don't have device certificates using fleet
provisioning"):

- A certificate's policies are the **default version** of every policy attached to it, plus the policies
  attached to the thing groups (and their ancestor groups) of the connection's thing: policies attached to a
  parent group are "inherited by its child groups, and by all of the things in the group".
- The connection's thing: the thing the certificate is attached to with ``EXCLUSIVE_THING``; otherwise the
  thing whose name equals the client id, when the certificate is attached to it (AWS: with non-exclusive
  association "the value of clientId ... must exactly match the thing name"). With no such thing, the
  ``iot:Connection.Thing.*`` variables are unresolved (``IsAttached`` is ``false``) and no thing-group policy
  applies (a different client id "can bypass thing group policies", as AWS warns).
- A claim certificate from ``CreateProvisioningClaim`` carries no attached policy: AWS scopes it to the fleet
  provisioning API, so it is evaluated under a fixed policy that allows ``iot:Connect`` with any client id and
  ``iot:Publish``/``iot:Receive`` on ``topic/$aws/certificates/create/*``,
  ``topic/$aws/certificates/create-from-csr/*`` and ``topic/$aws/provisioning-templates/<its template>/
  provision/*``, ``iot:Subscribe`` on the same names under ``topicfilter/``. A certificate registered by the
  user and used as a claim (bulk claim) gets no such grant: its attached policy must allow those topics.

Resources are ARNs in the principal's region and account: ``client/<clientId>`` for ``iot:Connect``,
``topicfilter/<filter>`` for ``iot:Subscribe``, ``topic/<topic>`` otherwise.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from mock_iotprov.device import jit, principals
from mock_iotprov.device.presence import ip_address_of
from mock_iotprov.device.principals import CLAIM, DevicePrincipal
from mock_iotprov.mqtt.hooks import CONNECT, SUBSCRIBE, Admission, ClientHello
from mock_iotprov.policy import Decision, Policy, evaluate, parse_policy
from mock_iotprov.policy.context import ThingFacts, connection_variables
from mock_iotprov.provisioning.claims import find_claim
from mock_iotprov.registry import certificates, groups, policies, thing_records
from mock_iotprov.registry.attachments import EXCLUSIVE_THING, attachments
from mock_iotprov.registry.ca_certificates import registered_ca_certificate
from mock_iotprov.registry.certificates import Certificate
from mock_iotprov.registry.groups import thing_group_arn
from mock_iotprov.state import DEFAULT_REGION, Backend, MockOptions, RequestContext

CLAIM_POLICY_NAME = "ProvisioningClaimScope"
_CLAIM_TOPICS = ("$aws/certificates/create/*", "$aws/certificates/create-from-csr/*")


def resource_arn(ctx: RequestContext, action: str, resource: str) -> str:
    """The ARN of a short resource (a client id, topic or topic filter) for ``action``; an ARN stays."""
    if resource.startswith("arn:"):
        return resource
    if action.lower() == CONNECT.lower():
        return ctx.arn(f"client/{resource}")
    if action.lower() == SUBSCRIBE.lower():
        return ctx.arn(f"topicfilter/{resource}")
    return ctx.arn(f"topic/{resource}")


@dataclass(frozen=True)
class ConnectionFacts:
    """What the registry says about one connection: its thing (if any) and its policies, in order."""

    thing: ThingFacts | None
    policies: tuple[Policy, ...]


def connection_thing(
    ctx: RequestContext, certificate: Certificate, client_id: str
) -> thing_records.Thing | None:
    """The thing a connection with ``certificate`` and ``client_id`` acts as (see the module docstring)."""
    linked = attachments(ctx).things_of_principal(certificate.arn)
    exclusive = [name for name, kind in linked.items() if kind == EXCLUSIVE_THING]
    name = exclusive[0] if exclusive else (client_id if client_id in linked else None)
    if name is None or not thing_records.thing_exists(ctx, name):
        return None
    return thing_records.find_thing(ctx, name)


def _groups_with_ancestors(ctx: RequestContext, thing_name: str) -> list[str]:
    found: list[str] = []
    for group in groups.groups_of_thing(ctx, thing_name):
        current: str | None = group
        while current is not None and current not in found and groups.thing_group_exists(ctx, current):
            found.append(current)
            current = groups.find_thing_group(ctx, current).parent_group_name
    return found


@functools.lru_cache(maxsize=1024)
def _parsed(document: str, name: str, version_id: str) -> Policy:
    """Parsed once per document text: the broker asks on every publish and delivery."""
    return parse_policy(document, name, version_id)


def _default_version(ctx: RequestContext, name: str) -> Policy | None:
    if not policies.policy_exists(ctx, name):
        return None
    policy = policies.find_policy(ctx, name)
    return _parsed(policy.document, policy.name, str(policy.default_version_id))


def connection_facts(ctx: RequestContext, certificate: Certificate, client_id: str) -> ConnectionFacts:
    """The thing and the policies (certificate's first, then its thing's groups') of a connection."""
    thing = connection_thing(ctx, certificate, client_id)
    links = attachments(ctx)
    names = links.policies_of_target(certificate.arn)
    if thing is not None:
        for group in _groups_with_ancestors(ctx, thing.name):
            names.extend(n for n in links.policies_of_target(thing_group_arn(ctx, group)) if n not in names)
    found = [policy for policy in (_default_version(ctx, name) for name in names) if policy is not None]
    facts = None if thing is None else ThingFacts(thing.name, thing.thing_type_name, dict(thing.attributes))
    return ConnectionFacts(facts, tuple(found))


def decide_for_certificate(
    ctx: RequestContext,
    certificate: Certificate,
    client_id: str,
    action: str,
    resource: str,
    *,
    source_address: str = "",
    domain_name: str | None = None,
) -> Decision:
    """The decision for a registered certificate's connection (policies and variables from the registry)."""
    facts = connection_facts(ctx, certificate, client_id)
    variables = connection_variables(
        client_id,
        certificate=certificate.certificate,
        certificate_id=certificate.certificate_id,
        thing=facts.thing,
        source_ip=ip_address_of(source_address) if source_address else None,
        domain_name=domain_name,
    )
    return evaluate(facts.policies, action, resource_arn(ctx, action, resource), variables)


def claim_policy(ctx: RequestContext, template_name: str) -> Policy:
    """The scope AWS gives a claim certificate of ``template_name`` (see the module docstring)."""
    topics = [*_CLAIM_TOPICS, f"$aws/provisioning-templates/{template_name}/provision/*"]
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ClaimConnect", "Effect": "Allow", "Action": CONNECT, "Resource": ctx.arn("client/*")},
            {
                "Sid": "ClaimProvisioningTopics",
                "Effect": "Allow",
                "Action": ["iot:Publish", "iot:Receive"],
                "Resource": [ctx.arn(f"topic/{topic}") for topic in topics],
            },
            {
                "Sid": "ClaimProvisioningTopicFilters",
                "Effect": "Allow",
                "Action": SUBSCRIBE,
                "Resource": [ctx.arn(f"topicfilter/{topic}") for topic in topics],
            },
        ],
    }
    return parse_policy(document, f"{CLAIM_POLICY_NAME}:{template_name}")


def decide_for_claim(
    ctx: RequestContext, template_name: str, client_id: str, action: str, resource: str
) -> Decision:
    """The decision for a claim certificate's connection."""
    scope = claim_policy(ctx, template_name)
    return evaluate([scope], action, resource_arn(ctx, action, resource), connection_variables(client_id))


def _context(backend: Backend, options: MockOptions, principal: DevicePrincipal) -> RequestContext:
    return RequestContext(backend.store(principal.account_id, principal.region), options)


def decide(
    backend: Backend,
    options: MockOptions,
    principal: DevicePrincipal,
    action: str,
    resource: str,
    domain_name: str | None = None,
) -> Decision:
    """The decision for an authenticated connection (under its store's lock)."""
    ctx = _context(backend, options, principal)
    with ctx.store.lock:
        if principal.kind == CLAIM:
            assert principal.template_name is not None
            return decide_for_claim(ctx, principal.template_name, principal.client_id, action, resource)
        record = certificates.certificate_tables(ctx).certificates.get(principal.certificate_id)
        if record is None or record.status != certificates.ACTIVE:
            state = "deleted" if record is None else record.status
            return Decision(False, action, resource, refusal=f"the certificate is {state}.")
        return decide_for_certificate(
            ctx,
            record,
            principal.client_id,
            action,
            resource,
            source_address=principal.source_address,
            domain_name=domain_name,
        )


def authorize(
    backend: Backend, options: MockOptions, principal: DevicePrincipal, action: str, resource: str
) -> bool:
    """``BrokerHooks.authorize`` for an authenticated connection: publish, subscribe, receive."""
    return decide(backend, options, principal, action, resource).allowed


def admit_connection(backend: Backend, options: MockOptions, hello: ClientHello) -> Admission:
    """``BrokerHooks.admit``: authenticate (``principals.admit``), then authorize ``iot:Connect`` on
    ``client/<clientId>`` with the certificate's policies; a refusal says which statement decided. A
    certificate the registry does not admit may still be registered just in time (:mod:`.jit`)."""
    admission = principals.admit(backend, options, hello)
    if not admission.accepted:
        just_in_time = jit.first_connection(backend, options, hello.certificate_der)
        return admission if just_in_time is None else just_in_time
    if not isinstance(admission.principal, DevicePrincipal):
        return admission
    decision = decide(backend, options, admission.principal, CONNECT, hello.client_id, hello.server_name)
    if not decision.allowed:
        return Admission(False, reason=decision.reason)
    return admission


BROKER_ACTIONS = ("iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive", "iot:RetainPublish")


def action_name(action: str) -> str:
    """``iot:Publish`` for ``iot:Publish``, ``Publish`` or ``publish``; ``ValueError`` for anything else."""
    short = action.split(":", 1)[1] if action.lower().startswith("iot:") else action
    for known in BROKER_ACTIONS:
        if known.split(":", 1)[1].lower() == short.lower():
            return known
    raise ValueError(f"unknown action {action!r}: use one of {', '.join(BROKER_ACTIONS)}")


def _default_client_id(ctx: RequestContext, certificate: Certificate) -> str:
    linked = attachments(ctx).things_of_principal(certificate.arn)
    if len(linked) != 1:
        raise ValueError(
            f"give client_id: the certificate {certificate.certificate_id} is attached to "
            f"{len(linked)} things, so no client id follows from it"
        )
    return next(iter(linked))


def _refusal(ctx: RequestContext, certificate: Certificate) -> str:
    if certificate.status != certificates.ACTIVE:
        return f"the certificate is {certificate.status}, so the broker refuses its connections."
    if certificate.ca_certificate_id is not None:
        ca = registered_ca_certificate(ctx, certificate.ca_certificate_id)
        if ca is not None and ca.status != certificates.ACTIVE:
            return f"its CA certificate {ca.certificate_id} is {ca.status}, so the broker refuses it."
    return ""


def check(
    backend: Backend,
    options: MockOptions,
    certificate_id: str,
    action: str,
    resource: str,
    *,
    client_id: str | None = None,
    region: str | None = None,
) -> Decision:
    """What the broker would decide for a connection with this certificate (the handle's ``authorize``)."""
    wanted = action_name(action)
    identifier = certificate_id.rsplit(":cert/", 1)[-1].lower()
    stores = [s for s in backend.stores() if s.account_id == options.account_id]
    if region is not None:
        stores = [backend.store(options.account_id, region)]
    for store in sorted(stores, key=lambda s: s.region != DEFAULT_REGION):
        ctx = RequestContext(store, options)
        with store.lock:
            store.sweep(ctx)
            claim = find_claim(ctx, identifier)
            if claim is not None:
                chosen = identifier if client_id is None else client_id
                return decide_for_claim(ctx, claim.template_name, chosen, wanted, resource)
            record = certificates.certificate_tables(ctx).certificates.get(identifier)
            if record is None:
                continue
            refusal = _refusal(ctx, record)
            full = resource_arn(ctx, wanted, resource)
            if refusal:
                return Decision(False, wanted, full, refusal=refusal)
            chosen = _default_client_id(ctx, record) if client_id is None else client_id
            return decide_for_certificate(ctx, record, chosen, wanted, resource)
    raise LookupError(f"the certificate {certificate_id} is neither registered nor a provisioning claim")
